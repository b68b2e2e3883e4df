"""captcha-lab benchmark and solve on small generated folders, in both label formats."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from helpers.benchmark import learning_curve, parse_models, run_benchmark
from helpers.captcha_files import save_captchas
from helpers.captchas import CaptchaDataError, generate_captchas
from helpers.cli import main
from helpers.models import save_classifier
from helpers.training import train_forest


@pytest.fixture(scope="module")
def png_folder(tmp_path_factory: pytest.TempPathFactory) -> Path:
    folder = tmp_path_factory.mktemp("png")
    save_captchas(generate_captchas(300, "easy", seed=21, size=(120, 45)), folder)
    return folder


@pytest.fixture(scope="module")
def sidecar_folder(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The original course's format: numbered JPGs with the label in a .txt file beside each."""
    folder = tmp_path_factory.mktemp("jpg")
    for k, captcha in enumerate(generate_captchas(300, "easy", seed=22)):
        Image.fromarray(captcha.image).save(folder / f"{k:04d}.jpg", quality=90)
        (folder / f"{k:04d}.txt").write_text(captcha.label + "\n")
    return folder


EXPECTED_MODEL_KEYS = {"letter_accuracy", "captcha_accuracy", "segmentation_failure_rate", "train_seconds",
                       "solve_per_second", "first_call_seconds"}


def test_benchmark_json_shape(png_folder: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                              step_traces) -> None:
    import helpers.training

    monkeypatch.setattr(helpers.training, "_epochs", lambda *args, **kwargs: 1)  # the shape, not the scores
    out = tmp_path / "result.json"
    assert main(["benchmark", "--data", str(png_folder), "--models", "rf,cnn,cnn-original", "--json", str(out),
                 "--quiet"]) == 0
    result = json.loads(out.read_text())
    assert set(result) == {"dataset", "models"}
    assert set(result["dataset"]) == {"path", "captchas", "alphabet", "length", "train", "test", "skipped"}
    assert result["dataset"]["captchas"] == 300 and result["dataset"]["length"] == 4
    assert result["dataset"]["train"] + result["dataset"]["test"] == 300
    assert set(result["models"]) == {"rf", "cnn", "cnn-original"}
    assert step_traces == [1, 1]  # each CNN's training step traced once
    for scores in result["models"].values():
        assert set(scores) == EXPECTED_MODEL_KEYS
        assert 0 <= scores["captcha_accuracy"] <= scores["letter_accuracy"] <= 1
    assert result["models"]["rf"]["captcha_accuracy"] >= 0.4
    # an existing JSON file is not replaced without --overwrite
    assert main(["benchmark", "--data", str(png_folder), "--models", "rf", "--json", str(out), "--quiet"]) == 2


def test_benchmark_reads_the_sidecar_format(sidecar_folder: Path) -> None:
    result = run_benchmark(sidecar_folder, ["rf"], seed=1)
    assert result["dataset"]["captchas"] == 300
    assert result["models"]["rf"]["captcha_accuracy"] >= 0.4
    assert result["models"]["rf"]["segmentation_failure_rate"] <= 0.05


def test_benchmark_rejects_bad_requests(png_folder: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(CaptchaDataError, match="choose from"):
        parse_models("rf,magic")
    assert parse_models("all") == ["rf", "cnn", "cnn-original", "ctc"]
    assert main(["benchmark", "--data", str(tmp_path / "missing"), "--models", "rf"]) == 2
    assert "missing" in capsys.readouterr().err
    with pytest.raises(CaptchaDataError, match=r"test fraction must be between .* \(test_fraction\)"):
        run_benchmark(png_folder, ["rf"], test_fraction=0.9)
    assert main(["benchmark", "--data", str(png_folder), "--models", "ctc", "--epochs", "0"]) == 2
    assert "--epochs" in capsys.readouterr().err


def test_solve_prints_path_and_label(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    from helpers.datasets import extract_letters

    made = generate_captchas(200, "easy", seed=23)
    letters, _ = extract_letters([c.image for c in made], [c.label for c in made])
    model_path = save_classifier(train_forest(letters, seed=0, trees=60), tmp_path / "forest.skops")
    unseen = generate_captchas(4, "easy", seed=24)
    paths = save_captchas(unseen, tmp_path / "caps")
    broken = tmp_path / "broken.png"
    broken.write_bytes(b"\x89PNG not really")
    code = main(["solve", *map(str, paths), str(broken), "--model", str(model_path)])
    lines = capsys.readouterr().out.strip().splitlines()
    assert code == 1  # one image could not be read
    assert len(lines) == 5
    right = sum(line == f"{p}\t{c.label}" for line, p, c in zip(lines, paths, unseen))
    assert right >= 3
    assert lines[-1].startswith(f"{broken}\t(unreadable")


def test_solve_with_a_missing_model(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["solve", "x.png", "--model", str(tmp_path / "none.keras")]) == 2
    assert "does not exist" in capsys.readouterr().err


def test_benchmark_ctc_reports_the_same_fields(png_folder: Path, tmp_path: Path) -> None:
    """The CTC reader runs through the same benchmark; --epochs caps its training (one epoch here)."""
    from helpers.readers import load_reader

    out = tmp_path / "result.json"
    assert main(["benchmark", "--data", str(png_folder), "--models", "ctc", "--epochs", "1", "--json", str(out),
                 "--save-models", str(tmp_path / "kept"), "--quiet"]) == 0
    scores = json.loads(out.read_text())["models"]["ctc"]
    assert set(scores) == EXPECTED_MODEL_KEYS
    assert scores["segmentation_failure_rate"] == 0.0
    assert 0 <= scores["captcha_accuracy"] <= scores["letter_accuracy"] <= 1
    assert load_reader(tmp_path / "kept" / "ctc.model").info["training"]["epochs"] == 1


def test_ctc_alone_needs_no_segmentation(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Blank images cannot be cut into letters: the letter models refuse, the CTC reader still runs."""
    from helpers import ctc

    for k in range(30):
        Image.new("L", (120, 40), 255).save(tmp_path / f"AB{k % 10}{k // 10}.png")
    with pytest.raises(CaptchaDataError, match="could be cut into letters.*a CTC reader"):
        run_benchmark(tmp_path, ["rf"], seed=0)
    real = ctc.train_crnn
    monkeypatch.setattr(ctc, "train_crnn", lambda *a, **k: real(*a, **{**k, "epochs": 1}))
    result = run_benchmark(tmp_path, ["ctc"], seed=0)
    assert result["dataset"]["captchas"] == 30
    assert result["models"]["ctc"]["segmentation_failure_rate"] == 0.0


def test_benchmark_guided_scores_each_letter_model_twice_with_the_same_training(png_folder: Path) -> None:
    result = run_benchmark(png_folder, ["rf"], seed=0, guided=True)
    plain, guided = result["models"]["rf"], result["models"]["rf+guided"]
    assert set(guided) == EXPECTED_MODEL_KEYS and guided["train_seconds"] == plain["train_seconds"]
    # easy captchas, letters apart: guided cutting has nothing to move, and the score stays
    assert guided["captcha_accuracy"] == plain["captcha_accuracy"]


def test_learning_curve_refuses_a_grid_it_cannot_draw() -> None:
    pool = ([np.zeros((20, 60), np.uint8)] * 30, ["AB"] * 30)
    with pytest.raises(ValueError, match="between 10 and the 30"):
        learning_curve(pool, pool, [10, 40], init=None, seed=0)
    with pytest.raises(ValueError, match="unknown methods"):
        learning_curve(pool, pool, [10], init=None, seed=0, methods=["scratch", "magic"])
