"""Writing a file so that an interrupted write never leaves half of it.

Every file the course writes (captchas, labels, letter sets, splits, reader
files, ONNX exports, JSON results, pictures) goes through
:func:`written_atomically`: the writer fills a hidden temporary file next to
the target, which is renamed over the target only when the writing finished
without an error. A crash, a full disk or a failed check leaves the target as
it was (absent, or the previous file) and removes the temporary file; the
folder loaders skip hidden names, so even a file left by a killed process is
never read as data.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path


@contextmanager
def written_atomically(path: str | Path, suffix: str = "") -> Iterator[Path]:
    """Yield a hidden temporary path next to ``path``; rename it over ``path`` when the block ends without error.

    Args:
        path: the file to write; its folder must exist.
        suffix: added to the temporary name, for writers that choose the format from the extension
            (Keras wants ".keras", matplotlib ".png").
    """
    path = Path(path)
    tmp = path.with_name(f".{path.name}.{os.getpid()}.partial{suffix}")
    try:
        yield tmp
        os.replace(tmp, path)
    finally:
        tmp.unlink(missing_ok=True)


def write_bytes_atomically(path: str | Path, data: bytes) -> None:
    """Write ``data`` to ``path`` through :func:`written_atomically`."""
    with written_atomically(path) as tmp:
        tmp.write_bytes(data)


def write_text_atomically(path: str | Path, text: str) -> None:
    """Write ``text`` as UTF-8 to ``path`` through :func:`written_atomically`."""
    write_bytes_atomically(path, text.encode("utf-8"))


__all__ = ["write_bytes_atomically", "write_text_atomically", "written_atomically"]
