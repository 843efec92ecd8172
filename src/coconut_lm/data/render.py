"""`coconut-lm data render`: write the training sequences (or evaluation prompts) of a data
file at one stage, for inspection and for comparison with the official code.

    coconut-lm data render --data valid.json --tokenizer tok/ --method coconut --stage 2 \\
        --c-thought 1 --max-latent-stage 6 --out stage2.jsonl

Each output line is `{"idx", "text", "target", "input_ids", "labels"}`: `text` is the sequence
decoded with its special tokens (`<|latent|>` marks a thought), `target` the tokens the loss is on
(`labels` other than -100). With `--prompts`: `{"idx", "text", "input_ids"}`.
"""

from __future__ import annotations

import os
import random
from pathlib import Path

from coconut_lm.constants import IGNORE_INDEX
from coconut_lm.data.curriculum import build_prompt, build_sequence
from coconut_lm.data.methods import CurriculumConfig, Method
from coconut_lm.data.schema import load_examples
from coconut_lm.data.tokenization import add_special_tokens, tokenize_examples
from coconut_lm.io import write_jsonl


def render_rows(
    examples: list[dict],
    tokenizer,
    method: Method | str,
    stage: int,
    options: CurriculumConfig,
    seed: int = 0,
    prompts: bool = False,
    source: str = "examples",
) -> list[dict]:
    """The rendered rows of validated `examples` (the tokenizer gets the special tokens);
    `source` names them in errors (a record holding a special token's text is refused)."""
    method = Method.parse(method)
    ids = add_special_tokens(tokenizer, with_pause=method.uses_pause)
    rng = random.Random(seed)
    rows = []
    for example in tokenize_examples(examples, tokenizer, source=source):
        if prompts:
            prompt = build_prompt(example, stage, method, options, ids)
            rows.append({"idx": example.idx, "text": tokenizer.decode(prompt), "input_ids": prompt})
        else:
            seq = build_sequence(example, stage, method, options, ids, rng)
            target = tokenizer.decode([t for t in seq.labels if t != IGNORE_INDEX])
            text = tokenizer.decode(seq.input_ids)
            rows.append(
                {"idx": example.idx, "text": text, "target": target, "input_ids": seq.input_ids, "labels": seq.labels}
            )
    return rows


def render(
    data: str | os.PathLike,
    tokenizer_dir: str | os.PathLike,
    method: Method | str,
    stage: int,
    out: str | os.PathLike,
    options: CurriculumConfig | None = None,
    seed: int = 0,
    prompts: bool = False,
) -> Path:
    """Load `data` and the tokenizer in `tokenizer_dir`, render every example, write `out`."""
    from transformers import AutoTokenizer

    examples = load_examples(data)  # fail on bad data before loading anything else
    tokenizer = AutoTokenizer.from_pretrained(tokenizer_dir)
    options = options or CurriculumConfig()
    rows = render_rows(examples, tokenizer, Method.parse(method), stage, options, seed, prompts, source=str(data))
    return write_jsonl(out, rows)
