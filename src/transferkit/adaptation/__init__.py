"""Unsupervised domain adaptation and partial transfer: labelled source, unlabelled target."""
