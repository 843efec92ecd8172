"""Fixtures of the training tests: a tiny tokenizer and toy data, made once per session."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.train.toy import tiny_config, write_data, write_tokenizer


@pytest.fixture(scope="session")
def toy_assets(tmp_path_factory) -> dict[str, Path]:
    root = tmp_path_factory.mktemp("toy")
    train, val = write_data(root / "data")
    return {"tokenizer": write_tokenizer(root / "tok"), "train": train, "val": val}


@pytest.fixture
def make_config(toy_assets, tmp_path):
    """tiny_config(...) bound to the session's tokenizer and data and this test's tmp folder."""

    def make(**sections) -> dict:
        return tiny_config(tmp_path, toy_assets["tokenizer"], toy_assets["train"], toy_assets["val"], **sections)

    return make


@pytest.fixture(autouse=True, scope="session")
def one_thread():
    """One intra-op thread, as the subprocesses get (OMP_NUM_THREADS=1): the machine is shared,
    and the resume test compares weights bit for bit across processes."""
    import torch

    before = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(before)
