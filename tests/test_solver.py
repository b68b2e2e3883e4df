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
