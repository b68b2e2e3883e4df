"""Scoring whole captchas: accuracies, where errors come from, and confused characters."""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence

import numpy as np

from helpers.solver import Solution


def letter_accuracy(predicted: Sequence[str], labels: Sequence[str]) -> float:
    """Share of label characters predicted right at their position.

    ``predicted[k]`` is compared with ``labels[k]`` character by character; a
    missing prediction (failed segmentation, "") or a too-short one scores its
    missing characters as wrong. Returns a value in [0, 1].
    """
    if len(predicted) != len(labels):
        raise ValueError(f"{len(predicted)} predictions for {len(labels)} labels")
    total = sum(len(label) for label in labels)
    if total == 0:
        raise ValueError("no characters to score")
    right = sum(p == t for guess, label in zip(predicted, labels) for p, t in zip(guess, label))
    return right / total


def exact_match(predicted: Sequence[str], labels: Sequence[str]) -> float:
    """Share of captchas whose prediction equals the label exactly."""
    if len(predicted) != len(labels) or not labels:
        raise ValueError(f"need one prediction per label, got {len(predicted)} for {len(labels)}")
    return float(np.mean([p == t for p, t in zip(predicted, labels)]))


def error_sources(solutions: Sequence[Solution], labels: Sequence[str]) -> dict[str, float]:
    """Split captchas into right, wrong because cutting failed, and wrong despite a clean cut.

    Returns shares (summing to 1) under "solved", "segmentation failed" and
    "misread letters".
    """
    n = len(labels)
    failed = sum(not s.ok for s in solutions)
    solved = sum(s.ok and s.text == label for s, label in zip(solutions, labels))
    return {"solved": solved / n, "segmentation failed": failed / n, "misread letters": (n - solved - failed) / n}


def confused_pairs(solutions: Sequence[Solution], labels: Sequence[str], top: int = 10) -> list[tuple[str, str, int]]:
    """The most frequent (true character, predicted character, count) mistakes in cleanly cut captchas."""
    counts: Counter[tuple[str, str]] = Counter()
    for s, label in zip(solutions, labels):
        if s.ok and len(s.text) == len(label):
            counts.update((t, p) for t, p in zip(label, s.text) if t != p)
    return [(t, p, n) for (t, p), n in counts.most_common(top)]
