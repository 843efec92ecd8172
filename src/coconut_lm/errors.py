"""The one error policy: what is the user's to fix is one line and exit status 2.

`UserError` marks errors in what the user gave (a config key, a data file's record and field,
a path, a checkpoint, a tokenizer): its message names the thing and says everything, so the
command line prints it as one line (`coconut-lm <command>: <message>`) and exits with status 2.
Anything else is a bug and shows its traceback; `--debug` shows it for user errors too.
"""

from __future__ import annotations

import sys

USER_ERROR_STATUS = 2


class UserError(Exception):
    """An error in the user's input; its message names the file, record and field, or the key."""


class UserExit(SystemExit):
    """Exit with status 2 after a user error's line was printed (`str()` is the line)."""

    def __init__(self, message: str):
        super().__init__(USER_ERROR_STATUS)
        self.message = message

    def __str__(self) -> str:
        return self.message


def exit_with(message: str) -> UserExit:
    """Print `message` as one line on stderr; return the exception to raise."""
    print(message, file=sys.stderr)
    return UserExit(message)


class InputError(UserError, ValueError):
    """A bad argument or record that no more specific error type covers."""


class ConfigError(UserError, ValueError):
    """A configuration key is unknown, mistyped or holds a value that cannot work."""
