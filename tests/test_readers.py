"""Your own captchas, kept: captcha-lab train → solve → evaluate, reader files and their refusals.

The networks train for one or two epochs on small generated sets: these tests check that
the path works end to end and that every refusal is clear, not how well a model reads.
"""

from __future__ import annotations

import json
import subprocess
import sys
import zipfile
from pathlib import Path

import numpy as np
import pytest

from helpers.captcha_files import load_captchas, save_captchas
from helpers.captchas import generate_captchas
from helpers.cli import main
from helpers.models import ModelFileError
from helpers.readers import FORMAT_VERSION, MANIFEST, CtcReader, LetterReader, Reader, load_reader, save_reader


@pytest.mark.parametrize("kind", ["rf", "cnn", "cnn-original", "ctc"])
def test_train_solve_evaluate_round_trip(kind: str, trained: dict[str, Path], folders: dict[str, Path],
                                         tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    reader = load_reader(trained[kind])
    assert reader.kind == kind
    info = reader.info
    assert info["kind"] == kind and info["lengths"] == [4] and info["course_version"]
    assert info["data"] == {"folder": "train", "captchas": 160, "train": 144, "validation": 16, "skipped": 0,
                            "seed": 0}
    assert info["validation"]["captchas"] == 16 and 0 <= info["validation"]["exact"] <= 1
    assert set(reader.alphabet) >= set("".join(load_captchas(folders["train"]).labels))

    fresh = load_captchas(folders["fresh"])
    expected = [s.text if s.ok else None for s in reader.read(fresh.images)]
    capsys.readouterr()
    code = main(["solve", str(folders["fresh"]), "--model", str(trained[kind])])
    lines = capsys.readouterr().out.strip().splitlines()
    assert len(lines) == len(fresh)
    for line, path, text in zip(lines, fresh.paths, expected):
        name, answer = line.split("\t")
        assert name == str(path)
        assert answer == text if text is not None else answer.startswith("(not solved")
    assert code == (0 if all(t is not None for t in expected) else 1)

    scores_file = tmp_path / "scores.json"
    assert main(["evaluate", "--model", str(trained[kind]), "--data", str(folders["fresh"]),
                 "--json", str(scores_file), "--gallery", "--quiet"]) == 0
    out = capsys.readouterr().out
    assert "captchas:" in out and "% exact" in out and "captchas/s" in out
    result = json.loads(scores_file.read_text())
    scores = result["scores"]
    right = sum(t == label for t, label in zip(expected, fresh.labels))
    assert scores["exact"] == round(right / len(fresh), 4)
    assert scores["exact_interval_95"][0] <= scores["exact"] <= scores["exact_interval_95"][1]
    assert abs(sum(scores["errors"].values()) - 1) < 1e-3
    assert scores["captchas_per_second"] > 0 and scores["first_call_seconds"] > 0
    assert result["model"]["validation"] == info["validation"]
    assert scores_file.with_suffix(".png").stat().st_size > 1000


def test_a_reader_is_a_letter_reader_or_a_ctc_reader_by_its_kind(trained: dict[str, Path]) -> None:
    """What differs between the kinds is in two classes: whether a reader cuts letters, and its network."""
    letters, whole, forest = load_reader(trained["cnn"]), load_reader(trained["ctc"]), load_reader(trained["rf"])
    assert isinstance(letters, LetterReader) and letters.cuts_letters and letters.network is letters.model.model
    assert isinstance(whole, CtcReader) and not whole.cuts_letters and whole.network is whole.model
    assert isinstance(forest, LetterReader) and forest.network is None
    assert type(Reader("ctc", whole.model)) is CtcReader and type(Reader(kind="rf", model=None)) is LetterReader
    assert Reader("ctc", whole.model) == Reader("ctc", whole.model) != Reader("cnn", whole.model)


def test_the_forest_reads_fresh_captchas_well(trained: dict[str, Path], folders: dict[str, Path]) -> None:
    """Not just a round trip: a forest trained on 144 easy captchas reads most fresh ones."""
    fresh = load_captchas(folders["fresh"])
    texts = [s.text for s in load_reader(trained["rf"]).read(fresh.images)]
    assert np.mean([t == label for t, label in zip(texts, fresh.labels)]) >= 0.8


def test_json_output_and_min_confidence(trained: dict[str, Path], folders: dict[str, Path],
                                        capsys: pytest.CaptureFixture[str]) -> None:
    images = sorted(folders["fresh"].glob("*.png"))[:6]
    assert main(["solve", *map(str, images), "--model", str(trained["rf"]), "--json"]) in (0, 1)
    answers = [json.loads(line) for line in capsys.readouterr().out.strip().splitlines()]
    assert [a["path"] for a in answers] == list(map(str, images))
    for a in answers:
        assert set(a) == {"path", "text", "confidence", "ok", "reason", "polarity", "chance_right"}  # calibrated
        if a["ok"]:
            assert len(a["confidence"]) == len(a["text"]) == 4 and all(0 <= c <= 1 for c in a["confidence"])
    lowest = min(min(a["confidence"]) for a in answers if a["ok"])
    # above the lowest confidence, that captcha is answered "not sure" (and the exit status says so)
    assert main(["solve", *map(str, images), "--model", str(trained["rf"]), "--min-confidence",
                 f"{lowest + 1e-3:.4f}"]) == 1
    out = capsys.readouterr().out
    assert "(not sure: lowest character confidence" in out
    assert main(["solve", *map(str, images), "--model", str(trained["rf"]), "--min-confidence", "1.5"]) == 2
    assert "--min-confidence must be between 0 and 1" in capsys.readouterr().err


def test_letter_models_let_segmentation_count_the_letters_of_mixed_lengths(
        folders: dict[str, Path], tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    path = tmp_path / "rf.model"
    assert main(["train", "--data", str(folders["mixed"]), "--model", "rf", "--out", str(path)]) == 0
    err = capsys.readouterr().err
    assert "labels of 4, 6 characters" in err and "--model ctc" in err
    reader = load_reader(path)
    assert reader.lengths == [4, 6]
    data = load_captchas(folders["mixed"])
    solutions = reader.read(data.images)
    assert np.mean([s.ok and len(s.text) == len(label) for s, label in zip(solutions, data.labels)]) >= 0.9
    assert {len(s.text) for s in solutions if s.ok} == {4, 6}
    # a length given when reading overrides the trained ones
    assert all(len(s.text) == 4 for s in reader.read(data.images[:5], length=4) if s.ok)


def test_ctc_reads_mixed_lengths_trained_from_a_terminal(folders: dict[str, Path], tmp_path: Path,
                                                         capsys: pytest.CaptureFixture[str],
                                                         monkeypatch: pytest.MonkeyPatch) -> None:
    import helpers.ctc

    monkeypatch.setattr(helpers.ctc, "ctc_epochs", lambda n_train: 1)  # the benchmark's CTC: one epoch
    path = tmp_path / "mixed.model"
    # Trained in a process of its own, as from a terminal: TensorFlow's C++ core writes straight to
    # the terminal there, and the command keeps those lines out.
    done = subprocess.run([sys.executable, "-m", "helpers.cli", "train", "--data", str(folders["mixed"]),
                           "--model", "ctc", "--out", str(path), "--epochs", "1", "--from-scratch"],
                          capture_output=True, text=True, check=False)
    assert done.returncode == 0, done.stderr
    assert "NodeDef" not in done.stderr and "E0000" not in done.stderr and "Warning" not in done.stderr
    assert "epoch 1/1: loss" in done.stderr and "validation:" in done.stdout
    reader = load_reader(path)
    assert reader.lengths == [4, 6] and reader.info["input"]["width"] is None
    assert main(["evaluate", "--model", str(path), "--data", str(folders["mixed"]), "--quiet"]) == 0
    capsys.readouterr()
    result_file = tmp_path / "b.json"
    assert main(["benchmark", "--data", str(folders["mixed"]), "--models", "ctc", "--save-models",
                 str(tmp_path / "kept"), "--json", str(result_file), "--quiet"]) == 0
    assert json.loads(result_file.read_text())["dataset"]["length"] == [4, 6]
    kept = load_reader(tmp_path / "kept" / "ctc.model")
    assert kept.kind == "ctc" and kept.info["data"]["test"] == 16


def test_a_captcha_reads_the_same_alone_or_in_a_batch(trained: dict[str, Path], folders: dict[str, Path]) -> None:
    """A model of any width pads a captcha only by its own width, never to its neighbours'."""
    reader = load_reader(trained["ctc"])
    images = load_captchas(folders["mixed"]).images[::10]
    together = reader.read(images)
    for image, solution in zip(images, together):
        (alone,) = reader.read([image])
        assert alone.text == solution.text
        np.testing.assert_allclose(alone.confidence, solution.confidence, atol=1e-5)


def test_benchmark_save_models_keeps_readers_that_solve(
        folders: dict[str, Path], tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    kept = tmp_path / "kept"
    assert main(["benchmark", "--data", str(folders["train"]), "--models", "rf", "--save-models", str(kept),
                 "--quiet"]) == 0
    reader = load_reader(kept / "rf.model")
    assert reader.kind == "rf" and reader.info["data"]["captchas"] == 160
    # kept files are not replaced without --overwrite, and that is said before any training
    assert main(["benchmark", "--data", str(folders["train"]), "--models", "rf", "--save-models", str(kept)]) == 2
    assert "already exists" in capsys.readouterr().err


def test_chapter_5s_ctc_file_solves_from_the_command_line(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """A fixed-width reader saved with ctc.save_crnn (as chapter 5 does) gives the notebook's answers."""
    from helpers import ctc
    from helpers.models import seed_everything

    seed_everything(3)
    model = ctc.build_crnn(32, 88, 4, alphabet="ABCD", augment=False)
    path = ctc.save_crnn(model, tmp_path / "ctc.keras")
    made = generate_captchas(6, "easy", seed=35, alphabet="ABCD", size=(120, 45))
    files = save_captchas(made, tmp_path / "caps")
    notebook_answers = ctc.predict_labels(model, [c.image for c in made])
    reader = load_reader(path)
    assert reader.kind == "ctc" and reader.info["saved_by"] == "a notebook"
    main(["solve", *map(str, files), "--model", str(path), "--json"])
    answers = [json.loads(line) for line in capsys.readouterr().out.strip().splitlines()]
    assert [a["text"] for a in answers] == notebook_answers


def test_greedy_readings_agree_with_decode_predictions() -> None:
    from helpers import ctc

    codec = ctc.CharCodec("ABC")
    probs = np.random.default_rng(0).dirichlet(np.ones(4) * 0.3, size=(20, 12)).astype(np.float32)
    readings = ctc.greedy_readings(probs, codec)
    assert [text for text, _ in readings] == ctc.decode_predictions(probs, codec)
    for (text, confidence), p in zip(readings, probs):
        assert confidence.shape == (len(text),) and np.all(confidence <= p.max(axis=1).max() + 1e-6)


# --------------------------------------------------------------------------- refusals


def test_train_refuses_bad_requests_before_any_work(
        folders: dict[str, Path], trained: dict[str, Path], tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["train", "--data", str(tmp_path / "missing"), "--model", "rf", "--out", str(tmp_path / "a.model")]) == 2
    assert "does not exist" in capsys.readouterr().err
    with pytest.raises(SystemExit) as exc:
        main(["train", "--data", str(folders["train"]), "--model", "magic", "--out", str(tmp_path / "a.model")])
    assert exc.value.code == 2
    assert "invalid choice: 'magic'" in capsys.readouterr().err
    before = trained["rf"].read_bytes()
    assert main(["train", "--data", str(folders["train"]), "--model", "rf", "--out", str(trained["rf"])]) == 2
    assert "already exists" in capsys.readouterr().err and trained["rf"].read_bytes() == before
    assert main(["train", "--data", str(folders["train"]), "--model", "rf", "--out", str(tmp_path / "x.keras")]) == 2
    assert "not a plain .keras file" in capsys.readouterr().err
    assert main(["train", "--data", str(folders["train"]), "--model", "rf", "--out",
                 str(tmp_path / "no" / "x.model")]) == 2
    assert "does not exist; create it first" in capsys.readouterr().err


def _rewrite_manifest(source: Path, target: Path, **changes) -> Path:
    with zipfile.ZipFile(source) as old, zipfile.ZipFile(target, "w") as new:
        for item in old.infolist():
            data = old.read(item.filename)
            if item.filename == MANIFEST:
                data = json.dumps({**json.loads(data), **changes}).encode()
            new.writestr(item, data)
    return target


@pytest.mark.parametrize("damage, message", [
    ("truncated", "could not load"),
    ("zero-bytes", "not a model file"),
    ("text", "not a model file"),
    ("newer-version", "newer version of the course"),
    ("unknown-kind", "unknown kind"),
    ("foreign-zip", "not a model file of this course"),
    ("other-alphabet", "the file is damaged"),
])
def test_damaged_or_foreign_reader_files_give_exit_2(damage: str, message: str, trained: dict[str, Path],
                                                     folders: dict[str, Path], tmp_path: Path,
                                                     capsys: pytest.CaptureFixture[str]) -> None:
    path = tmp_path / "r.model"
    good = trained["rf"]
    if damage == "truncated":
        path.write_bytes(good.read_bytes()[: good.stat().st_size // 2])
    elif damage == "zero-bytes":
        path.write_bytes(b"")
    elif damage == "text":
        path.write_text("hello")
    elif damage == "newer-version":
        _rewrite_manifest(good, path, format_version=FORMAT_VERSION + 1)
    elif damage == "unknown-kind":
        _rewrite_manifest(good, path, kind="transformer")
    elif damage == "foreign-zip":
        with zipfile.ZipFile(path, "w") as archive:
            archive.writestr("notes.txt", "not a model")
    elif damage == "other-alphabet":
        _rewrite_manifest(good, path, alphabet="abc")
    with pytest.raises(ModelFileError, match=message):
        load_reader(path)
    image = next(folders["fresh"].glob("*.png"))
    for argv in (["solve", str(image), "--model", str(path)],
                 ["evaluate", "--model", str(path), "--data", str(folders["fresh"])]):
        assert main(argv) == 2
        err = capsys.readouterr().err
        assert err.startswith(f"captcha-lab {argv[0]}: error: ") and message in err and "Traceback" not in err


def test_a_reader_of_another_kind_is_refused(trained: dict[str, Path]) -> None:
    with pytest.raises(ModelFileError, match="holds a rf model, not a ctc model"):
        load_reader(trained["rf"], kind="ctc")


def test_evaluate_refuses_captchas_with_characters_the_model_never_learned(
        trained: dict[str, Path], tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    save_captchas(generate_captchas(5, "easy", seed=36, alphabet="abcdefgh", size=(120, 45)), tmp_path / "lower")
    assert main(["evaluate", "--model", str(trained["cnn"]), "--data", str(tmp_path / "lower")]) == 2
    assert "which this model never learned" in capsys.readouterr().err


def test_an_interrupted_save_leaves_no_file(trained: dict[str, Path], tmp_path: Path,
                                            monkeypatch: pytest.MonkeyPatch) -> None:
    reader = load_reader(trained["rf"])
    target = tmp_path / "kept.model"

    def interrupted(*args, **kwargs):
        raise KeyboardInterrupt

    monkeypatch.setattr(zipfile.ZipFile, "write", interrupted)
    with pytest.raises(KeyboardInterrupt):
        save_reader(reader, target)
    assert list(tmp_path.iterdir()) == []


def test_reader_kinds_are_checked_when_saving(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="unknown reader kind"):
        save_reader(Reader("magic", None), tmp_path / "x.model")


def test_a_reader_of_any_width_keeps_every_step_of_the_padding_it_was_trained_with() -> None:
    """Training and reading pad each captcha alike (to a multiple of WIDTH_QUANTUM px), and the
    reader keeps all the time steps of that padded width: a last character written in the
    padding must not be cut off."""
    from helpers import ctc

    model = ctc.build_crnn(32, None, 3, alphabet="ABC", step_width=4, augment=False)
    image = np.full((60, 160), 255, np.uint8)  # 85 px wide at 32 px high -> padded to 96 px
    assert ctc.kept_width(image.shape, 32, 4) == 85
    probs = ctc.predict_probabilities(model, [image, np.full((60, 400), 255, np.uint8)])
    assert probs.shape == (2, 224 // 4, 4)  # the wider captcha: 213 px at 32 high, padded to 224 px
    assert np.all(probs[0, 96 // 4:, 0] == 1.0)  # past its own padded width: blank
    assert not np.all(probs[0, 85 // 4:96 // 4, 0] == 1.0)  # its padding steps are the model's own output
