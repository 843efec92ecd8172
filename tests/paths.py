"""Where the repository and `../shared` (real data, official fixtures) are; skips when absent."""

from __future__ import annotations

from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
SHARED = REPO.parent / "shared"
FIXTURES = SHARED / "fixtures" / "official"
DATA = SHARED / "data"


def require(path: Path) -> Path:
    """`path`, or skip the test with the reason (a fresh clone has no ../shared)."""
    if not path.exists():
        pytest.skip(f"{path} is absent (../shared is only on the project's machines)")
    return path
