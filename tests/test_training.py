"""helpers.training: train_reader's contract, called directly (the commands that use it: test_readers, test_benchmark)."""

from __future__ import annotations

import numpy as np
import pytest

from helpers.captchas import generate_captchas
from helpers.errors import CaptchaDataError
from helpers.training import MODEL_NAMES, several_lengths_note, train_reader


def _drawn(count: int, seed: int, length: int = 4) -> tuple[list[np.ndarray], list[str]]:
    made = generate_captchas(count, "easy", seed=seed, size=(120, 45), length=length)
    return [c.image for c in made], [c.label for c in made]


@pytest.mark.parametrize("kind, colour, message", [
    ("svm", False, "unknown model kind 'svm'; choose from " + ", ".join(MODEL_NAMES)),
    ("rf", True, "reads gray letters only"),
])
def test_train_reader_refuses_what_it_cannot_train(kind: str, colour: bool, message: str) -> None:
    with pytest.raises(CaptchaDataError, match=message):
        train_reader(kind, _drawn(4, 1), _drawn(2, 2), seed=0, colour=colour)


def test_a_forest_reader_reports_its_cuts_and_describes_itself() -> None:
    lines: list[str] = []
    train, validation = _drawn(40, 3), _drawn(10, 4)
    reader = train_reader("rf", train, validation, seed=0, report=lines.append)
    assert reader.kind == "rf" and reader.lengths == [4]
    assert any(line.startswith("training letters: ") for line in lines)
    assert reader.info["training"]["epochs"] is None and reader.info["training"]["seed"] == 0
    scored = reader.info["validation"]
    assert scored["captchas"] == 10 and 0.0 <= scored["exact"] <= scored["characters"] <= 1.0
    texts = [s.text for s in reader.read(validation[0])]
    assert scored["exact"] == round(np.mean([t == y for t, y in zip(texts, validation[1])]), 4)


def test_several_lengths_note_speaks_only_to_letter_models_of_mixed_lengths() -> None:
    assert several_lengths_note("rf", ["ABCD", "ABCDE"]).startswith("labels of 4, 5 characters")
    assert several_lengths_note("rf", ["ABCD", "WXYZ"]) == ""
    assert several_lengths_note("ctc", ["ABCD", "ABCDE"]) == ""
