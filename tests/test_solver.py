"""The whole-captcha solver: batches, confidences and failed cuts."""

from __future__ import annotations

import numpy as np
import pytest
from sklearn.ensemble import RandomForestClassifier

from helpers.captchas import generate_captchas
from helpers.datasets import extract_letters
from helpers.models import LetterClassifier, as_features
from helpers.solver import Solution, captcha_accuracy, solve


@pytest.fixture(scope="module")
def forest() -> LetterClassifier:
    made = generate_captchas(300, "easy", seed=11)
    letters, _ = extract_letters([c.image for c in made], [c.label for c in made], size=24)
    model = RandomForestClassifier(n_estimators=60, random_state=0).fit(as_features(letters.images), letters.labels)
    return LetterClassifier("forest", model, tuple(model.classes_), letter_size=24)


def test_solves_easy_captchas(forest: LetterClassifier) -> None:
    made = generate_captchas(40, "easy", seed=12)
    solutions = solve([c.image for c in made], forest, length=4)
    assert all(s.ok for s in solutions)
    assert captcha_accuracy(solutions, [c.label for c in made]) >= 0.8
    for s in solutions:
        assert len(s.text) == 4 and s.confidence.shape == (4,) and s.boxes.shape == (4, 4)
        assert np.all((s.confidence > 0) & (s.confidence <= 1))


def test_bad_images_fail_without_stopping_the_batch(forest: LetterClassifier) -> None:
    good = generate_captchas(2, "easy", seed=13)
    batch = [good[0].image, np.full((60, 160), 255, np.uint8), np.zeros((3, 3), np.uint8), good[1].image]
    solutions = solve(batch, forest, length=4)
    assert [s.ok for s in solutions] == [True, False, False, True]
    assert "blank" in solutions[1].reason and "too small" in solutions[2].reason
    assert solutions[1].text == ""
    # failed captchas count as wrong even against an empty label
    assert captcha_accuracy(solutions, [good[0].label, "", "", good[1].label]) <= 0.5


def test_wrong_letter_count_is_reported(forest: LetterClassifier) -> None:
    (captcha,) = generate_captchas(1, "easy", seed=14)
    (solution,) = solve([captcha.image], forest, length=3)
    assert not solution.ok and solution.reason == "found 4 regions, expected 3"


def test_empty_batch_and_mismatched_scoring(forest: LetterClassifier) -> None:
    assert solve([], forest, length=4) == []
    with pytest.raises(ValueError):
        captcha_accuracy([Solution("AB", np.ones(2), np.zeros((2, 4)), True)], [])


def test_a_captcha_of_one_of_several_lengths_is_cut_into_the_count_segmentation_finds() -> None:
    from helpers.solver import cut_captcha

    image = np.full((60, 200), 245, np.uint8)
    for x in (10, 45, 80, 115, 150):  # five letters apart
        image[12:46, x:x + 20] = 20
    assert len(cut_captcha(image, [5, 6]).boxes) == 5 and cut_captcha(image, [5, 6]).ok
    assert len(cut_captcha(image, None).boxes) == 5
    refused = cut_captcha(image, [4, 6])  # five letters that look alike are neither merged nor split
    assert not refused.ok and "expected" in refused.reason
    image[12:46, 130:150] = 20  # the fourth letter now touches the fifth: four regions
    joined = cut_captcha(image, [5, 6])  # 4 is not a length: the nearest that segmentation reaches
    assert joined.ok and len(joined.boxes) == 5


class StepFreeReader:
    """A stand-in letter model: sure of a letter whose ink columns all have one height, unsure of a step.

    A piece cut through the wrong place of two touching blocks of different
    heights holds part of each: a step. Classes "a", "b", "c"; the first gets
    the share of ink columns at least 90 % as tall as the tallest.
    """

    classes = ("a", "b", "c")
    letter_size = 32

    def predict_proba(self, letters: np.ndarray, batch_size: int = 0) -> np.ndarray:
        out = []
        for letter in letters:
            columns = (letter < 128).sum(axis=0)
            columns = columns[columns > 0]
            even = float(np.mean(columns >= 0.9 * columns.max())) if len(columns) else 0.0
            out.append([even, (1 - even) / 2, (1 - even) / 2])
        return np.array(out, np.float32)


def test_guided_cutting_moves_a_cut_to_where_the_letters_are_read_best() -> None:
    from helpers.segmentation import segment

    image = np.full((60, 120), 245, np.uint8)
    image[26:50, 20:40] = 20  # a short letter, 20 px wide ...
    image[10:50, 40:64] = 20  # ... touching a tall one, 24 px wide: one region
    plain = segment(image, 2, size=32)
    assert plain.ok and int(plain.boxes[1][0]) != 40  # split near the middle of the region, not at the step
    reader = StepFreeReader()
    offsets = tuple(range(-8, 9))
    unguided = solve([image], reader, 2)[0]
    guided = solve([image], reader, 2, guided=True, offsets=offsets)[0]
    assert int(guided.boxes[1][0]) == 40 and int(guided.boxes[0][0]) == 20
    assert guided.confidence.min() > unguided.confidence.min()
    # a sure cut (letters apart) is never moved
    apart = np.full((60, 120), 245, np.uint8)
    apart[10:50, 10:40], apart[26:50, 60:80] = 20, 20
    assert solve([apart], reader, 2, guided=True, offsets=offsets)[0].boxes.tolist() == \
        solve([apart], reader, 2)[0].boxes.tolist()


def test_best_cut_chains_the_pieces_through_shared_boundaries() -> None:
    from helpers.solver import CutCandidates, best_cut

    # two letters, one unsure boundary with two choices; candidates: letter 0 ending at choice 0 or 1,
    # letter 1 starting at choice 0 or 1
    candidates = CutCandidates(boxes=np.zeros((4, 4), np.int32), piece=np.array([0, 0, 1, 1]),
                               left=np.array([0, 0, 0, 1]), right=np.array([0, 1, 0, 0]), choices=np.array([2]))
    # letter 0 alone prefers choice 1, but letter 1 is much better read with choice 0
    scores = np.log(np.array([0.6, 0.9, 0.95, 0.1]))
    assert best_cut(candidates, scores).tolist() == [0, 2]
