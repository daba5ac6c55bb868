"""Self-taught learning (placeholder)."""
