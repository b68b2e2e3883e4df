"""How far to trust an answer: calibration error, risk and coverage, Platt scaling; calibrate, solve and evaluate."""

from __future__ import annotations

import json
import zipfile
from pathlib import Path

import numpy as np
import pytest

from helpers.calibration import (
    Calibration, answer_confidence, calibration_of, expected_calibration_error, fit_calibration, risk_coverage,
)
from helpers.cli import main
from helpers.readers import load_reader, save_reader
from helpers.solver import Solution


def _answers(n: int, seed: int, slope: float = 2.0, intercept: float = -1.0) -> tuple[np.ndarray, np.ndarray]:
    """(n,) raw confidences and (n,) bools drawn so that the chance of being right is
    sigmoid(slope * log-odds(confidence) + intercept): an overconfident reader when slope < 1."""
    rng = np.random.default_rng(seed)
    confidence = rng.beta(5, 1.5, n)
    z = slope * np.log(confidence / (1 - confidence)) + intercept
    return confidence, rng.random(n) < 1 / (1 + np.exp(-z))


def test_the_calibration_error_is_the_weighted_gap_between_confidence_and_share_right() -> None:
    # bin 0.9-1.0: four answers at 0.95, two right (gap 0.45); bin 0.5-0.6: one at 0.5, right (gap 0.5)
    confidence = np.array([0.95, 0.95, 0.95, 0.95, 0.5])
    right = np.array([True, True, False, False, True])
    assert expected_calibration_error(confidence, right) == pytest.approx(0.8 * 0.45 + 0.2 * 0.5)
    assert expected_calibration_error(np.array([1.0, 0.0]), np.array([True, False])) == 0.0
    with pytest.raises(ValueError, match="one confidence per answer"):
        expected_calibration_error(np.ones(3), np.ones(2, bool))


def test_risk_coverage_answers_the_surest_first() -> None:
    confidence = np.array([0.2, 0.9, 0.8, 0.7, 0.6])
    right = np.array([False, True, True, False, True])
    rows = risk_coverage(confidence, right, coverages=(1.0, 0.6, 0.4))
    assert [row["coverage"] for row in rows] == [1.0, 0.6, 0.4]
    assert [row["error"] for row in rows] == pytest.approx([2 / 5, 1 / 3, 0.0])
    assert [row["threshold"] for row in rows] == [0.2, 0.7, 0.8]


def test_platt_scaling_learns_the_map_and_closes_the_gap() -> None:
    confidence, right = _answers(4000, seed=0, slope=0.5, intercept=-0.5)
    calibration = fit_calibration(confidence, right)
    assert calibration.slope == pytest.approx(0.5, abs=0.1) and calibration.intercept == pytest.approx(-0.5, abs=0.15)
    fresh, fresh_right = _answers(4000, seed=1, slope=0.5, intercept=-0.5)
    before = expected_calibration_error(fresh, fresh_right)
    after = expected_calibration_error(calibration.probability(fresh), fresh_right)
    assert before > 0.1 and after < 0.03


def test_a_few_captchas_or_no_mistake_give_a_cautious_map() -> None:
    calibration = fit_calibration(np.full(20, 0.99), np.ones(20, bool))  # 20 right answers, none wrong
    chance = float(calibration.probability(np.array([0.99]))[0])
    assert 0.9 < chance < 0.99  # Platt's target for them: 21/22
    assert chance < calibration.threshold(0.01)  # 20 captchas cannot show an error under 1 %: none is answered
    assert chance >= calibration.threshold(0.05)


def test_the_threshold_keeps_the_expected_error_of_what_it_answers() -> None:
    confidence, right = _answers(300, seed=2)
    calibration = fit_calibration(confidence, right)
    seen = calibration.probability(np.asarray(calibration.seen))
    thresholds = [calibration.threshold(e) for e in (0.01, 0.05, 0.1, 0.2)]
    assert thresholds == sorted(thresholds, reverse=True)  # tolerating more answers more
    for e, t in zip((0.01, 0.05, 0.1, 0.2), thresholds):
        answered = seen[seen >= t]
        assert len(answered) == 0 or np.mean(1 - answered) <= e + 1e-9
    with pytest.raises(ValueError, match="between 0 and 1"):
        calibration.threshold(1.5)
    again = Calibration.from_info(json.loads(json.dumps(calibration.to_info())))
    assert np.allclose(again.probability(confidence), calibration.probability(confidence), atol=1e-5)


