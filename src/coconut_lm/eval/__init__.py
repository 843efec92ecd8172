"""Evaluation: generate answers for a split and score them (`evaluate`, `evaluate_checkpoint`)."""
