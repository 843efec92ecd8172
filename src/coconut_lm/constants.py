"""Constants shared by the model, the data pipeline and the trainer (one place for each)."""

IGNORE_INDEX = -100
"""Label value excluded from the loss (the PyTorch / Hugging Face convention)."""

START_LATENT = "<|start-latent|>"
"""`<bot>`: opens the continuous-thought span."""
END_LATENT = "<|end-latent|>"
"""`<eot>`: closes the continuous-thought span."""
LATENT = "<|latent|>"
"""Placeholder of one continuous thought; its embedding is replaced by a hidden state."""
PAUSE = "<|pause|>"
"""Pause token of the pause-token baselines: a learned embedding, never a hidden state."""

SPECIAL_TOKENS = (START_LATENT, END_LATENT, LATENT)
"""Added to the tokenizer in this order, as the official code does."""

ANSWER_PREFIX = "### "
"""Written before the answer in every training sequence (official format)."""
