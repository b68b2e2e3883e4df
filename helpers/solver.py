"""Reading whole captchas: cut into letters, classify every letter in one batch, join.

A captcha that cannot be cut into the expected number of letters is not
guessed at: its :class:`Solution` is marked failed, with the reason, and it
counts as wrong in every accuracy the course reports.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from helpers.models import LetterClassifier
from helpers.segmentation import segment


@dataclass(frozen=True)
class Solution:
    """What the solver read in one captcha.

    ``text``: predicted characters ("" when segmentation failed);
    ``confidence``: (k,) float32, the model's probability for each predicted
    character; ``boxes``: (k, 4) int32 ``(x, y, w, h)`` letter boxes;
    ``ok``/``reason``: whether segmentation worked and, if not, why.
    """

    text: str
    confidence: np.ndarray
    boxes: np.ndarray
    ok: bool
    reason: str = ""


def solve(images: Sequence[np.ndarray], classifier: LetterClassifier, length: int | None = None, *,
          method: str = "otsu", batch_size: int = 512) -> list[Solution]:
    """Read a batch of captchas ((H, W) or (H, W, 3) uint8 arrays, any sizes).

    ``length``: letters per captcha, if known (it lets segmentation split touching
    letters and reject wrong counts). All letters of the batch go through the
    model in one call. Never raises on a strange image: such captchas come back
    with ``ok=False``.
    """
    cuts = [segment(image, length, size=classifier.letter_size, method=method) for image in images]
    letters = [cut.letters for cut in cuts if cut.ok]
    stacked = np.concatenate(letters) if letters else np.empty((0, classifier.letter_size, classifier.letter_size), np.uint8)
    proba = classifier.predict_proba(stacked, batch_size=batch_size) if len(stacked) else np.zeros((0, len(classifier.classes)))
    best = proba.argmax(axis=1) if len(proba) else np.zeros(0, int)
    solutions, start = [], 0
    for cut in cuts:
        if not cut.ok:
            solutions.append(Solution("", np.zeros(0, np.float32), cut.boxes, False, cut.reason))
            continue
        stop = start + len(cut.letters)
        chars = "".join(classifier.classes[k] for k in best[start:stop])
        confidence = proba[np.arange(start, stop), best[start:stop]].astype(np.float32)
        solutions.append(Solution(chars, confidence, cut.boxes, True))
        start = stop
    return solutions


def captcha_accuracy(solutions: Sequence[Solution], labels: Sequence[str]) -> float:
    """Share of captchas read exactly right; failed segmentations count as wrong."""
    if len(solutions) != len(labels):
        raise ValueError(f"{len(solutions)} solutions for {len(labels)} labels")
    if not labels:
        raise ValueError("no captchas to score")
    return float(np.mean([s.ok and s.text == label for s, label in zip(solutions, labels)]))
