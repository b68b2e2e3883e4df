"""Starting TensorFlow for the course: quiet, fast and the same way everywhere.

TensorFlow reads its settings from environment variables once, when it is
first imported, so they must be set before that. :func:`import_keras` sets
the course's defaults (a variable you set yourself wins), then imports
TensorFlow and Keras:

* ``TF_CPP_MIN_LOG_LEVEL=3``: TensorFlow's C++ core keeps its routine
  messages to itself;
* ``TF_ENABLE_ONEDNN_OPTS=1``: oneDNN's fast CPU kernels, TensorFlow's
  default on most CPUs (training runs about twice as fast as without them).
  Their results can differ from other kernels' in the last digits, which is
  one reason the course checks scores against floors, not exact digits.

While it loads, TensorFlow's C++ core writes a note about oneDNN straight to
the process's error output, before any log setting applies. In a notebook
that note lands, or does not, depending on how the kernel was started, so
:func:`import_keras` discards what is written to that output during the import.
"""

from __future__ import annotations

import os
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from types import ModuleType

SETTINGS: dict[str, str] = {"TF_CPP_MIN_LOG_LEVEL": "3", "TF_ENABLE_ONEDNN_OPTS": "1"}
"""Environment variables TensorFlow reads at import, with the course's values."""


@contextmanager
def _discard_native_stderr() -> Iterator[None]:
    """Send what C/C++ code writes to file descriptor 2 to the null device, then restore it."""
    sys.stderr.flush()
    saved = os.dup(2)
    null = os.open(os.devnull, os.O_WRONLY)
    try:
        os.dup2(null, 2)
        yield
    finally:
        os.dup2(saved, 2)
        os.close(saved)
        os.close(null)


def import_keras() -> ModuleType:
    """Apply :data:`SETTINGS` (unless already set), import TensorFlow quietly, return ``keras``.

    Call it before anything imports TensorFlow; later calls just return ``keras``.
    Python errors raised by the import (say, TensorFlow is not installed) still
    reach you unchanged.
    """
    for name, value in SETTINGS.items():
        os.environ.setdefault(name, value)
    if "tensorflow" not in sys.modules:
        with _discard_native_stderr():
            import tensorflow  # noqa: F401
    import keras

    return keras


NATIVE_LOGS_VARIABLE = "CAPTCHA_LAB_NATIVE_LOGS"
"""Set it to 1 to see what TensorFlow's C++ core writes while a command runs (hidden by default)."""


@contextmanager
def native_logs_discarded() -> Iterator[None]:
    """While a command runs, keep C/C++ messages out of the terminal, and Python's own.

    TensorFlow's C++ core writes lines such as ``NodeDef mentions attribute
    use_unbounded_threadpool`` straight to file descriptor 2, past every log
    setting. Inside this block that descriptor goes to the null device, while
    Python's ``sys.stderr`` (progress lines, warnings, errors, tracebacks)
    writes to a copy of the real one. Does nothing when ``sys.stderr`` is not
    the process's error output (under a test's capture, say) or when
    :data:`NATIVE_LOGS_VARIABLE` is set.
    """
    try:
        real = sys.stderr is not None and sys.stderr.fileno() == 2
    except (AttributeError, OSError, ValueError):
        real = False
    if not real or os.environ.get(NATIVE_LOGS_VARIABLE):
        yield
        return
    python_stderr = sys.stderr
    python_stderr.flush()
    saved = os.dup(2)
    copy = os.fdopen(saved, "w", buffering=1, encoding=python_stderr.encoding or "utf-8",
                     errors="backslashreplace")
    null = os.open(os.devnull, os.O_WRONLY)
    os.dup2(null, 2)
    os.close(null)
    sys.stderr = copy
    try:
        yield
    finally:
        copy.flush()
        os.dup2(saved, 2)
        sys.stderr = python_stderr
        copy.close()


@contextmanager
def native_logs_hidden() -> Iterator[None]:
    """In a notebook, keep what TensorFlow's C++ core writes to file descriptor 2 out of the cell's output.

    A Jupyter kernel shows everything written to descriptor 2 under the running
    cell, including compiler notes about the CTC loss that are not errors of
    the course. Inside this block the descriptor goes to the null device;
    Python's warnings and errors still show, because the kernel's
    ``sys.stderr`` does not write to it. Outside a kernel it does what
    :func:`native_logs_discarded` does; with :data:`NATIVE_LOGS_VARIABLE` set, nothing.
    """
    if os.environ.get(NATIVE_LOGS_VARIABLE) or sys.stderr is sys.__stderr__:
        with native_logs_discarded():
            yield
        return
    with _discard_native_stderr():
        yield
