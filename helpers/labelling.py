"""Typing the answers of captchas worth labelling: each saved as ``<answer>.png`` in a folder, never over a file.

``captcha-lab pick`` (:mod:`helpers.picking`) lists the unlabelled captchas a
reader is least sure of, with its guess for each. Someone then has to look
at each picture and type its answer. :func:`save_labelled` writes one
labelled copy into the folder the user names, under the name the course's
loader reads the label from (``AB3D.png``, then ``AB3D_1.png`` for a second
captcha with that answer), and never replaces a file that is there.
:class:`Labeller` is the small notebook widget around it (ipywidgets): the
picture, the reader's guess already typed, Enter (or Save) to keep it or
type to correct it first, Skip to leave a captcha out.
"""

from __future__ import annotations

import os
import warnings
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from helpers.captcha_files import check_filename_label
from helpers.errors import CaptchaDataError

__all__ = ["Labeller", "free_name", "save_labelled"]


def free_name(folder: Path, label: str, suffix: str) -> Path:
    """The first of ``<label><suffix>``, ``<label>_1<suffix>``, ... not taken in ``folder`` (ignoring case)."""
    taken = {p.name.casefold() for p in folder.iterdir()}
    name, k = f"{label}{suffix}", 0
    while name.casefold() in taken:
        k += 1
        name = f"{label}_{k}{suffix}"
    return folder / name


def save_labelled(source: str | Path, label: str, folder: str | Path) -> Path:
    """Copy the captcha file ``source`` into ``folder`` as ``<label>`` + its suffix; returns the new path.

    The bytes are copied as they are (a JPEG stays the same JPEG). The copy
    is written under a hidden temporary name and then linked to its final
    name, which fails rather than replace a file that appeared meanwhile;
    the next free name is tried then. The source is left alone.

    Raises:
        CaptchaDataError: the label cannot be a file name (empty, a '/', ...),
            ``source`` is not a file, or ``folder`` is not a folder.
    """
    source, folder = Path(source), Path(folder)
    label = label.strip()
    check_filename_label(label)
    if not source.is_file():
        raise CaptchaDataError(f"{source} is not a file; give the captcha image to label")
    if not folder.is_dir():
        raise CaptchaDataError(f"{folder} is not a folder; create the folder the labels go into first")
    data = source.read_bytes()
    suffix = source.suffix.lower() or ".png"
    tmp = folder / f".{label}.{os.getpid()}.partial"
    try:
        tmp.write_bytes(data)
        while True:
            target = free_name(folder, label, suffix)
            try:
                os.link(tmp, target)  # never replaces: fails when the name is taken
                return target
            except FileExistsError:
                continue
    finally:
        tmp.unlink(missing_ok=True)


class Labeller:
    """A notebook widget to label captchas one by one into ``folder``.

    ``items``: (image file, guess) pairs, e.g. the paths and guesses
    ``captcha-lab pick`` lists. The widget shows the first picture with the
    guess typed in a text box: Enter or Save saves it under that answer
    (:func:`save_labelled`; correct the text first if the guess is wrong),
    Skip leaves it out; then the next one comes. ``saved`` lists the files
    written. :meth:`answer` and :meth:`skip` do what Enter and Skip do, so
    code (and a test) can drive it too.
    """

    def __init__(self, items: Sequence[tuple[str | Path, str]], folder: str | Path) -> None:
        import ipywidgets

        self.items = [(Path(path), guess) for path, guess in items]
        self.folder = Path(folder)
        if not self.folder.is_dir():
            raise CaptchaDataError(f"{self.folder} is not a folder; create the folder the labels go into first")
        self.position = 0
        self.saved: list[Path] = []
        self.picture = ipywidgets.Image(format="png", layout=ipywidgets.Layout(max_width="360px"))
        self.text = ipywidgets.Text(description="answer")
        with warnings.catch_warnings():  # Enter on an unchanged guess changes no value: only on_submit sees it
            warnings.simplefilter("ignore", DeprecationWarning)
            self.text.on_submit(lambda box: self.answer(box.value))
        save, skip = ipywidgets.Button(description="Save"), ipywidgets.Button(description="Skip")
        save.on_click(lambda _: self.answer())
        skip.on_click(lambda _: self.skip())
        self.status = ipywidgets.Label()
        self.widget = ipywidgets.VBox([self.picture, ipywidgets.HBox([self.text, save, skip]), self.status])
        self._show()

    def _show(self) -> None:
        if self.position >= len(self.items):
            self.status.value = f"done: {len(self.saved)} saved in {self.folder}"
            self.text.disabled = True
            return
        path, guess = self.items[self.position]
        self.picture.value = _png_bytes(path)
        self.text.value = guess  # pre-filled: Enter keeps it
        self.status.value = f"{self.position + 1} of {len(self.items)}: {path.name} (Enter keeps the guess)"

    def answer(self, label: str | None = None) -> Path | None:
        """Save the current captcha under ``label`` (default: the text box's) and show the next; returns
        the file written, or None when every captcha is done or the label cannot be a file name (said in
        the status line)."""
        if self.position >= len(self.items):
            return None
        label = self.text.value if label is None else label
        try:
            path = save_labelled(self.items[self.position][0], label, self.folder)
        except CaptchaDataError as exc:
            self.status.value = str(exc)
            return None
        self.saved.append(path)
        self.position += 1
        self._show()
        return path

    def skip(self) -> None:
        """Leave the current captcha unlabelled and show the next."""
        self.position = min(self.position + 1, len(self.items))
        self._show()

    def _repr_mimebundle_(self, **kwargs: Any) -> Any:
        return self.widget._repr_mimebundle_(**kwargs)


def _png_bytes(path: Path) -> bytes:
    """Any captcha file as PNG bytes, for the widget's picture."""
    import io

    from PIL import Image

    buffer = io.BytesIO()
    with Image.open(path) as image:
        image.convert("RGB").save(buffer, format="PNG")
    return buffer.getvalue()
