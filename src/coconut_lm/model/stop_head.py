"""A classifier on continuous thoughts that decides when to stop thinking (docs/method.md §9).

The paper chooses the number of thoughts at inference in one of two ways: always the same
number, or a binary classifier on the latent thoughts. `StopHead` is that classifier: a linear
layer (or a one-hidden-layer MLP) on the last hidden state of a thought position; a positive
logit means "this was the last thought". It is trained after Coconut, on the frozen model, and
saved beside the checkpoint (`stop_head.safetensors` + `stop_head.json`).

Each file is written atomically, the metadata last, with the SHA-256 of the weights: a save cut
short between the two (new weights beside an earlier head's metadata) is refused at load.
"""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

import torch
from safetensors.torch import load, save
from torch import nn

from coconut_lm.errors import InputError
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
        """Write the weights, then the metadata (`meta`, the shape, the weights' SHA-256), each atomically."""
        folder = Path(folder)
        tensors = {k: v.detach().cpu().contiguous() for k, v in self.state_dict().items()}
        weights = save(tensors)
        atomic_write_bytes(folder / WEIGHTS, weights)
        shape = {"hidden_size": self.hidden_size, "mlp_width": self.mlp_width}
        write_json(folder / META, {**shape, **meta, "weights_sha256": hashlib.sha256(weights).hexdigest()}, indent=None)
        return folder / WEIGHTS

    @classmethod
    def load(cls, folder: str | Path) -> tuple[StopHead, dict]:
        """The head saved in `folder` and its metadata (`max_thoughts`, training figures); `InputError`
        when a file is missing or the two do not belong together."""
        folder = Path(folder)
        if not (folder / META).is_file() or not (folder / WEIGHTS).is_file():
            raise InputError(f"{folder}: no complete stop head ({WEIGHTS} and {META}); train it again")
        meta = json.loads((folder / META).read_text())
        weights = (folder / WEIGHTS).read_bytes()
        expected = meta.get("weights_sha256")  # absent in heads saved before it was recorded
        if expected is not None and hashlib.sha256(weights).hexdigest() != expected:
            raise InputError(f"{folder}: {WEIGHTS} is not the one {META} describes (a save cut short); train it again")
        head = cls(meta["hidden_size"], meta["mlp_width"])
        head.load_state_dict(load(weights))
        return head.eval(), meta
