"""Helpers shared by the test modules (import them from here, never from another test module)."""

from __future__ import annotations

import pytest

from coconut_lm.cli import main
from coconut_lm.errors import USER_ERROR_STATUS


def fails(argv: list[str], capsys) -> str:
    """Run the CLI, expect a user error: exit status 2 and exactly one line on stderr."""
    with pytest.raises(SystemExit) as exc:
        main(argv)
    assert exc.value.code == USER_ERROR_STATUS
    lines = capsys.readouterr().err.strip().splitlines()
    assert len(lines) == 1, lines
    return lines[0]
