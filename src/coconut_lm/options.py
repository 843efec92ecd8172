"""Settings as typed dataclasses, validated by pydantic, and their command-line flags.

Every group of settings (a run's config sections, the ProsQA generator, the demo, the bench) is
a `@settings` dataclass whose fields are declared with `doc(default, "one line")`. pydantic checks values
against the annotations (types, `Literal` choices, enums, nested sections, unknown keys) and
every error names the key it is about:

    >>> validate(CurriculumConfig, {"c_thought": "two"}, prefix="curriculum.")
    ConfigError: curriculum.c_thought: expected int, got 'two'

`add_arguments` / `from_arguments` give a dataclass's fields as `--flags` (help from `doc`),
validated the same way, so a command's flags and its YAML keys cannot drift apart.
"""

from __future__ import annotations

import argparse
import dataclasses
import functools
import typing
from collections.abc import Callable
from typing import Annotated, Any, Literal

import pydantic
import yaml

from coconut_lm.errors import ConfigError, UserError

Int = Annotated[int, pydantic.Strict()]
"""An integer field: a string, a float or a bool is an error, not converted."""
Float = Annotated[float, pydantic.Strict()]
"""A real-number field: an integer is taken; a string or a bool is an error, not converted."""
Bool = Annotated[bool, pydantic.Strict()]
"""A true/false field: "yes", 1 or "false" are errors, not converted."""


def settings(cls: type) -> type:
    """Make `cls` a settings dataclass: unknown keys, and infinite or NaN floats (`lr: .inf`), are
    errors when it is validated."""
    cls = dataclasses.dataclass(cls)
    cls.__pydantic_config__ = pydantic.ConfigDict(extra="forbid", allow_inf_nan=False)
    return cls


@functools.cache
def _adapter(cls: type) -> pydantic.TypeAdapter:
    return pydantic.TypeAdapter(cls)


def doc(default: Any, text: str) -> Any:
    """A dataclass field with a default and its one-line documentation (`--show-defaults`, `--help`)."""
    if isinstance(default, (dict, list)):
        return dataclasses.field(default_factory=lambda: type(default)(default), metadata={"doc": text})
    return dataclasses.field(default=default, metadata={"doc": text})


def check(condition: bool, key: str, message: str) -> None:
    """Raise `ConfigError("key: message")` unless `condition` (for `__post_init__` checks)."""
    if not condition:
        raise ConfigError(f"{key}: {message}")


def _dotted(loc: tuple) -> str:
    return ".".join(str(part) for part in loc)


def _known_keys(cls: type, loc: tuple) -> list[str]:
    """The field names of the dataclass that holds the key at `loc`."""
    hints = typing.get_type_hints(cls)
    for part in loc[:-1]:
        cls = hints.get(part) if isinstance(part, str) else None
        if not (isinstance(cls, type) and dataclasses.is_dataclass(cls)):
            return []
        hints = typing.get_type_hints(cls)
    return sorted(f.name for f in dataclasses.fields(cls))


_EXPECTED = {
    "int": "expected int",
    "bool": "expected bool",
    "float": "expected float",
    "finite": "expected a finite number",
    "string": "expected str",
    "dict": "expected a mapping",
    "list": "expected a list",
}
"""Our wording of pydantic's type errors, by the first word of the error type (`int_parsing`, ...)."""


def _message(cls: type, error: dict, key_of: Callable[[tuple], str]) -> str:
    loc, kind = error["loc"], error["type"]
    cause = (error.get("ctx") or {}).get("error")
    if kind == "value_error" and (isinstance(cause, UserError) or not loc):
        return str(cause)  # a __post_init__ check: its message names its keys
    key = key_of(loc)
    key = key if key.isprintable() else repr(key)  # a key typed with a line break: still one line
    if kind == "value_error":
        return f"{key}: {cause}"
    if kind == "unexpected_keyword_argument":
        return f"{key}: unknown key (known: {', '.join(_known_keys(cls, loc))})"
    if kind in ("enum", "literal_error"):
        choices = error["ctx"]["expected"].replace("'", "").replace(" or ", ", ")
        if kind == "enum":
            return f"{key}: unknown {key.split('.')[-1]} {error['input']!r}; expected one of: {choices}"
        return f"{key}: expected one of: {choices}; got {error['input']!r}"
    if kind == "dataclass_type":
        return f"{key}: expected a mapping, got {type(error['input']).__name__}"
    expected = _EXPECTED.get(kind.split("_")[0], error["msg"])
    return f"{key}: {expected}, got {error['input']!r}"


def validate(cls: type, values: Any, prefix: str = "", key_of: Callable[[tuple], str] | None = None) -> Any:
    """`cls` built from a plain mapping, checked by pydantic; `ConfigError` names the first bad key."""
    key_of = key_of or (lambda loc: prefix + _dotted(loc))
    if not isinstance(values, dict):
        raise ConfigError(f"{prefix.rstrip('.') or 'config'}: expected a mapping, got {type(values).__name__}")
    try:
        return _adapter(cls).validate_python(values)
    except pydantic.ValidationError as e:
        raise ConfigError(_message(cls, e.errors()[0], key_of)) from None


def flag(name: str) -> str:
    return "--" + name.replace("_", "-")


def add_arguments(parser: argparse.ArgumentParser, cls: type, skip: tuple[str, ...] = ()) -> None:
    """A `--flag` per field of `cls` (help from its `doc`); values are checked by `from_arguments`."""
    defaults = cls()
    hints = typing.get_type_hints(cls)
    for f in dataclasses.fields(cls):
        if f.name in skip:
            continue
        default = getattr(defaults, f.name)
        kwargs: dict[str, Any] = {"default": None, "metavar": f.name.upper()}
        if hints[f.name] is bool:  # `--flag` alone means true; `--flag false` also parses
            kwargs.update(nargs="?", const="true", metavar="BOOL")
        if typing.get_origin(hints[f.name]) is Literal:
            kwargs.update(choices=typing.get_args(hints[f.name]), metavar=None)
        parser.add_argument(flag(f.name), help=f"{f.metadata.get('doc', '')} (default: {default})", **kwargs)


def given_arguments(cls: type, args: argparse.Namespace) -> dict:
    """The fields of `cls` given on the command line; values read as YAML (`3`, `false`, `[1, 2]`)
    except for text fields, which keep the string as typed."""
    hints = typing.get_type_hints(cls)
    out = {}
    for f in dataclasses.fields(cls):
        value = getattr(args, f.name, None)
        if value is None:
            continue
        is_text = hints[f.name] is str or str in typing.get_args(hints[f.name])
        out[f.name] = value if is_text or not isinstance(value, str) else _yaml_value(value)
    return out


def _yaml_value(text: str) -> Any:
    try:
        return yaml.safe_load(text)
    except yaml.YAMLError:
        return text  # validation reports it against the field's type


def from_arguments(cls: type, args: argparse.Namespace, base: dict | None = None) -> Any:
    """`cls` from `base` (defaults when None) and the flags given; errors name the flag."""
    return validate(cls, {**(base or {}), **given_arguments(cls, args)}, key_of=lambda loc: flag(str(loc[0])))
