"""Which unlabelled captchas are most worth labelling: those a reader is least sure of, none a copy of another.

Labels are what a site's captchas cost (chapter 6). A reader that already
reads part of a site answers some captchas surely and others barely; a
label teaches it most where it is unsure. :func:`pick_to_label` reads a batch
of unlabelled captchas, orders them by the reader's confidence in its answer
(:func:`helpers.calibration.answer_confidence`, least sure first; an answer of a
length the reader never learned counts as not sure at all) and keeps the first ``count``
that are not near-copies of one picked before (:func:`near_copy`: the same
captcha saved twice, or re-encoded), so no label is spent twice on one
picture. ``captcha-lab pick`` runs it on a folder.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING

import cv2
import numpy as np

from helpers.calibration import answer_confidence
from helpers.segmentation import as_gray_uint8

if TYPE_CHECKING:
    from helpers.reader import Reader

__all__ = ["NEAR", "THUMBNAIL", "Pick", "answer_confidence", "near_copy", "pick_to_label", "thumbnail"]

THUMBNAIL: tuple[int, int] = (64, 16)
"""(width, height) of the gray thumbnails two captchas are compared at."""

NEAR: float = 0.02
"""Two captchas whose thumbnails differ by less than this mean gray difference (0-1) are near-copies. A
JPEG copy of a course captcha differs from it by at most about 0.008; two different captchas of one style,
by at least about 0.036 (the noisy look-alike of chapter 6) to 0.07 (the course's levels)."""


@dataclass(frozen=True)
class Pick:
    """One captcha worth labelling: its index in the batch, the reader's guess and its confidence in it."""

    index: int
    guess: str
    confidence: float


def thumbnail(image: np.ndarray) -> np.ndarray:
    """Any captcha image → its (16, 64) float32 gray thumbnail in [0, 1] (area-averaged), for :func:`near_copy`."""
    return cv2.resize(as_gray_uint8(image), THUMBNAIL, interpolation=cv2.INTER_AREA).astype(np.float32) / 255.0


def near_copy(a: np.ndarray, b: np.ndarray, near: float = NEAR) -> bool:
    """Whether two :func:`thumbnail` arrays show the same captcha (mean gray difference below ``near``)."""
    return float(np.abs(a - b).mean()) < near


def pick_to_label(reader: Reader, images: Sequence[np.ndarray], count: int, *, near: float = NEAR) -> list[Pick]:
    """The ``count`` captchas of ``images`` most worth labelling, least sure first.

    Args:
        reader: any trained reader (letter or CTC); it reads every image once.
        images: unlabelled captchas, as :meth:`Reader.read` takes them.
        count: how many to pick, at least 1; fewer come back when the
            images hold fewer that are not near-copies of each other.
        near: the near-copy threshold of :func:`near_copy`.

    Returns:
        One :class:`Pick` per chosen captcha, by rising confidence (ties in
        the order of ``images``); no two are near-copies.
    """
    if count < 1:
        raise ValueError(f"count must be at least 1, got {count}")
    solutions = reader.read(list(images))
    sureness = [answer_confidence(s, getattr(reader, "lengths", ())) for s in solutions]  # a length never learned: 0
    picks: list[Pick] = []
    kept: list[np.ndarray] = []
    for k in sorted(range(len(solutions)), key=lambda i: (sureness[i], i)):
        small = thumbnail(images[k])
        if any(near_copy(small, other, near) for other in kept):
            continue
        picks.append(Pick(k, solutions[k].text, round(sureness[k], 4)))
        kept.append(small)
        if len(picks) == count:
            break
    return picks
