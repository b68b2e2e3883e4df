"""Reading whole captchas: cut into letters, classify every letter in one batch, join.

A captcha that cannot be cut into the expected number of letters is not
guessed at: its :class:`Solution` is marked failed, with the reason, and it
counts as wrong in every accuracy the course reports.

Where segmentation had to split touching letters from the ink alone, the
letter model may choose the cuts instead (``guided=True``): candidate cut
positions around each unsure cut are read, and the placement read most
confidently wins (:func:`candidate_pieces`, :func:`best_cut`).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from helpers.models import LetterClassifier
from helpers.segmentation import (
    DARK_ON_LIGHT, LIGHT_ON_DARK, Segmentation, as_gray_uint8, as_rgb_uint8, crop_letters, cut_choices, ink_masks,
    piece_box, segment,
)


@dataclass(frozen=True)
class Solution:
    """What the solver read in one captcha.

    ``text``: predicted characters ("" when segmentation failed);
    ``confidence``: (k,) float32, the model's probability for each predicted
    character; ``boxes``: (k, 4) int32 ``(x, y, w, h)`` letter boxes;
    ``ok``/``reason``: whether segmentation worked and, if not, why;
    ``polarity``: whether the reader took the text for dark on light or light
    on dark (:func:`helpers.segmentation.text_polarity`).
    """

    text: str
    confidence: np.ndarray
    boxes: np.ndarray
    ok: bool
    reason: str = ""
    polarity: str = DARK_ON_LIGHT


def cut_captcha(image: np.ndarray, length: int | Sequence[int] | None, *, size: int = 60,
                method: str = "otsu", colour: bool = False) -> Segmentation:
    """Cut one captcha into letters when its letter count is known, unknown, or one of a few.

    ``length``: an int is the known count (:func:`segment` splits and merges
    regions to reach it); None lets segmentation count the letters; a
    sequence of counts (labels of 5 or 6 characters, say) takes the count
    segmentation finds when it is one of them, else the nearest count that
    segmentation can reach. ``colour``: letter crops in colour (:func:`segment`).
    """
    if length is None or isinstance(length, (int, np.integer)):
        return segment(image, None if length is None else int(length), size=size, method=method, colour=colour)
    counts = sorted({int(n) for n in length})
    cut = segment(image, None, size=size, method=method, colour=colour)
    if cut.ok and len(cut.boxes) in counts:
        return cut
    found = len(cut.boxes)
    for n in sorted(counts, key=lambda n: (abs(n - found), n)):
        cut = segment(image, n, size=size, method=method, colour=colour)
        if cut.ok:
            break
    return cut


@dataclass(frozen=True)
class CutCandidates:
    """Every way of placing the unsure cuts of one captcha (see :func:`candidate_pieces`).

    ``boxes``: (n, 4) int32 candidate letter boxes; ``piece``, ``left``,
    ``right``: (n,) int, which letter each candidate is and which choice of
    its left and right boundary it uses (indices into
    :func:`helpers.segmentation.cut_choices`' lists; 0 for the outer edges).
    ``choices``: number of choices per boundary, (k - 1,).
    """

    boxes: np.ndarray
    piece: np.ndarray
    left: np.ndarray
    right: np.ndarray
    choices: np.ndarray


def candidate_pieces(cut: Segmentation, offsets: Sequence[int] = (-4, -2, 0, 2, 4)) -> CutCandidates | None:
    """The candidate letter boxes of a cut whose unsure boundaries may move by ``offsets`` pixels.

    None when the cut is sure (every boundary lies between separate regions
    of ink), has fewer than two letters, or carries no ink mask.
    """
    if not cut.ok or cut.ink is None or len(cut.boxes) < 2:
        return None
    choices = cut_choices(cut, offsets)
    if all(len(c) == 1 for c in choices):
        return None
    boxes = np.asarray(cut.boxes)
    k = len(boxes)
    rows, pieces, lefts, rights = [], [], [], []
    for i in range(k):
        near = boxes[max(0, i - 1):i + 2]
        top, bottom = int(near[:, 1].min()), int((near[:, 1] + near[:, 3]).max())
        left_edges = [int(boxes[i][0])] if i == 0 else [pair[0] for pair in choices[i - 1]]
        right_edges = [int(boxes[i][0] + boxes[i][2])] if i == k - 1 else [pair[1] for pair in choices[i]]
        for a, x0 in enumerate(left_edges):
            for b, x1 in enumerate(right_edges):
                if x1 - x0 >= 2:
                    rows.append(piece_box(cut.ink, x0, x1, top, bottom))
                    pieces.append(i), lefts.append(a), rights.append(b)
    return CutCandidates(np.array(rows, np.int32).reshape(-1, 4), np.array(pieces), np.array(lefts),
                         np.array(rights), np.array([len(c) for c in choices]))


def candidate_letters(image: np.ndarray, cut: Segmentation, candidates: CutCandidates, size: int = 60,
                      colour: bool = False) -> np.ndarray:
    """The letter images (n, size, size) uint8 of every candidate box, cropped as segmentation crops letters.

    ``image``: the (H, W) or (H, W, 3) uint8 captcha that ``cut`` was made from.
    """
    pixels = as_rgb_uint8(image) if colour else as_gray_uint8(image)
    if cut.polarity == LIGHT_ON_DARK:
        pixels = 255 - pixels
    return crop_letters(pixels, candidates.boxes, size, masks=ink_masks(cut.ink, candidates.boxes))


def best_cut(candidates: CutCandidates, scores: np.ndarray) -> np.ndarray:
    """Indices (k,) of the candidates, one per letter, whose summed ``scores`` (n,) is highest.

    A left-to-right dynamic programme over the boundaries (Viterbi): letter
    i's left boundary must be the choice letter i - 1 ended with.
    """
    k = len(candidates.choices) + 1
    # best[c]: the best total of the letters so far whose last right boundary is choice c; paths[c]: their candidates
    best, paths = np.zeros(1), [[]]
    for i in range(k):
        n_right = candidates.choices[i] if i < k - 1 else 1
        new_best, new_paths = np.full(n_right, -np.inf), [[] for _ in range(n_right)]
        for j in np.flatnonzero(candidates.piece == i):
            a, b = candidates.left[j], candidates.right[j]
            if a < len(best) and best[a] + scores[j] > new_best[b]:
                new_best[b], new_paths[b] = best[a] + scores[j], paths[a] + [int(j)]
        best, paths = new_best, new_paths
    return np.array(paths[int(np.argmax(best))], dtype=np.int64)


SURE_CONFIDENCE = 0.98
"""With guided cutting, a cut whose every letter the model reads at least this confidently is kept as it is."""


def solve(images: Sequence[np.ndarray], classifier: LetterClassifier, length: int | Sequence[int] | None = None, *,
          method: str = "otsu", batch_size: int = 512, guided: bool = False,
          offsets: Sequence[int] = (-4, -2, 0, 2, 4), sure_confidence: float = SURE_CONFIDENCE) -> list[Solution]:
    """Read a batch of captchas ((H, W) or (H, W, 3) uint8 arrays, any sizes).

    ``length``: letters per captcha, if known (it lets segmentation split touching
    letters and reject wrong counts), or the few counts it may be
    (:func:`cut_captcha`). The letters of all captchas of the batch go
    through the model together, ``batch_size`` letters per call. With ``guided``, a cut that had to split a region of
    ink, and whose letters the model does not all read with at least
    ``sure_confidence``, is tried again with its unsure cuts moved by
    ``offsets`` pixels, and the placement whose letters the model reads most
    confidently (highest sum of log-probabilities) is kept:
    recognition-guided cutting (:func:`candidate_pieces`, :func:`best_cut`).
    Never raises on a strange image: such captchas come back with ``ok=False``.
    """
    colour = getattr(classifier, "channels", 1) == 3  # a LetterClassifier says; anything else reads gray
    cuts = [cut_captcha(image, length, size=classifier.letter_size, method=method, colour=colour) for image in images]
    letters = [cut.letters for cut in cuts if cut.ok]
    stacked = np.concatenate(letters) if letters else np.empty((0,), np.uint8)
    proba = classifier.predict_proba(stacked, batch_size=batch_size) if len(stacked) else np.zeros((0, len(classifier.classes)))
    solutions, start = [], 0
    for cut in cuts:
        if not cut.ok:
            solutions.append(Solution("", np.zeros(0, np.float32), cut.boxes, False, cut.reason, cut.polarity))
            continue
        stop = start + len(cut.letters)
        solutions.append(_reading(classifier, proba[start:stop], cut.boxes, cut.polarity))
        start = stop
    if guided:
        unsure = [k for k, s in enumerate(solutions) if s.ok and float(s.confidence.min()) < sure_confidence]
        for k, solution in _guided(images, cuts, unsure, classifier, offsets, batch_size).items():
            solutions[k] = solution
    return solutions


def _reading(classifier: LetterClassifier, proba: np.ndarray, boxes: np.ndarray, polarity: str) -> Solution:
    """The :class:`Solution` of one cut from its letters' class probabilities (k, n_classes)."""
    best = proba.argmax(axis=1)
    return Solution("".join(classifier.classes[i] for i in best),
                    proba[np.arange(len(best)), best].astype(np.float32), boxes, True, "", polarity)


def _guided(images: Sequence[np.ndarray], cuts: list[Segmentation], which: Sequence[int],
            classifier: LetterClassifier, offsets: Sequence[int], batch_size: int) -> dict[int, Solution]:
    """Solutions of the cuts ``which`` that have unsure cuts, each from the placement the classifier reads best."""
    found = [(k, candidate_pieces(cuts[k], offsets)) for k in which]
    found = [(k, c) for k, c in found if c is not None and len(c.boxes)]
    if not found:
        return {}
    colour = getattr(classifier, "channels", 1) == 3
    crops = [candidate_letters(images[k], cuts[k], c, classifier.letter_size, colour) for k, c in found]
    proba = classifier.predict_proba(np.concatenate(crops), batch_size=batch_size)
    scores = np.log(proba.max(axis=1) + 1e-9)
    out, start = {}, 0
    for k, candidates in found:
        n = len(candidates.boxes)
        chosen = best_cut(candidates, scores[start:start + n])
        if len(chosen) == len(cuts[k].boxes):
            out[k] = _reading(classifier, proba[start:start + n][chosen], candidates.boxes[chosen], cuts[k].polarity)
        start += n
    return out


def captcha_accuracy(solutions: Sequence[Solution], labels: Sequence[str]) -> float:
    """Share of captchas read exactly right; failed segmentations count as wrong."""
    if len(solutions) != len(labels):
        raise ValueError(f"{len(solutions)} solutions for {len(labels)} labels")
    if not labels:
        raise ValueError("no captchas to score")
    return float(np.mean([s.ok and s.text == label for s, label in zip(solutions, labels)]))
