"""The reader a user tries first: ddddocr's shipped model, with no label of the site, behind the Reader interface.

Before labelling a site's captchas, a user would try a free, pretrained
captcha reader; ddddocr (``pip install ddddocr``) is the one most tried. Its
network reads whole captchas with CTC, as chapter 5's does, over some 8,000
characters (Chinese ones included). :class:`DdddocrReader` puts it behind
:class:`helpers.reader.Reader`, so that ``captcha-lab benchmark`` and chapter 6
score it with the same measures and on the same test captchas as the
course's readers: its probabilities are restricted to the set's alphabet
before decoding (a site's captchas never hold a Chinese character), and
when the labels use one letter case the answer is folded to it (the model
answers in upper and lower case). It comes from an optional extra
(``pip install 'learning-captchas[baselines]'``); nothing else in the
package needs it.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, ClassVar

import numpy as np

from helpers.errors import CourseError
from helpers.reader import Reader
from helpers.solver import Solution

__all__ = ["BASELINES", "EXTRA", "BaselineMissing", "DdddocrReader", "baseline_reader", "fold_case"]

BASELINES: tuple[str, ...] = ("ddddocr",)
"""Readers that learn nothing from the site's labels, by name."""

EXTRA = "baselines"
"""The optional extra that installs them: ``pip install 'learning-captchas[baselines]'``."""


class BaselineMissing(CourseError):
    """A baseline reader's package is not installed; the message names the extra that installs it."""


def fold_case(labels: Sequence[str]) -> str | None:
    """"lower" or "upper" when every letter of ``labels`` has that case, None when both occur (or no letter)."""
    letters = "".join(c for c in "".join(labels) if c.isalpha())
    if not letters or (letters.lower() != letters and letters.upper() != letters):
        return None
    return "lower" if letters.islower() else "upper"


class DdddocrReader(Reader):
    """ddddocr's shipped model reading a site's captchas, restricted to the site's ``alphabet``.

    Built by :func:`baseline_reader`. ``model``: a ``ddddocr.DdddOcr``;
    ``info``: ``alphabet`` (what the answers may hold) and ``case`` (the case
    answers are folded to, or None).
    """

    cuts_letters: ClassVar[bool] = False

    @property
    def alphabet(self) -> str:
        return str(self.info["alphabet"])

    @property
    def channels(self) -> int:
        return 3

    @property
    def network(self) -> Any:
        return None

    def _columns(self, charset: Sequence[str]) -> tuple[np.ndarray, list[str]]:
        """The model's output columns an answer may use (0, the blank, first) and the character each stands for."""
        case = self.info.get("case")
        fold = str.lower if case == "lower" else str.upper if case == "upper" else (lambda c: c)
        columns, chars = [0], [""]
        for k, c in enumerate(charset):
            if k and len(c) == 1 and fold(c) in self.alphabet:
                columns.append(k)
                chars.append(fold(c))
        return np.array(columns), chars

    def read(self, images: Sequence[np.ndarray], length: int | None = None, *,
             batch_size: int = 512, guided: bool = False) -> list[Solution]:
        """Read (H, W) or (H, W, 3) uint8 captchas one by one; each answer's confidence per character is its
        highest probability over the time steps that spelled it, among the allowed characters."""
        from PIL import Image

        columns, chars = self._columns(self.model.get_charset())
        solutions = []
        for image in images:
            image = np.asarray(image)
            if image.dtype != np.uint8 or image.ndim not in (2, 3) or min(image.shape[:2]) < 1:
                solutions.append(Solution("", np.zeros(0, np.float32), np.zeros((0, 4), np.int32), False,
                                          "not an image: expected a (H, W) or (H, W, 3) uint8 array"))
                continue
            probs = np.asarray(self.model.classification(Image.fromarray(image), probability=True)["probabilities"],
                               dtype=np.float32).reshape(-1, len(self.model.get_charset()))[:, columns]
            probs /= np.maximum(probs.sum(axis=1, keepdims=True), 1e-12)  # over the allowed characters only
            best = probs.argmax(axis=1)
            text, confidence = [], []
            for t, k in enumerate(best):
                if k and (t == 0 or best[t - 1] != k):
                    text.append(chars[k])
                    confidence.append(probs[t, k])
                elif k:
                    confidence[-1] = max(confidence[-1], probs[t, k])
            ok = bool(text)
            solutions.append(Solution("".join(text), np.asarray(confidence, np.float32), np.zeros((0, 4), np.int32),
                                      ok, "" if ok else "the reader saw no character"))
        return solutions


def baseline_reader(name: str, labels: Sequence[str]) -> DdddocrReader:
    """The baseline reader ``name`` (one of :data:`BASELINES`) for captchas labelled like ``labels``.

    Raises:
        BaselineMissing: its package is not installed (the message says how to install it).
        ValueError: an unknown name.
    """
    if name not in BASELINES:
        raise ValueError(f"unknown baseline {name!r}; choose from {', '.join(BASELINES)}")
    try:
        import ddddocr
    except ImportError:
        raise BaselineMissing("the ddddocr baseline needs the ddddocr package, which the course leaves out; "
                              f"install it with pip install 'learning-captchas[{EXTRA}]'") from None
    alphabet = "".join(sorted(set("".join(labels))))
    model = ddddocr.DdddOcr(show_ad=False)
    return DdddocrReader("ddddocr", model, {"kind": "ddddocr", "alphabet": alphabet, "case": fold_case(labels),
                                            "labels": 0})
