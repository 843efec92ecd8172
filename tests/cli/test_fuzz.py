"""Property tests of the command line: random files and arguments for `data steps`, `data stats`,
`data overlap` and the flags of `eval` end in success, or in one line and exit 2 with nothing
changed on disk; never a traceback."""

from __future__ import annotations

import json
import tempfile
from pathlib import Path

import pytest

from coconut_lm.cli import main
from coconut_lm.data.schema import load_examples
from tests.helpers import GRAPH, ends_cleanly, fuzz_settings
from tests.train.toy import tiny_config, write_config, write_data, write_tokenizer

hypothesis = pytest.importorskip("hypothesis")
st = hypothesis.strategies
given = hypothesis.given

texts = st.one_of(st.text(max_size=10), st.sampled_from(["", "\n", "x = 1\ny = 2", "A. B. C.", "#### 4"]))
json_values = st.recursive(
    st.none() | st.booleans() | st.integers(-5, 5) | texts,
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(texts, inner, max_size=3),
    max_leaves=6,
)


@pytest.fixture(scope="module")
def root(tmp_path_factory) -> Path:
    return tmp_path_factory.mktemp("cli_fuzz")


def new_folder(root: Path) -> Path:
    return Path(tempfile.mkdtemp(dir=root))


def write_file(folder: Path, name: str, content) -> Path:
    path = folder / name
    path.write_text(content if isinstance(content, str) else json.dumps(content), encoding="utf-8")
    return path


# -- data steps -----------------------------------------------------------------------------------

chain_records = st.one_of(
    st.fixed_dictionaries(
        {
            "question": st.one_of(st.just("What is 2 + 2?"), st.just("What is 2 + 2?"), texts, json_values),
            "chain": st.one_of(st.just("2 + 2 = 4\nso 4\n#### 4"), st.just("First. Then.\n#### 4"), texts, json_values),
            "answer": st.one_of(st.just("4"), st.just("4"), texts, json_values),
        },
        optional={"solution": texts},
    ),
    st.just({"question": "What is 3 + 4?", "chain": "3 + 4 = 7\n#### 7", "answer": "7"}),
    json_values,
)
field_names = st.sampled_from(["question", "chain", "answer", "solution", "", "missing"])
splits = st.one_of(
    st.sampled_from(["lines", "sentences", "regex:\\. ", "match:[^.]+\\."]),
    st.sampled_from(["equations", "regex:", "match:", "words", "regex:[", "match:\n"]),
    st.builds(lambda kind, pattern: kind + pattern, st.sampled_from(["regex:", "match:"]), st.text(max_size=5)),
)


@st.composite
def steps_arguments(draw, folder: Path) -> list[str]:
    argv = ["data", "steps"]
    source = draw(st.sampled_from(["json", "json", "jsonl", "missing", "broken"]))
    rows = draw(st.lists(chain_records, min_size=draw(st.sampled_from([0, 1, 1, 1])), max_size=3))
    if source == "json":
        argv += ["--input", str(write_file(folder, "in.json", rows))]
    elif source == "jsonl":
        argv += ["--input", str(write_file(folder, "in.jsonl", "".join(json.dumps(r) + "\n" for r in rows)))]
    elif source == "broken":
        argv += ["--input", str(write_file(folder, "in.json", "[{"))]
    else:
        argv += ["--input", str(folder / "nothing.json")]
    for flag in ("--question-field", "--chain-field", "--answer-field", "--answer-after"):
        if draw(st.sampled_from([False, False, False, True])):  # mostly the defaults
            argv += [flag, draw(st.sampled_from(["####", "", "so"]) if flag == "--answer-after" else field_names)]
    if draw(st.sampled_from([True] * 9 + [False])):  # the flag is required: left out now and then
        argv += ["--split", draw(splits)]
    out = draw(st.sampled_from(["out.json"] * 4 + ["in.json", "no/such/folder/out.json", "."]))
    return [*argv, "--out", str(folder / out)]


@fuzz_settings()
@given(data=st.data())
def test_data_steps(root, capsys, data):
    folder = new_folder(root)
    argv = data.draw(steps_arguments(folder))
    if ends_cleanly(argv, capsys, folder) == 0:
        hypothesis.event("converted")
        out = Path(argv[-1])
        assert load_examples(out) and json.loads(out.with_suffix(".stats.json").read_text())
    else:
        hypothesis.event("refused")


