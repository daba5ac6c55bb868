"""Multi-task learning: shared architectures, loss weightings and gradient aggregators."""
