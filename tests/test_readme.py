"""The README and docs/ as a user reads them: every command exists, every link resolves, and the
README's "Your data and your model" walkthrough runs as written on a tiny data set.

- Each `coconut-lm ...` line of a ```bash block (README.md and docs/*.md) is parsed by the
  package's own parser (`coconut_lm.cli.build_parser`): the subcommand and every flag exist, the
  required arguments are there, and each `KEY=VALUE` override of `train` names a config key.
- Each relative link or image of those files points to a file or folder of the repository,
  and a link's `#anchor` to a heading of the page it names.
- The walkthrough's config block is written as the file its first line names, its commands run in
  order through `coconut_lm.cli.main` in an empty folder (16 training questions, 2 layers, width
  64: seconds), and the Python blocks of docs/training.md and docs/architecture.md, which read the
  walkthrough's run, run after it.
"""

from __future__ import annotations

import contextlib
import dataclasses
import io
import json
import random
import re
import shlex
from pathlib import Path

import pytest

from coconut_lm.cli import build_parser, main
from coconut_lm.run.config import SECTIONS, RunConfig
from tests.paths import REPO

README = REPO / "README.md"
DOCS = sorted((REPO / "docs").glob("*.md"))
PAGES = [README, *DOCS]
WALKTHROUGH = "## Your data and your model"
PYTHON_PAGES = (REPO / "docs" / "training.md", REPO / "docs" / "architecture.md")
"""Pages whose ```python blocks read the walkthrough's run (`runs/mine`, `my_run.yaml`)."""

FENCE = re.compile(r"^```(\w*)\n(.*?)^```", re.S | re.M)
LINK = re.compile(r"!?\[[^\]]*\]\(([^)\s]+)\)")
REPO_PATH = re.compile(r"^(configs|scripts|experiments|docs|src|tests)/")


def blocks(text: str, lang: str) -> list[str]:
    """The contents of the fenced code blocks of language `lang`, in order."""
    return [body for tag, body in FENCE.findall(text) if tag == lang]


def command_lines(block: str) -> list[list[str]]:
    """The argv (after the program) of every `coconut-lm ...` or `torchrun ... -m coconut_lm ...`
    line of a bash block; comments dropped, backslash continuations joined."""
    commands = []
    for line in block.replace("\\\n", " ").splitlines():
        words = shlex.split(line, comments=True)
        if words[:1] == ["coconut-lm"]:
            commands.append(words[1:])
        elif words[:1] == ["torchrun"] and "coconut_lm" in words:
            commands.append(words[words.index("coconut_lm") + 1 :])
    return commands


def section(text: str, heading: str) -> str:
    """The text of the `## ` section that starts with `heading`, up to the next `## `."""
    start = text.index(heading)
    end = text.find("\n## ", start + len(heading))
    return text[start : end if end >= 0 else len(text)]


def config_keys() -> set[str]:
    """Every key a dotted override may name: `method`, `run_dir`, `training.lr`, ..."""
    keys = {f.name for f in dataclasses.fields(RunConfig) if f.name not in SECTIONS}
    for name, cls in SECTIONS.items():
        keys |= {f"{name}.{f.name}" for f in dataclasses.fields(cls)}
    return keys


def documented_commands() -> list[tuple[str, list[str]]]:
    return [
        (f"{page.name}: coconut-lm {shlex.join(argv)}", argv)
        for page in PAGES
        for block in blocks(page.read_text(encoding="utf-8"), "bash")
        for argv in command_lines(block)
    ]


def test_the_readme_has_commands_and_a_walkthrough():
    text = README.read_text(encoding="utf-8")
    walkthrough = section(text, WALKTHROUGH)
    assert any(argv[:1] == ["train"] for block in blocks(walkthrough, "bash") for argv in command_lines(block))
    assert len(documented_commands()) >= 20  # the parser below sees the docs' commands, not nothing


@pytest.mark.parametrize("where, argv", documented_commands(), ids=lambda x: x if isinstance(x, str) else "")
def test_documented_command_parses(where, argv):
    parser = build_parser()
    err = io.StringIO()
    with contextlib.redirect_stderr(err):
        try:
            args, extra = parser.parse_known_args(argv)
        except SystemExit:
            pytest.fail(f"{where}\n{err.getvalue()}")
    assert hasattr(args, "func"), f"{where}: names no command"
    # As `coconut_lm.cli.main`: only commands with overrides take trailing KEY=VALUE words.
    overrides = [*getattr(args, "overrides", []), *extra]
    assert not extra or hasattr(args, "overrides"), f"{where}: unrecognized arguments {extra}"
    keys = config_keys()
    for override in overrides:
        key = override.split("=", 1)[0]
        assert "=" in override and key in keys, f"{where}: {override!r} names no config key"
    for word in argv:
        if REPO_PATH.match(word):
            assert (REPO / word).exists(), f"{where}: {word} is not in the repository"