# -- data stats and data overlap ------------------------------------------------------------------

graph_values = st.one_of(
    st.integers(-1, 3), st.lists(st.lists(st.integers(-1, 3), max_size=3), max_size=3), json_values
)


@st.composite
def graph_files(draw) -> object:
    """A ProsQA-format list whose records may have a field replaced or removed, or anything."""
    records = []
    for _ in range(draw(st.integers(0, 3))):
        record, key = dict(GRAPH), draw(st.sampled_from(sorted(GRAPH)))
        action = draw(st.sampled_from(["keep", "keep", "replace", "delete"]))
        if action == "replace":
            record[key] = draw(graph_values)
        elif action == "delete":
            del record[key]
        records.append(record)
    return draw(st.one_of(st.just(records), st.just(records), json_values, texts))


@fuzz_settings()
@given(content=graph_files(), as_json=st.booleans())
def test_data_stats(root, capsys, content, as_json):
    folder = new_folder(root)
    path = write_file(folder, "graphs.json", content)
    code = ends_cleanly(["data", "stats", str(path), *(["--json"] if as_json else [])], capsys, folder)
    hypothesis.event("stats" if code == 0 else "refused")


@fuzz_settings(max_examples=30)
@given(train=st.lists(graph_files(), min_size=1, max_size=2), held_out=st.lists(graph_files(), min_size=1, max_size=2))
def test_data_overlap(root, capsys, train, held_out):
    folder = new_folder(root)
    argv = ["data", "overlap", "--strict"]
    for i, content in enumerate(train):
        argv += ["--train", str(write_file(folder, f"train{i}.json", content))]
    argv += [str(write_file(folder, f"held{i}.json", content)) for i, content in enumerate(held_out)]
    code = ends_cleanly(argv, capsys, folder, ok=(0, 1))  # 1: --strict found a held-out graph in training
    hypothesis.event({0: "no overlap", 1: "overlap", 2: "refused"}[code])


# -- eval flags ------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def trained(root) -> dict:
    """A tiny Coconut run (2 stages x 1 epoch) and its validation file."""
    train, val = write_data(root / "data")
    cfg = tiny_config(root, write_tokenizer(root / "tok"), train, val, run_dir=str(root / "run"))
    assert main(["train", str(write_config(root / "run.yaml", cfg))]) == 0
    return {"run": root / "run", "val": val}


flag_values = {
    "--num-thoughts": st.sampled_from(["0", "2", "-1", "1.5", "x", "100000", ""]),
    "--thoughts": st.sampled_from(["fixed", "adaptive", "other"]),
    "--jacobi-iterations": st.sampled_from(["1", "3", "0", "-2", "true"]),
    "--stage": st.sampled_from(["0", "1", "2", "3", "1000000", "-1", "null"]),
    "--max-new-tokens": st.sampled_from(["0", "4", "-1", "1e9", "[]"]),
    "--too-long": st.sampled_from(["error", "skip", "truncate", "maybe"]),
    "--batch-size": st.sampled_from(["1", "3", "0", "10000000000"]),
    "--limit": st.sampled_from(["1", "2", "0", "-5", "two"]),
}


@fuzz_settings(max_examples=30)
@given(
    flags=st.dictionaries(st.sampled_from(sorted(flag_values)), st.just(None), max_size=4),
    predictions=st.sampled_from([None, "new", "existing", "folder", "/dev/null"]),
    overwrite=st.booleans(),
    data=st.data(),
)
def test_eval_flags(trained, capsys, flags, predictions, overwrite, data):
    folder = trained["run"].parent
    argv = ["eval", str(trained["run"]), "--data", str(trained["val"]), "--limit", "2"]
    for flag in flags:
        argv += [flag, data.draw(flag_values[flag], label=flag)]
    out = new_folder(folder) / "predictions.jsonl"
    if predictions == "existing":
        out.write_text("earlier\n")
    target = {"new": out, "existing": out, "folder": out.parent, "/dev/null": "/dev/null"}.get(predictions)
    if target is not None:
        argv += ["--predictions", str(target), *(["--overwrite"] if overwrite else [])]
    if ends_cleanly(argv, capsys, folder) == 0:
        hypothesis.event("evaluated")
        if predictions in ("new", "existing"):
            assert len(out.read_text().splitlines()) <= 2  # --limit 2 (or the flag's own)
    else:
        hypothesis.event("refused")
