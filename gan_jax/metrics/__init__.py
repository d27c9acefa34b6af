"""Evaluation metrics for generated samples."""