def relative_links() -> list[tuple[Path, str]]:
    links = []
    for page in PAGES:
        text = FENCE.sub("", page.read_text(encoding="utf-8"))  # code blocks hold no links
        for target in LINK.findall(text):
            if not re.match(r"^[a-z][a-z0-9+.-]*:", target):  # http:, mailto:
                links.append((page, target))
    return links


def anchors(page: Path) -> set[str]:
    """The `#anchor` of each heading of a Markdown page, as GitHub makes them."""
    text = FENCE.sub("", page.read_text(encoding="utf-8"))
    headings = re.findall(r"^#+ (.+)$", text, re.M)
    return {re.sub(r"[^\w\- ]", "", h.strip().lower()).replace(" ", "-") for h in headings}


@pytest.mark.parametrize("page, target", relative_links(), ids=lambda x: x.name if isinstance(x, Path) else x)
def test_relative_link_resolves(page, target):
    file, _, anchor = target.partition("#")
    path = (page.parent / file).resolve() if file else page
    assert path.exists(), f"{page.relative_to(REPO)}: the link {target} points to nothing"
    assert REPO in path.parents, f"{page.relative_to(REPO)}: the link {target} leaves the repository"
    if anchor and path.suffix == ".md":
        assert anchor in anchors(path), f"{page.relative_to(REPO)}: {path.name} has no heading #{anchor}"


def arithmetic_questions(n: int, seed: int) -> list[dict]:
    """Records shaped like the README's example: two addition steps, then the sum."""
    rng = random.Random(seed)
    records = []
    for _ in range(n):
        a, b, c = (rng.randint(1, 9) for _ in range(3))
        steps = [f"{a} + {b} = {a + b}", f"{a + b} + {c} = {a + b + c}"]
        records.append({"question": f"What is {a} + {b} + {c}?", "steps": steps, "answer": str(a + b + c)})
    return records


@pytest.fixture
def one_thread():
    import torch

    before = torch.get_num_threads()
    torch.set_num_threads(1)  # the machine is shared; the walkthrough's model is tiny
    yield
    torch.set_num_threads(before)


@pytest.mark.slow
def test_the_walkthrough_runs_as_written(tmp_path, monkeypatch, capsys, one_thread):
    from coconut_lm.data.schema import validate_examples

    walkthrough = section(README.read_text(encoding="utf-8"), WALKTHROUGH)
    (example,) = blocks(walkthrough, "json")
    validate_examples(json.loads(example), "README's example")  # the format it shows is the format read
    monkeypatch.chdir(tmp_path)
    data = tmp_path / "data"
    data.mkdir()
    for split, n, seed in (("train", 16, 0), ("valid", 8, 1), ("test", 8, 2)):
        (data / f"{split}.json").write_text(json.dumps(arithmetic_questions(n, seed)))

    (config,) = blocks(walkthrough, "yaml")
    name = re.match(r"# (\S+\.yaml)\n", config)
    assert name, "the walkthrough's config block starts with '# FILE.yaml'"
    (tmp_path / name.group(1)).write_text(config)

    commands = [argv for block in blocks(walkthrough, "bash") for argv in command_lines(block)]
    assert [argv[0] for argv in commands][:2] == ["tokenizer", "train"]
    for argv in commands:
        on_cpu = ["--device", "cpu"] if argv[0] in ("train", "eval", "generate") else []
        assert main([*argv, *on_cpu]) == 0, argv

    run = tmp_path / "runs" / "mine"
    rows = [json.loads(line) for line in (run / "metrics.jsonl").read_text().splitlines()]
    assert {r["train/stage"] for r in rows if "train/stage" in r} == {0, 1, 2}  # every stage trained
    assert len((tmp_path / "preds.jsonl").read_text().splitlines()) == 8
    assert len(json.loads((tmp_path / "analysis" / "thoughts.json").read_text())) > 0
    capsys.readouterr()

    for page in PYTHON_PAGES:
        for code in blocks(page.read_text(encoding="utf-8"), "python"):
            exec(compile(code, f"{page.name} (python block)", "exec"), {"__name__": "readme_block"})
