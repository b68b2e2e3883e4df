"""The free reader a user tries first (ddddocr, no label of the site), scored like the course's readers."""

from __future__ import annotations

import sys
from pathlib import Path

import numpy as np
import pytest

from helpers.baselines import BaselineMissing, DdddocrReader, baseline_reader, fold_case
from helpers.benchmark import parse_models, run_benchmark
from helpers.captcha_files import save_captchas
from helpers.captchas import generate_captchas
from helpers.cli import main


class Spelled:
    """A stand-in for ddddocr's model: its charset, and per-step probabilities that spell what it is given."""

    CHARSET = ["", "中", "a", "A", "b", "B", "3"]

    def __init__(self, steps: list[dict[str, float]]) -> None:
        self.steps = steps

    def get_charset(self) -> list[str]:
        return self.CHARSET

    def classification(self, image, probability: bool = False) -> dict:
        rows = np.full((len(self.steps), len(self.CHARSET)), 0.01)
        for row, step in zip(rows, self.steps):
            for char, p in step.items():
                row[self.CHARSET.index(char)] = p
        return {"probabilities": (rows / rows.sum(axis=1, keepdims=True))[:, None, :].tolist()}


def test_fold_case_finds_one_case_or_none() -> None:
    assert fold_case(["ab3", "b2"]) == "lower" and fold_case(["AB3"]) == "upper"
    assert fold_case(["aB"]) is None and fold_case(["123"]) is None


def test_answers_keep_to_the_alphabet_and_the_labels_case() -> None:
    # the model's likeliest characters: 中 (never in a site's alphabet), then A, A again, the blank, A, B
    steps = [{"中": 0.9, "a": 0.05}, {"A": 0.8}, {"A": 0.9}, {"": 0.9}, {"A": 0.7}, {"B": 0.6, "3": 0.3}]
    lower = DdddocrReader("ddddocr", Spelled(steps), {"alphabet": "3ab", "case": "lower"})
    (solution,) = lower.read([np.zeros((10, 20), np.uint8)])
    assert solution.ok and solution.text == "aaab"  # 中 gives way to a; A and B folded to lower case
    assert len(solution.confidence) == 4 and all(0 < c <= 1 for c in solution.confidence)
    mixed = DdddocrReader("ddddocr", Spelled(steps), {"alphabet": "3AB", "case": None})
    assert mixed.read([np.zeros((10, 20), np.uint8)])[0].text == "AAB"  # 'a' of step 0 is not in this alphabet
    assert not mixed.read([np.zeros((0, 20), np.uint8)])[0].ok  # not an image: no answer, no crash


def test_a_missing_package_names_the_extra(monkeypatch: pytest.MonkeyPatch, tmp_path: Path,
                                           capsys: pytest.CaptureFixture[str]) -> None:
    monkeypatch.setitem(sys.modules, "ddddocr", None)  # as if it were not installed
    with pytest.raises(BaselineMissing, match=r"learning-captchas\[baselines\]"):
        baseline_reader("ddddocr", ["AB12"])
    save_captchas(generate_captchas(20, "easy", seed=3), tmp_path / "set")
    assert main(["benchmark", "--data", str(tmp_path / "set"), "--models", "ddddocr", "--quiet"]) == 2
    assert "pip install 'learning-captchas[baselines]'" in capsys.readouterr().err
    assert parse_models("ddddocr,ctc") == ["ddddocr", "ctc"] and "ddddocr" not in parse_models("all")


def test_ddddocr_reads_the_course_captchas_with_no_label(tmp_path: Path) -> None:
    captchas = generate_captchas(30, "easy", seed=5)
    save_captchas(captchas, tmp_path / "set")
    reader = baseline_reader("ddddocr", [c.label for c in captchas])
    texts = [s.text for s in reader.read([c.image for c in captchas[:10]])]
    assert sum(t == c.label for t, c in zip(texts, captchas)) >= 8  # it read 99 % of 200 easy ones
    result = run_benchmark(tmp_path / "set", ["ddddocr"], seed=0)
    scores = result["models"]["ddddocr"]
    assert scores["train_seconds"] == 0.0 and scores["captcha_accuracy"] >= 0.5
