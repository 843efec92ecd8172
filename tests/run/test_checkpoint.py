"""Checkpoint folders: every path read from one (or from its manifest) stays inside it, and a
malformed manifest or trainer state is one clear line, never a traceback."""

from __future__ import annotations

import json
import re

import pytest

from coconut_lm.cli import main
from coconut_lm.errors import USER_ERROR_STATUS
from coconut_lm.run import checkpoint as ckpt


@pytest.fixture
def checkpoint(tmp_path):
    """A hand-made checkpoint folder with a manifest (no model needed: verification comes first)."""
    folder = tmp_path / "ck"
    folder.mkdir()
    (folder / "config.json").write_text('{"model_type": "gpt2"}')
    (folder / ckpt.CONFIG_FILE).write_text("method: coconut\n")
    (folder / ckpt.STATE_FILE).write_text(json.dumps({"epoch": 1, "global_step": 4}))
    ckpt.write_manifest(folder)
    (tmp_path / "outside.bin").write_bytes(b"12345678")
    return folder


def set_manifest(folder, manifest) -> None:
    (folder / ckpt.MANIFEST_FILE).write_text(json.dumps(manifest))


def test_the_manifest_verifies(checkpoint):
    ckpt.verify_checkpoint(checkpoint)
    assert ckpt.read_trainer_state(checkpoint).global_step == 4


@pytest.mark.parametrize("entry", ["../outside.bin", "/etc/passwd", "sub/../../outside.bin", "..", ""])
def test_manifest_entries_outside_the_folder_are_refused(checkpoint, entry):
    set_manifest(checkpoint, {"files": {entry: {"bytes": 8, "sha256": "0" * 64}}})
    with pytest.raises(ckpt.CheckpointError, match=re.escape(f"{checkpoint}: entry {entry!r} is not a file name")):
        ckpt.verify_checkpoint(checkpoint)


def test_a_link_out_of_the_folder_is_refused(checkpoint, tmp_path):
    (checkpoint / "model.safetensors").symlink_to(tmp_path / "outside.bin")
    with pytest.raises(ckpt.CheckpointError, match="'model.safetensors' is a link out of the checkpoint folder"):
        ckpt.verify_checkpoint(checkpoint)
    (checkpoint / "model.safetensors").unlink()
    (checkpoint / ckpt.STATE_FILE).unlink()
    (checkpoint / ckpt.STATE_FILE).symlink_to(tmp_path / "outside.bin")
    with pytest.raises(ckpt.CheckpointError, match="is a link out of the checkpoint folder"):
        ckpt.read_trainer_state(checkpoint)


def test_a_link_inside_the_folder_is_fine(checkpoint):
    (checkpoint / "alias.json").symlink_to("config.json")
    ckpt.verify_checkpoint(checkpoint)


@pytest.mark.parametrize(
    "manifest, message",
    [
        ([1, 2], "malformed manifest"),
        ({"files": ["config.json"]}, "malformed manifest"),
        ({"files": {"config.json": {"bytes": "22", "sha256": "x"}}}, "malformed entry 'config.json'"),
        ({"files": {"config.json": 7}}, "malformed entry 'config.json'"),
        ("{not json", "unreadable manifest"),
    ],
)
def test_a_malformed_manifest_is_one_clear_error(checkpoint, manifest, message):
    if isinstance(manifest, str):
        (checkpoint / ckpt.MANIFEST_FILE).write_text(manifest)
    else:
        set_manifest(checkpoint, manifest)
    with pytest.raises(ckpt.CheckpointError, match=re.escape(message)):
        ckpt.verify_checkpoint(checkpoint)


@pytest.mark.parametrize("state", ["[1]", '{"epoch": "one"}', '{"nope": 1}', '{"global_step": -3}', "{"])
def test_a_malformed_trainer_state_is_one_clear_error(checkpoint, state):
    (checkpoint / ckpt.STATE_FILE).write_text(state)
    with pytest.raises(ckpt.CheckpointError, match="damaged checkpoint"):
        ckpt.read_trainer_state(checkpoint)


def test_eval_names_the_checkpoint_and_the_entry(checkpoint, tmp_path, capsys):
    set_manifest(checkpoint, {"files": {"../outside.bin": {"bytes": 7, "sha256": "0" * 64}}})
    with pytest.raises(SystemExit) as exc:
        main(["eval", str(checkpoint), "--data", str(tmp_path / "d.json")])
    assert exc.value.code == USER_ERROR_STATUS
    lines = capsys.readouterr().err.strip().splitlines()
    assert lines == [
        f"coconut-lm eval: {checkpoint}: entry '../outside.bin' is not a file name inside the checkpoint folder"
    ]


def test_publish_refuses_a_link_in_place_of_the_folder(tmp_path):
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    (tmp_path / "best").symlink_to(elsewhere)
    temp = tmp_path / ".tmp-best"
    temp.mkdir()
    with pytest.raises(ckpt.CheckpointError, match="not replaced"):
        ckpt.publish(temp, tmp_path / "best")
    assert (tmp_path / "best").is_symlink() and elsewhere.is_dir()


def test_checkpoint_listing_ignores_odd_names(tmp_path):
    for name in ("step-00000004", "step-abc", "step-", ".tmp-step-00000008"):
        (tmp_path / ckpt.CHECKPOINTS / name).mkdir(parents=True)
    assert [p.name for p in ckpt.list_checkpoints(tmp_path)] == ["step-00000004"]


def test_a_run_folder_means_its_latest_checkpoint_never_best_silently(tmp_path):
    run = tmp_path / "run"

    def make(folder, step: int, stage: int):
        folder.mkdir(parents=True)
        (folder / ckpt.CONFIG_FILE).write_text("method: coconut\n")
        (folder / ckpt.STATE_FILE).write_text(json.dumps({"epoch": 1, "global_step": step, "stage": stage}))
        (folder / "config.json").write_text('{"model_type": "gpt2"}')
        (folder / ckpt.OPTIMIZER_FILE).write_bytes(b"")
        ckpt.write_manifest(folder)

    make(run / ckpt.BEST, 4, 0)  # best/ by validation: an early stage-0 checkpoint
    assert ckpt.resolve_checkpoint(run) == run / ckpt.BEST  # the only one there is
    make(run / ckpt.CHECKPOINTS / "step-00000008", 8, 1)
    make(run / ckpt.CHECKPOINTS / "step-00000012", 12, 2)
    assert ckpt.resolve_checkpoint(run) == run / ckpt.CHECKPOINTS / "step-00000012"
    assert ckpt.resolve_checkpoint(run / ckpt.BEST) == run / ckpt.BEST  # asked for by name
    line = ckpt.checkpoint_line(ckpt.resolve_checkpoint(run))
    assert line.endswith("step-00000012 (step 12, stage 2)")
