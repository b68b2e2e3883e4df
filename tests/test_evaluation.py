"""Scores for whole captchas and the breakdown of their errors."""

from __future__ import annotations

import numpy as np
import pytest

from helpers.evaluation import (
    MISPLACED, MISREAD, SOLVED, UNTOLD, WRONG_COUNT, confused_pairs, error_sources, exact_match, letter_accuracy,
    percent_with_interval, reader_error_sources, reading_speed, sign_test, wilson_interval,
)
from helpers.solver import Solution


def solution(text: str, ok: bool = True, boxes: np.ndarray | None = None) -> Solution:
    boxes = np.zeros((len(text), 4), np.int32) if boxes is None else boxes
    return Solution(text, np.ones(len(text), np.float32), boxes, ok, "" if ok else "found 3 regions, expected 4")


# Four letters, 10 pixels wide, side by side; the same boxes with the middle cut moved 6 pixels right.
TRUE_BOXES = np.array([[0, 0, 10, 20], [10, 0, 10, 20], [20, 0, 10, 20], [30, 0, 10, 20]], np.int32)
MISPLACED_BOXES = np.array([[0, 0, 10, 20], [10, 0, 16, 20], [26, 0, 4, 20], [30, 0, 10, 20]], np.int32)


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


def test_error_sources_without_true_boxes_cannot_tell_misplaced_from_misread() -> None:
    sols = [solution("ABCD"), solution("", ok=False), solution("ABXD"), solution("WXYZ")]
    sources = error_sources(sols, ["ABCD", "EFGH", "ABCD", "WXYZ"])
    assert sources == {SOLVED: 0.5, WRONG_COUNT: 0.25, UNTOLD: 0.25}
    assert reader_error_sources(True, sols, ["ABCD", "EFGH", "ABCD", "WXYZ"]) == sources


def test_error_sources_counts_a_misplaced_cut_as_a_cut_error() -> None:
    labels = ["ABCD", "ABCD", "ABCD", "ABCD"]
    sols = [solution("ABCD", boxes=TRUE_BOXES), solution("", ok=False),
            solution("ABXD", boxes=MISPLACED_BOXES), solution("ABXD", boxes=TRUE_BOXES)]
    sources = error_sources(sols, labels, [TRUE_BOXES] * 4)
    assert sources == {SOLVED: 0.25, WRONG_COUNT: 0.25, MISPLACED: 0.25, MISREAD: 0.25}
    assert sum(sources.values()) == pytest.approx(1.0)
    # A misplaced cut that still reads right is solved: the user only sees the answer.
    assert error_sources([solution("ABCD", boxes=MISPLACED_BOXES)], ["ABCD"], [TRUE_BOXES])[SOLVED] == 1.0
    # A looser overlap rule accepts the shifted cut (its worst box overlaps its letter by 0.4).
    assert error_sources(sols[2:3], labels[2:3], [TRUE_BOXES], min_iou=0.3)[MISREAD] == 1.0
    with pytest.raises(ValueError, match="true boxes"):
        error_sources(sols, labels, [TRUE_BOXES])


def test_confused_pairs_ranked() -> None:
    sols = [solution("8BCD"), solution("8BC5"), solution("ABC5"), solution("", ok=False)]
    pairs = confused_pairs(sols, ["BBCD", "BBCS", "ABCS", "ZZZZ"])
    assert pairs[0] in {("B", "8", 2), ("S", "5", 2)}
    assert sorted(pairs) == [("B", "8", 2), ("S", "5", 2)]


def test_percent_with_interval_brackets_the_share() -> None:
    assert percent_with_interval(362, 400) == "90.50 (87.2–93.0)"
    low, high = wilson_interval(0, 50)
    assert low == 0.0 and 0.05 < high < 0.1
    assert percent_with_interval(50, 50).startswith("100.00 (92.")


def test_reading_speed_times_a_first_call_apart_then_repeated_batches() -> None:
    calls: list[int] = []

    def read(batch):
        calls.append(len(batch))
        return [f"read {len(batch)}"] * len(batch)

    first, per_second, results = reading_speed(read, [np.zeros((4, 4))] * 10, repeats=3)
    assert calls == [1, 10, 10, 10]
    assert results == ["read 10"] * 10
    assert first >= 0 and per_second > 0


def test_sign_test_is_the_two_sided_binomial_tail_of_a_fair_coin() -> None:
    from scipy.stats import binomtest

    assert sign_test(0, 0) == 1.0
    assert sign_test(5, 5) == 1.0  # an even split is what fair coins give most
    assert sign_test(10, 0) == pytest.approx(2 / 2 ** 10)
    assert sign_test(46, 75) == sign_test(75, 46)
    for only_a, only_b in ((75, 46), (6, 2), (14, 2), (115, 20)):
        assert sign_test(only_a, only_b) == pytest.approx(binomtest(only_a, only_a + only_b).pvalue)
    assert sign_test(75, 46) < 0.05 < sign_test(6, 2)
