"""Training: the trainer (curriculum stages, optimizer resets, exact resume) and metric tracking."""
