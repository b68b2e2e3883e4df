"""Scores for whole captchas and the breakdown of their errors."""

from __future__ import annotations

import numpy as np
import pytest

from helpers.evaluation import confused_pairs, error_sources, exact_match, letter_accuracy
from helpers.solver import Solution


def solution(text: str, ok: bool = True) -> Solution:
    return Solution(text, np.ones(len(text), np.float32), np.zeros((len(text), 4), np.int32), ok,
                    "" if ok else "found 3 regions, expected 4")


def test_letter_accuracy_counts_missing_characters_as_wrong() -> None:
    assert letter_accuracy(["ABCD", "ABXD", ""], ["ABCD", "ABCD", "ABCD"]) == pytest.approx(7 / 12)
    assert letter_accuracy(["AB"], ["ABCD"]) == 0.5
    assert letter_accuracy(["ABCDE"], ["ABCD"]) == 1.0
    with pytest.raises(ValueError):
        letter_accuracy(["A"], [])


def test_exact_match() -> None:
    assert exact_match(["AB", "CD", "EF"], ["AB", "CX", "EF"]) == pytest.approx(2 / 3)
    with pytest.raises(ValueError):
        exact_match([], [])


def test_error_sources_add_up() -> None:
    sols = [solution("ABCD"), solution("", ok=False), solution("ABXD"), solution("WXYZ")]
    sources = error_sources(sols, ["ABCD", "EFGH", "ABCD", "WXYZ"])
    assert sources == {"solved": 0.5, "segmentation failed": 0.25, "misread letters": 0.25}


def test_confused_pairs_ranked() -> None:
    sols = [solution("8BCD"), solution("8BC5"), solution("ABC5"), solution("", ok=False)]
    pairs = confused_pairs(sols, ["BBCD", "BBCS", "ABCS", "ZZZZ"])
    assert pairs[0] in {("B", "8", 2), ("S", "5", 2)}
    assert sorted(pairs) == [("B", "8", 2), ("S", "5", 2)]
