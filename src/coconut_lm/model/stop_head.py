"""A classifier on continuous thoughts that decides when to stop thinking (docs/method.md §9).

The paper chooses the number of thoughts at inference in one of two ways: always the same
number, or a binary classifier on the latent thoughts. `StopHead` is that classifier: a linear
layer (or a one-hidden-layer MLP) on the last hidden state of a thought position; a positive
logit means "this was the last thought". It is trained after Coconut, on the frozen model, and
saved beside the checkpoint (`stop_head.safetensors` + `stop_head.json`).
"""

from __future__ import annotations

import json
from pathlib import Path

import torch
from safetensors.torch import load_file, save
from torch import nn

from coconut_lm.io import atomic_write_bytes, write_json

WEIGHTS, META = "stop_head.safetensors", "stop_head.json"


class StopHead(nn.Module):
    """(..., H) thought states -> (...) stop logits."""

    def __init__(self, hidden_size: int, mlp_width: int = 0):
        super().__init__()
        self.hidden_size, self.mlp_width = hidden_size, mlp_width
        if mlp_width:
            self.net = nn.Sequential(nn.Linear(hidden_size, mlp_width), nn.GELU(), nn.Linear(mlp_width, 1))
        else:
            self.net = nn.Linear(hidden_size, 1)

    def forward(self, states: torch.Tensor) -> torch.Tensor:
        return self.net(states.to(next(self.parameters()).dtype))[..., 0]

    def save(self, folder: str | Path, meta: dict) -> Path:
        folder = Path(folder)
        tensors = {k: v.detach().cpu().contiguous() for k, v in self.state_dict().items()}
        atomic_write_bytes(folder / WEIGHTS, save(tensors))
        write_json(folder / META, {"hidden_size": self.hidden_size, "mlp_width": self.mlp_width, **meta}, indent=None)
        return folder / WEIGHTS

    @classmethod
    def load(cls, folder: str | Path) -> tuple[StopHead, dict]:
        """The head saved in `folder` and its metadata (`max_thoughts`, training figures)."""
        folder = Path(folder)
        meta = json.loads((folder / META).read_text())
        head = cls(meta["hidden_size"], meta["mlp_width"])
        head.load_state_dict(load_file(folder / WEIGHTS))
        return head.eval(), meta
