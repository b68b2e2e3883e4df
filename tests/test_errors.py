"""The errors a user can fix: one place, one base class, and no command-line option named by the library."""

from __future__ import annotations

import ast
import re
from pathlib import Path

import pytest

from helpers import captchas, models, runs
from helpers.cli import OPTIONS, main
from helpers.errors import CaptchaDataError, CourseError, ModelFileError, RunError

PACKAGE = Path(__file__).resolve().parents[1] / "helpers"
OPTION = re.compile(r"(^|[\s(`])--[a-z]")


def test_the_modules_that_raise_them_hand_out_the_same_classes() -> None:
    assert captchas.CaptchaDataError is CaptchaDataError and issubclass(CaptchaDataError, ValueError)
    assert models.ModelFileError is ModelFileError and runs.RunError is RunError
    assert all(issubclass(error, CourseError) for error in (CaptchaDataError, ModelFileError, RunError))


@pytest.mark.parametrize("error, python, command_line", [
    (ModelFileError("m.model exists"), "m.model exists", "m.model exists"),
    (ModelFileError("m.model exists", argument="overwrite", value=True),
     "m.model exists (overwrite=True)", "m.model exists (--overwrite)"),
    (CaptchaDataError("bad fraction", argument="test_fraction"), "bad fraction (test_fraction)",
     "bad fraction (--test-fraction)"),
    (RunError("a file", argument="out_parent"), "a file (out_parent)", "a file (--out)"),
])
def test_an_error_names_the_argument_in_python_and_the_option_on_the_command_line(
        error: CourseError, python: str, command_line: str) -> None:
    assert str(error) == python
    assert error.for_command_line(OPTIONS) == command_line


def _raised_texts(path: Path) -> list[tuple[int, str]]:
    """The string pieces of every ``raise`` statement in a module: (line, text)."""
    found = []
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Raise) and node.exc is not None:
            found += [(node.lineno, piece.value) for piece in ast.walk(node.exc)
                      if isinstance(piece, ast.Constant) and isinstance(piece.value, str)]
    return found


def test_no_library_error_names_a_command_line_option() -> None:
    """Only the command line (``cli``, and ``course``'s own script) speaks of options."""
    offenders = [f"{path.name}:{line}: {text!r}" for path in sorted(PACKAGE.glob("*.py"))
                 if path.stem not in ("cli", "course") for line, text in _raised_texts(path)
                 if OPTION.search(text) and "pip install" not in text]  # pip's own options are fine
    assert not offenders, offenders


def test_the_command_line_shows_the_option_that_fixes_a_library_error(
        tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["run", "--notebooks-dir", str(tmp_path / "missing"), "--out", str(tmp_path / "r"), "--quiet"]) == 2
    assert capsys.readouterr().err.rstrip().endswith("(--notebooks-dir)")
    not_a_folder = tmp_path / "runs"
    not_a_folder.write_text("a file")
    (tmp_path / "nb").mkdir()
    (tmp_path / "nb" / "01_empty.ipynb").write_text('{"cells": [], "metadata": {}, "nbformat": 4, "nbformat_minor": 5}')
    assert main(["run", "--notebooks-dir", str(tmp_path / "nb"), "--out", str(not_a_folder), "--quiet"]) == 2
    err = capsys.readouterr().err
    assert "is a file, not a folder" in err and err.rstrip().endswith("(--out)")
