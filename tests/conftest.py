"""Fixtures for every test: the official fixtures and data folders, model families, cache layouts."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.paths import DATA, FIXTURES, require


@pytest.fixture
def fixtures_dir() -> Path:
    return require(FIXTURES)


@pytest.fixture
def data_dir() -> Path:
    return require(DATA)


MODEL_FAMILIES = ("gpt2", "gpt2_eager", "llama", "mistral", "qwen2")
"""Model families every model test runs on (tests/model/helpers.py builds them)."""


@pytest.fixture(params=MODEL_FAMILIES)
def family(request) -> str:
    return request.param


@pytest.fixture(params=("prefix", "whole"))
def kv_layout(request) -> str:
    """Both KV-cache layouts of `CoconutModel` (its default picks one by device)."""
    return request.param


@pytest.fixture
def data_dir_optional() -> Path | None:
    """`../shared/data` when present, else None (the test then covers generated data only)."""
    return DATA if DATA.exists() else None
