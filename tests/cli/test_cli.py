import pytest

from coconut_lm import Method
from coconut_lm.cli import build_parser, main


def test_help_lists_subcommands(capsys):
    with pytest.raises(SystemExit) as exc:
        main(["--help"])
    assert exc.value.code == 0
    out = capsys.readouterr().out
    for name in ("data", "demo"):
        assert name in out


def test_no_command_prints_help(capsys):
    assert main([]) == 2
    assert "usage" in capsys.readouterr().out


def test_parser_builds():
    assert build_parser().prog == "coconut-lm"


def test_method_parse():
    assert Method.parse("coconut") is Method.COCONUT
    assert Method.COCONUT.uses_thoughts and not Method.PAUSE.uses_thoughts
    with pytest.raises(ValueError, match="expected one of"):
        Method.parse("coconuts")