def test_an_answer_of_a_length_never_learned_gets_no_confidence() -> None:
    sure = Solution("ab3", np.array([0.99, 0.97, 0.98], np.float32), np.zeros((0, 4), np.int32), ok=True)
    assert answer_confidence(sure) == pytest.approx(0.97)
    assert answer_confidence(sure, lengths=[3]) == pytest.approx(0.97)
    assert answer_confidence(sure, lengths=[4, 5]) == 0.0


def test_train_calibrates_and_solve_answers_only_what_it_is_sure_of(
        trained: dict[str, Path], folders: dict[str, Path], tmp_path: Path,
        capsys: pytest.CaptureFixture[str]) -> None:
    with zipfile.ZipFile(trained["rf"]) as archive:
        kept = json.loads(archive.read("reader.json"))["calibration"]
    assert kept["method"] == "platt" and kept["captchas"] == len(kept["seen"]) > 0
    calibrated = tmp_path / "calibrated.model"
    assert main(["calibrate", "--model", str(trained["rf"]), "--data", str(folders["fresh"]),
                 "--out", str(calibrated), "--quiet"]) == 0
    assert "calibrated on 40 captchas" in capsys.readouterr().out
    calibration = calibration_of(load_reader(calibrated))
    answered = []
    for max_error in (0.5, 0.2, 0.01):
        main(["solve", "--model", str(calibrated), str(folders["fresh"]), "--json", "--max-error", str(max_error)])
        answers = [json.loads(line) for line in capsys.readouterr().out.splitlines()]
        threshold = calibration.threshold(max_error)
        assert len(answers) == 40 and all(0 <= a["chance_right"] <= 1 for a in answers)
        assert all(a["chance_right"] >= threshold for a in answers if a["ok"])
        assert all(a["chance_right"] < threshold and a["text"] for a in answers if a["reason"].startswith("not sure"))
        answered.append(sum(a["ok"] for a in answers))
    assert answered == sorted(answered, reverse=True) and answered[0] > 0  # a stricter error answers fewer
    assert main(["evaluate", "--model", str(calibrated), "--data", str(folders["fresh"]), "--max-error", "0.05",
                 "--json", str(tmp_path / "scores.json")]) == 0
    out = capsys.readouterr().out
    assert "expected calibration error" in out and "calibrated (on 40 captchas)" in out and "--max-error 0.05" in out
    scores = json.loads((tmp_path / "scores.json").read_text())["scores"]["confidence"]
    assert {"ece_raw", "ece_calibrated", "risk_coverage", "answered", "error_among_answered"} <= set(scores)


def test_calibration_refuses_what_it_cannot_use(trained: dict[str, Path], folders: dict[str, Path],
                                                tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["solve", "--model", str(trained["rf"]), str(folders["fresh"]), "--max-error", "2"]) == 2
    assert "--max-error must be between 0 and 1" in capsys.readouterr().err
    assert main(["solve", "--model", str(trained["rf"]), str(folders["fresh"]), "--max-error", "0.1",
                 "--min-confidence", "0.5"]) == 2
    assert "not both" in capsys.readouterr().err
    assert main(["calibrate", "--model", str(trained["rf"]), "--data", str(folders["fresh"]),
                 "--out", str(tmp_path / "x.json")]) == 2
    assert "--out" in capsys.readouterr().err
    assert main(["calibrate", "--model", str(trained["rf"]), "--data", str(tmp_path / "missing"),
                 "--out", str(tmp_path / "x.model")]) == 2
    assert not (tmp_path / "x.model").exists()
    plain = load_reader(trained["rf"])
    plain.info.pop("calibration")
    save_reader(plain, tmp_path / "plain.model")
    assert main(["solve", "--model", str(tmp_path / "plain.model"), str(folders["fresh"]), "--max-error", "0.1"]) == 2
    assert "keeps no calibration" in capsys.readouterr().err
    with pytest.raises(SystemExit):
        main(["calibrate", "--help"])
    assert "Platt scaling" in capsys.readouterr().out
