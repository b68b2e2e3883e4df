"""The errors the package raises for input a user can fix, all in one place.

Each message says what went wrong and what to change. When a single argument
is the fix (``overwrite``, ``test_fraction``, ...), the error carries its name
in ``argument``: Python callers see it at the end of the message
("... (overwrite=True)"), and ``captcha-lab`` shows the option that sets it
instead ("... (--overwrite)", :meth:`CourseError.for_command_line`). So the
library never names a command-line option, and the command line never has to
guess which argument an error is about.
"""

from __future__ import annotations

from typing import Any

__all__ = ["CaptchaDataError", "CourseError", "ModelFileError", "RunError"]

_UNSET: Any = object()


class CourseError(Exception):
    """An error in what the user gave; ``argument`` (optional) names the argument that fixes it.

    ``value``: what to set the argument to, when one value is the fix (``True`` for ``overwrite``).
    """

    def __init__(self, message: str, *, argument: str | None = None, value: Any = _UNSET) -> None:
        super().__init__(message)
        self.message = message
        self.argument = argument
        self.value = value

    def __str__(self) -> str:
        if self.argument is None:
            return self.message
        fix = self.argument if self.value is _UNSET else f"{self.argument}={self.value!r}"
        return f"{self.message} ({fix})"

    def for_command_line(self, options: dict[str, str] | None = None) -> str:
        """The message with the command-line option of ``argument``: ``--`` + its name with dashes,
        or ``options[argument]`` when the option is named otherwise."""
        if self.argument is None:
            return self.message
        option = (options or {}).get(self.argument, "--" + self.argument.replace("_", "-"))
        return f"{self.message} ({option})"


class CaptchaDataError(CourseError, ValueError):
    """Bad input to the captcha generator or loader; the message says what to change."""


class ModelFileError(CourseError):
    """A model file is missing, damaged, untrusted or does not fit the data."""


class RunError(CourseError):
    """A run of the notebook series could not start or finish; the message says what to change."""
