"""Robustness: what happens when users bring bad folders, odd files, wrong labels or broken models.

One section per row of the robustness table (data folder, image files, labels, output
folders, interruptions, model files, segmentation at solve time), mostly from the
``captcha-lab`` command-line angle, then property-based tests with hypothesis.

Errors the loaders may raise on any file content (property tests below): only
``CaptchaDataError``. ``segment`` and ``solve`` never raise on numeric arrays.
"""

from __future__ import annotations

import hashlib
import io
import json
import os
import re
import struct
from datetime import datetime, timezone
from pathlib import Path

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp
from PIL import Image

from helpers.captcha_files import MANIFEST_NAME, load_captchas, read_image, save_captchas, to_gray
from helpers.captchas import Captcha, CaptchaDataError, generate_captchas, make_captcha
from helpers.cli import main
from helpers.models import (
    LetterClassifier, ModelFileError, as_features, load_classifier, save_classifier,
)
from helpers.reader import Reader
from helpers.runs import INCOMPLETE_SUFFIX
from helpers.segmentation import segment
from helpers.solver import solve

LETTER = 16  # small letters keep the forest tiny and fast


def examples(n: int) -> settings:
    """Hypothesis settings for this file: ``n`` examples, no deadline (the CPU is shared), no database."""
    return settings(max_examples=n, deadline=None, database=None,
                    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])


# --------------------------------------------------------------------------- helpers and fixtures


def tree_hashes(folder: Path) -> dict[str, str]:
    """Relative path -> sha256 (files) or "<dir>" for everything under ``folder``, hidden files included."""
    out = {}
    for p in sorted(folder.rglob("*")):
        rel = str(p.relative_to(folder))
        out[rel] = "<dir>" if p.is_dir() else hashlib.sha256(p.read_bytes()).hexdigest()
    return out


def encode(image: Image.Image, fmt: str, **options) -> bytes:
    buffer = io.BytesIO()
    image.save(buffer, format=fmt, **options)
    return buffer.getvalue()


@pytest.fixture(scope="module")
def forest() -> LetterClassifier:
    """A small forest that reads easy captchas at the default size (16x16 letters)."""
    from sklearn.ensemble import RandomForestClassifier

    from helpers.datasets import extract_letters

    made = generate_captchas(40, "easy", seed=11)
    letters, _ = extract_letters([c.image for c in made], [c.label for c in made], size=LETTER)
    model = RandomForestClassifier(n_estimators=15, random_state=0).fit(as_features(letters.images), letters.labels)
    return LetterClassifier("forest", model, tuple(str(c) for c in model.classes_), letter_size=LETTER)


@pytest.fixture(scope="module")
def model_path(forest: LetterClassifier, tmp_path_factory: pytest.TempPathFactory) -> Path:
    return save_classifier(forest, tmp_path_factory.mktemp("model") / "forest.skops")


@pytest.fixture(scope="module")
def unseen() -> list[Captcha]:
    """Easy captchas the forest never saw, at the default size."""
    return generate_captchas(4, "easy", seed=99)


@pytest.fixture(scope="module")
def good_folder(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """24 easy captchas, enough for ``benchmark`` (which needs 20)."""
    folder = tmp_path_factory.mktemp("good")
    save_captchas(generate_captchas(24, "easy", seed=5), folder)
    return folder


@pytest.fixture
def fast_training(monkeypatch: pytest.MonkeyPatch, forest: LetterClassifier) -> None:
    """Make ``benchmark`` use the fixture forest instead of training a model."""
    import helpers.training

    monkeypatch.setattr(helpers.training, "train_named", lambda name, *a, **k: (forest, 0.0))


# --------------------------------------------------------------------------- row: missing/empty data folder, non-images


@pytest.mark.parametrize("case", ["missing", "empty", "non-images", "a-file"])
def test_data_folder_missing_empty_or_without_images_is_named_by_benchmark(
        case: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    folder = tmp_path / "my captchas"
    expected = {
        "missing": "does not exist",
        "empty": "expected files ending in .png, .jpg, .jpeg, .bmp",
        "non-images": "expected files ending in .png, .jpg, .jpeg, .bmp",
        "a-file": "is a file, not a folder",
    }[case]
    if case in ("empty", "non-images"):
        folder.mkdir()
    if case == "non-images":
        for name in ("notes.txt", "labels.csv", "pic.gif", ".hidden.png", "boxes.json"):
            (folder / name).write_text("x")
        (folder / "nested").mkdir()
        Image.new("L", (30, 20), 255).save(folder / "nested" / "AB.png")  # only the top level counts
    if case == "a-file":
        folder.write_bytes(b"x")
    code = main(["benchmark", "--data", str(folder), "--models", "rf", "--quiet"])
    err = capsys.readouterr().err
    assert code == 2
    assert err.startswith("captcha-lab benchmark: error: ")
    assert str(folder) in err and expected in err
    assert "Traceback" not in err


def test_folder_whose_images_are_all_bad_is_refused_even_with_skip_bad(
        tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    (tmp_path / "EMPTY.png").write_bytes(b"")
    (tmp_path / "JUNK.jpg").write_bytes(b"not an image" * 20)
    assert main(["benchmark", "--data", str(tmp_path), "--models", "rf", "--skip-bad", "--quiet"]) == 2
    err = capsys.readouterr().err
    assert f"all 2 images in {tmp_path} were skipped as bad" in err
    assert "EMPTY.png" in err and "JUNK.jpg" in err


# --------------------------------------------------------------------------- row: corrupt, truncated, zero-byte, odd modes, huge


def copy_of(folder: Path, target: Path) -> Path:
    """A fresh copy of a folder's PNG captchas, to spoil without touching the shared fixture."""
    target.mkdir()
    for p in folder.glob("*.png"):
        (target / p.name).write_bytes(p.read_bytes())
    return target


def test_corrupt_file_is_named_by_benchmark_unless_skip_bad(
        good_folder: Path, tmp_path: Path, fast_training: None, capsys: pytest.CaptureFixture[str]) -> None:
    data = copy_of(good_folder, tmp_path / "data")
    first = sorted(data.glob("*.png"))[0].read_bytes()
    (data / "CUT9.png").write_bytes(first[: len(first) // 2])
    (data / "ZERO.jpg").write_bytes(b"")

    assert main(["benchmark", "--data", str(data), "--models", "rf", "--quiet"]) == 2
    err = capsys.readouterr().err
    assert f"bad captcha file {data / 'CUT9.png'}" in err and "skip" in err

    out = tmp_path / "result.json"
    assert main(["benchmark", "--data", str(data), "--models", "rf", "--skip-bad", "--quiet",
                 "--json", str(out)]) == 0
    result = json.loads(out.read_text())
    assert result["dataset"]["captchas"] == 24  # the two bad files are left out, the rest is used


def test_benchmark_skip_bad_reports_the_count(
        good_folder: Path, tmp_path: Path, fast_training: None, capsys: pytest.CaptureFixture[str]) -> None:
    data = copy_of(good_folder, tmp_path / "data")
    (data / "BAD1.png").write_bytes(b"")
    (data / "BAD2.bmp").write_bytes(b"BM garbage")
    out = tmp_path / "result.json"
    assert main(["benchmark", "--data", str(data), "--models", "rf", "--skip-bad", "--json", str(out)]) == 0
    err = capsys.readouterr().err
    dataset = json.loads(out.read_text())["dataset"]
    assert "skipped 2 bad files" in err
    assert dataset["skipped"] == 2


def test_solve_reports_unreadable_files_and_still_solves_the_rest(
        model_path: Path, unseen: list[Captcha], tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    good = save_captchas(unseen[:2], tmp_path / "good")
    png = good[0].read_bytes()
    jpg = encode(Image.fromarray(unseen[2].image), "JPEG", quality=90)
    bad = {
        "zero.png": (b"", "the file is empty (0 bytes)"),
        "cut.png": (png[: len(png) // 2], "corrupt or truncated"),
        "cut.jpg": (jpg[: len(jpg) // 3], "corrupt or truncated"),
        "text.jpg": (b"hello, I am not a picture\n" * 5, "not a readable image"),
    }
    paths = []
    for name, (blob, _) in bad.items():
        (tmp_path / name).write_bytes(blob)
        paths.append(tmp_path / name)
    code = main(["solve", str(good[0]), *map(str, paths), str(good[1]), "--model", str(model_path)])
    lines = capsys.readouterr().out.strip().splitlines()
    assert code == 1
    assert len(lines) == 2 + len(bad)  # one line per image, in order
    assert lines[0].startswith(f"{good[0]}\t") and "(" not in lines[0]
    assert lines[-1].startswith(f"{good[1]}\t") and "(" not in lines[-1]
    for line, path, (_, reason) in zip(lines[1:-1], paths, bad.values()):
        assert line.startswith(f"{path}\t(unreadable: ") and reason in line


def test_odd_image_modes_read_and_solve_like_rgb(
        model_path: Path, unseen: list[Captcha], tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    rgb = unseen[0].image
    gray = to_gray(rgb)
    h, w = gray.shape
    palette = Image.frombytes("P", (w, h), gray.tobytes())
    palette.putpalette([v for i in range(256) for v in (i, i, i)])
    variants = {
        "rgb.png": Image.fromarray(rgb),
        "rgba.png": Image.fromarray(np.dstack([rgb, np.full((h, w), 255, np.uint8)])),
        "la.png": Image.fromarray(np.dstack([gray, np.full((h, w), 255, np.uint8)]), "LA"),
        "i16.png": Image.fromarray(gray.astype(np.uint16) * 257),
        "palette.png": palette,
        "rgba.bmp": Image.fromarray(np.dstack([rgb, np.full((h, w), 255, np.uint8)])),
        "gray.bmp": Image.fromarray(gray),
    }
    paths = []
    for name, image in variants.items():
        image.save(tmp_path / name)
        paths.append(tmp_path / name)
    assert Image.open(tmp_path / "i16.png").mode.startswith("I")  # really a 16-bit file
    for path in paths:
        np.testing.assert_array_equal(read_image(path), gray, err_msg=path.name)

    # Transparency: a transparent (black) background reads as white paper, not black.
    paper = gray > 128
    see_through = np.dstack([np.where(paper[..., None], 0, rgb), np.where(paper, 0, 255)]).astype(np.uint8)
    Image.fromarray(see_through).save(tmp_path / "transparent.png")
    assert read_image(tmp_path / "transparent.png")[paper].min() == 255

    assert main(["solve", *map(str, paths), "--model", str(model_path)]) == 0
    texts = {line.split("\t")[1] for line in capsys.readouterr().out.strip().splitlines()}
    assert len(texts) == 1  # every mode reads the same


def _jpeg_claiming(width: int, height: int) -> bytes:
    data = bytearray(encode(Image.new("L", (16, 16), 200), "JPEG"))
    sof = data.index(b"\xff\xc0")
    data[sof + 5:sof + 9] = struct.pack(">HH", height, width)
    return bytes(data)


def _bmp_claiming(width: int, height: int) -> bytes:
    data = bytearray(encode(Image.new("L", (8, 8), 200), "BMP"))
    data[18:26] = struct.pack("<ii", width, height)
    return bytes(data)


def _png_claiming(width: int, height: int) -> bytes:
    import zlib

    data = bytearray(encode(Image.new("1", (8, 8)), "PNG"))
    data[16:24] = struct.pack(">II", width, height)
    data[29:33] = struct.pack(">I", zlib.crc32(bytes(data[12:29])))
    return bytes(data)


@pytest.mark.parametrize("name, blob", [
    ("huge.jpg", _jpeg_claiming(20000, 20000)),
    ("huge.bmp", _bmp_claiming(20000, 20000)),
    ("huge.png", _png_claiming(20000, 20000)),
    ("medium.jpg", _jpeg_claiming(5000, 1000)),  # under Pillow's own bomb limit: our check alone
])
def test_huge_images_are_refused_before_decoding(
        name: str, blob: bytes, tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
        model_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    from PIL import ImageFile

    def no_decoding(*args, **kwargs):
        raise AssertionError("pixels were decoded")

    path = tmp_path / name
    path.write_bytes(blob)
    monkeypatch.setattr(ImageFile.ImageFile, "load", no_decoding)
    monkeypatch.setattr(Image.Image, "load", no_decoding)
    with pytest.raises(CaptchaDataError, match=rf"{name}: it is \d+x\d+ pixels, larger than the 4000000-pixel limit"):
        read_image(path)
    monkeypatch.undo()
    assert main(["solve", str(path), "--model", str(model_path)]) == 1
    assert "larger than the 4000000-pixel limit" in capsys.readouterr().out


def test_a_png_holding_postscript_never_reaches_ghostscript(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from PIL import EpsImagePlugin

    calls = []

    def fake_ghostscript(*args, **kwargs):
        calls.append(args)
        raise OSError("Ghostscript would run here")

    monkeypatch.setattr(EpsImagePlugin, "Ghostscript", fake_ghostscript)
    path = tmp_path / "AB12.png"
    path.write_bytes(b"%!PS-Adobe-3.0 EPSF-3.0\n%%BoundingBox: 0 0 100 40\n%%EndComments\nshowpage\n")
    with pytest.raises(CaptchaDataError):
        read_image(path)
    assert calls == []


# --------------------------------------------------------------------------- row: labels


@pytest.mark.parametrize("label", ["../x", "a/b", "a b", "..", "../../etc/passwd", "/abs", "..\\x", "x\ty"])
def test_unsafe_labels_never_write_outside_the_output_folder(label: str, tmp_path: Path) -> None:
    parent = tmp_path / "parent"
    out = parent / "out"
    out.mkdir(parents=True)
    before = tree_hashes(tmp_path)
    captchas = [Captcha(lbl, np.full((24, 72, 3), 255, np.uint8), np.zeros((len(lbl), 4), np.int32))
                for lbl in ("OK", label)]
    with pytest.raises(CaptchaDataError, match=re.escape(f"cannot use label {label!r} as a file name")):
        save_captchas(captchas, out)
    with pytest.raises(CaptchaDataError, match="cannot use label"):
        save_captchas(captchas, out, overwrite=True)
    assert tree_hashes(tmp_path) == before


def test_generate_with_an_alphabet_that_makes_unsafe_names_writes_nothing(
        tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    out = tmp_path / "out"
    code = main(["generate", "--count", "6", "--alphabet", "AB/", "--length", "4", "--out", str(out), "--quiet"])
    assert code == 2
    assert "cannot use label" in capsys.readouterr().err
    assert list(tmp_path.iterdir()) == []


@pytest.mark.parametrize("label, problem", [
    ("../x", "contains '/'"), ("a/b", "contains '/'"), ("a b", "contains ' '"), ("a\\b", "contains '\\\\'"),
])
def test_unsafe_sidecar_labels_are_refused_with_the_file_name(label: str, problem: str, tmp_path: Path) -> None:
    Image.new("L", (40, 20), 255).save(tmp_path / "img1.png")
    (tmp_path / "img1.txt").write_text("GOOD")
    Image.new("L", (40, 20), 255).save(tmp_path / "img2.png")
    (tmp_path / "img2.txt").write_text(label)
    with pytest.raises(CaptchaDataError) as caught:
        load_captchas(tmp_path)
    assert "img2.png" in str(caught.value) and problem in str(caught.value)
    loaded = load_captchas(tmp_path, skip_bad=True)
    assert loaded.labels == ["GOOD"] and [p.name for p, _ in loaded.skipped] == ["img2.png"]


def test_missing_label_and_mixed_lengths_are_reported_by_benchmark(
        good_folder: Path, tmp_path: Path, fast_training: None, capsys: pytest.CaptureFixture[str]) -> None:
    data = tmp_path / "sidecars"
    data.mkdir()
    source = load_captchas(good_folder)
    for k, (p, label) in enumerate(zip(source.paths, source.labels)):
        (data / f"{k:03d}.png").write_bytes(p.read_bytes())
        (data / f"{k:03d}.txt").write_text(label if k % 2 else label[:3])  # half too short for their image
    (data / "extra.png").write_bytes(next(good_folder.glob("*.png")).read_bytes())  # no extra.txt

    assert main(["benchmark", "--data", str(data), "--models", "rf", "--quiet"]) == 2
    err = capsys.readouterr().err
    assert "extra.png" in err and "missing label" in err and "extra.txt does not exist" in err

    # labels of several lengths: a letter model says how it will count the letters, and the other way
    out = tmp_path / "r.json"
    assert main(["benchmark", "--data", str(data), "--models", "rf", "--skip-bad", "--json", str(out)]) == 0
    err = capsys.readouterr().err
    assert "labels of 3, 4 characters" in err and "as many letters as segmentation finds" in err
    assert "--model ctc" in err and json.loads(out.read_text())["dataset"]["length"] == [3, 4]


def test_a_model_from_another_alphabet_is_refused(model_path: Path, tmp_path: Path) -> None:
    model = load_classifier(model_path)
    lower = tmp_path / "lower"
    lower.mkdir()
    for name in ("ab1x.png", "qq7z.png"):
        Image.new("L", (60, 30), 255).save(lower / name)
    captchas = load_captchas(lower)
    reader = Reader("rf", model)  # a forest
    with pytest.raises(ModelFileError, match="train a model on captchas with these characters") as caught:
        reader.check_alphabet(captchas.alphabet)
    unknown = str(caught.value).split(" use ")[1].split(",")[0]
    assert set(unknown) == set(captchas.alphabet) - set(model.classes) and set("abqxz") <= set(unknown)
    reader.check_alphabet("".join(model.classes[:5]))  # a subset is fine


def test_labels_with_a_duplicate_like_ending_are_refused(tmp_path: Path) -> None:
    """'A-12.png' would read back as 'A' (a duplicate suffix), so such labels are refused before writing."""
    for label in ("A-12", "B_7"):
        with pytest.raises(CaptchaDataError, match="duplicate"):
            save_captchas([make_captcha(label, seed=0)], tmp_path / label)
        assert not (tmp_path / label).exists() or not any((tmp_path / label).iterdir())


def test_a_label_too_long_for_a_file_name_is_a_clear_error(tmp_path: Path) -> None:
    label = "A" * 245  # "<label>.png" would fit in 255 bytes, the temporary name does not
    captcha = Captcha(label, np.full((24, 72, 3), 255, np.uint8), np.zeros((len(label), 4), np.int32))
    with pytest.raises(CaptchaDataError):
        save_captchas([captcha], tmp_path / "out")


# --------------------------------------------------------------------------- row: non-empty output folders


def test_generate_refuses_a_folder_with_only_hidden_files_and_overwrite_keeps_user_files(
        tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    out = tmp_path / "out"
    out.mkdir()
    (out / ".DS_Store").write_bytes(b"\x00\x01")
    assert main(["generate", "--count", "3", "--seed", "4", "--out", str(out), "--quiet"]) == 2
    assert "already contains files" in capsys.readouterr().err
    assert [p.name for p in out.iterdir()] == [".DS_Store"]

    (out / "mine.png").write_bytes(encode(Image.new("L", (10, 10), 0), "PNG"))
    (out / "sub").mkdir()
    (out / "sub" / "notes.txt").write_text("mine")
    before = tree_hashes(out)
    assert main(["generate", "--count", "3", "--seed", "4", "--out", str(out), "--overwrite", "--quiet"]) == 0
    after = tree_hashes(out)
    assert {k: v for k, v in after.items() if k in before} == before  # nothing of the user's changed or vanished
    assert len([k for k in after if k.endswith(".png")]) == 4 and MANIFEST_NAME in after


def test_generate_into_a_file_is_refused(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    target = tmp_path / "out"
    target.write_text("mine")
    assert main(["generate", "--count", "2", "--out", str(target), "--quiet"]) == 2
    assert "is not a folder" in capsys.readouterr().err
    assert target.read_text() == "mine"


def test_benchmark_json_is_refused_before_any_work_unless_overwrite(
        good_folder: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, fast_training: None,
        capsys: pytest.CaptureFixture[str]) -> None:
    import helpers.benchmark

    out = tmp_path / "result.json"
    out.write_text("my old results")

    def must_not_run(*args, **kwargs):
        raise AssertionError("the benchmark ran before the --json check")

    with monkeypatch.context() as patched:
        patched.setattr(helpers.benchmark, "run_benchmark", must_not_run)
        assert main(["benchmark", "--data", str(good_folder), "--models", "rf", "--json", str(out)]) == 2
    assert f"{out} already exists" in capsys.readouterr().err
    assert out.read_text() == "my old results"

    assert main(["benchmark", "--data", str(good_folder), "--models", "rf", "--json", str(out),
                 "--overwrite", "--quiet"]) == 0
    assert set(json.loads(out.read_text())) == {"dataset", "models"}
    assert sorted(p.name for p in tmp_path.iterdir()) == ["result.json"]  # no temporary file left


@pytest.mark.parametrize("target", ["missing-parent", "a-folder"])
def test_benchmark_json_target_that_cannot_be_written_is_a_clear_error(
        target: str, good_folder: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
        capsys: pytest.CaptureFixture[str]) -> None:
    import helpers.benchmark

    monkeypatch.setattr(helpers.benchmark, "run_benchmark",
                        lambda *a, **k: {"dataset": {}, "models": {"rf": {"captcha_accuracy": 1.0}}})
    if target == "a-folder":
        json_path = tmp_path / "results"
        json_path.mkdir()
        extra = ["--overwrite"]
    else:
        json_path = tmp_path / "no such folder" / "results.json"
        extra = []
    code = main(["benchmark", "--data", str(good_folder), "--models", "rf", "--json", str(json_path), "--quiet", *extra])
    assert code == 2 and str(json_path) in capsys.readouterr().err


def _notebook(folder: Path, name: str, value: int) -> Path:
    import nbformat

    nb = nbformat.v4.new_notebook()
    params = nbformat.v4.new_code_cell(f"X = {value}")
    params.metadata["tags"] = ["parameters"]
    results = nbformat.v4.new_code_cell("show_results({'x': X})")
    results.metadata["tags"] = ["results"]
    nb.cells = [params, results]
    nb.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3", "language": "python"}
    folder.mkdir(parents=True, exist_ok=True)
    nbformat.write(nb, folder / name)
    return folder / name


def _fake_papermill(monkeypatch: pytest.MonkeyPatch, interrupt_on: str | None = None) -> list[str]:
    """Replace papermill.execute_notebook by a quick fake that writes an 'executed' notebook.

    With ``interrupt_on``, that notebook is half written and then Ctrl-C is simulated.
    """
    import nbformat
    import papermill

    executed: list[str] = []

    def execute_notebook(input_path, output_path, parameters=None, **kwargs):
        nb = nbformat.read(input_path, as_version=4)
        value = (parameters or {}).get("X", 1)
        nb.cells[1].outputs = [nbformat.v4.new_output(
            "execute_result", data={"application/json": {"x": value}, "text/plain": "x"}, execution_count=2)]
        if Path(input_path).name == interrupt_on:
            nb.cells[1].outputs = []
            nbformat.write(nb, output_path)  # papermill saves progress as it goes
            raise KeyboardInterrupt
        nbformat.write(nb, output_path)
        executed.append(Path(input_path).name)
        return nb

    monkeypatch.setattr(papermill, "execute_notebook", execute_notebook)
    return executed


class _FrozenDatetime(datetime):
    @classmethod
    def now(cls, tz=None):
        return datetime(2026, 1, 2, 3, 4, 5, tzinfo=timezone.utc)


def test_run_makes_a_new_folder_and_never_touches_earlier_runs(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]) -> None:
    import helpers.runs

    notebooks = tmp_path / "notebooks"
    _notebook(notebooks, "01_a.ipynb", 1)
    runs = tmp_path / "runs"
    finished = runs / "20260102-030405"  # an earlier run in the same second
    (finished / "data").mkdir(parents=True)
    (finished / "results.json").write_text('{"notebooks": {"01_a": {"results": {"x": 5}}}}')
    (finished / "data" / "AB12.png").write_bytes(b"earlier data")
    interrupted = runs / ("20260102-030405-2" + INCOMPLETE_SUFFIX)
    interrupted.mkdir()
    (interrupted / "01_a.ipynb").write_text("half")
    (runs / "my notes.txt").write_text("keep me")
    before = tree_hashes(runs)

    monkeypatch.setattr(helpers.runs, "datetime", _FrozenDatetime)
    _fake_papermill(monkeypatch)
    for _ in range(2):
        assert main(["run", "--notebooks-dir", str(notebooks), "--out", str(runs), "-p", "X=7", "--quiet"]) == 0
    assert "executed notebooks and results.json are in" in capsys.readouterr().out

    after = tree_hashes(runs)
    assert {k: v for k, v in after.items() if k in before} == before
    new = sorted({k.split(os.sep)[0] for k in after} - {k.split(os.sep)[0] for k in before})
    assert new == ["20260102-030405-3", "20260102-030405-4"]
    for name in new:
        saved = json.loads((runs / name / "results.json").read_text())
        assert saved["notebooks"]["01_a"]["results"] == {"x": 7}


def test_run_into_a_file_is_a_clear_error(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                          capsys: pytest.CaptureFixture[str]) -> None:
    notebooks = tmp_path / "notebooks"
    _notebook(notebooks, "01_a.ipynb", 1)
    target = tmp_path / "runs"
    target.write_text("mine")
    _fake_papermill(monkeypatch)
    assert main(["run", "--notebooks-dir", str(notebooks), "--out", str(target), "--quiet"]) == 2
    assert target.read_text() == "mine" and str(target) in capsys.readouterr().err


# --------------------------------------------------------------------------- row: interrupted run (Ctrl-C)


def test_interrupted_run_stays_incomplete_and_the_cli_returns_130(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]) -> None:
    notebooks = tmp_path / "notebooks"
    for name in ("01_a.ipynb", "02_b.ipynb", "03_c.ipynb"):
        _notebook(notebooks, name, 1)
    runs = tmp_path / "runs"
    executed = _fake_papermill(monkeypatch, interrupt_on="02_b.ipynb")
    monkeypatch.delenv("CAPTCHA_DATA_DIR", raising=False)

    code = main(["run", "--notebooks-dir", str(notebooks), "--out", str(runs), "--quiet"])
    assert code == 130
    assert "captcha-lab run: interrupted" in capsys.readouterr().err
    assert executed == ["01_a.ipynb"]
    (folder,) = runs.iterdir()
    assert folder.name.endswith(INCOMPLETE_SUFFIX)
    summary = json.loads((folder / "results.json").read_text())
    assert list(summary["notebooks"]) == ["01_a"]  # nothing recorded for 02 (interrupted) or 03 (never started)
    assert not (folder / "03_c.ipynb").exists()
    assert "CAPTCHA_DATA_DIR" not in os.environ  # the run's settings do not leak into the caller

    # The next run does not mistake the interrupted folder for a finished one, nor reuse it.
    _fake_papermill(monkeypatch)
    assert main(["run", "--notebooks-dir", str(notebooks), "--out", str(runs), "--quiet"]) == 0
    finished = [p for p in runs.iterdir() if not p.name.endswith(INCOMPLETE_SUFFIX)]
    assert len(finished) == 1 and folder.exists()
    assert list(json.loads((finished[0] / "results.json").read_text())["notebooks"]) == ["01_a", "02_b", "03_c"]


def test_interrupted_save_captchas_leaves_no_half_file_and_no_manifest(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    import helpers.files

    captchas = generate_captchas(5, "easy", seed=2, size=(72, 24))
    real_replace = os.replace
    calls = []

    def replace_then_interrupt(src, dst):
        calls.append(dst)
        if len(calls) == 3:  # the third file is fully written under its temporary name
            raise KeyboardInterrupt
        real_replace(src, dst)

    out = tmp_path / "out"
    monkeypatch.setattr(helpers.files.os, "replace", replace_then_interrupt)
    with pytest.raises(KeyboardInterrupt):
        save_captchas(captchas, out)
    monkeypatch.undo()
    names = sorted(p.name for p in out.iterdir())
    assert len(names) == 2 and all(n.endswith(".png") and not n.startswith(".") for n in names)
    assert MANIFEST_NAME not in names  # the manifest, written last, marks a finished set
    for name in names:
        read_image(out / name)  # complete, decodable files only
    save_captchas(captchas, out, overwrite=True)  # re-running finishes the set
    assert len(load_captchas(out)) == 5


def test_interrupted_save_classifier_keeps_the_old_model(
        forest: LetterClassifier, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    import skops.io
    from sklearn.ensemble import RandomForestClassifier

    path = save_classifier(forest, tmp_path / "forest.skops")
    before = tree_hashes(tmp_path)
    other_model = RandomForestClassifier(n_estimators=2, random_state=0).fit(np.eye(LETTER * LETTER)[:2], ["H", "I"])
    other = LetterClassifier("forest", other_model, ("H", "I"), LETTER)

    def half_dump(obj, file, **kwargs):
        Path(file).write_bytes(b"PK\x03\x04 half a zip")
        raise KeyboardInterrupt

    with monkeypatch.context() as patched:
        patched.setattr(skops.io, "dump", half_dump)
        with pytest.raises(KeyboardInterrupt):
            save_classifier(other, path)
    after = tree_hashes(tmp_path)
    assert {k: after.get(k) for k in before} == before  # the saved model is untouched
    assert all(name.startswith(".") for name in set(after) - set(before))  # leftovers only under hidden names
    assert load_classifier(path).classes == forest.classes

    # Interrupted between the two renames: the new model sits next to the old metadata.
    import helpers.files

    real_replace = os.replace
    calls = []

    def second_replace_interrupts(src, dst):
        calls.append(dst)
        if len(calls) == 2:
            raise KeyboardInterrupt
        real_replace(src, dst)

    with monkeypatch.context() as patched:
        patched.setattr(helpers.files.os, "replace", second_replace_interrupts)
        with pytest.raises(KeyboardInterrupt):
            save_classifier(other, path)
    with pytest.raises(ModelFileError, match="do not belong together"):
        load_classifier(path)


# --------------------------------------------------------------------------- row: model file problems


def _copy_model(model_path: Path, folder: Path) -> Path:
    folder.mkdir()
    for p in (model_path, model_path.with_suffix(".json")):
        (folder / p.name).write_bytes(p.read_bytes())
    return folder / model_path.name


@pytest.mark.parametrize("damage, message", [
    ("missing", "does not exist"),
    ("truncated", "could not load"),
    ("zero-bytes", "could not load"),
    ("no-metadata", "is missing next to"),
    ("metadata-not-json", "is damaged"),
    ("metadata-a-list", "is damaged"),
    ("metadata-bad-kind", "unknown model kind"),
    ("metadata-other-classes", "do not belong together"),
])
def test_broken_model_files_give_exit_2_with_a_clear_error(
        damage: str, message: str, model_path: Path, unseen: list[Captcha], tmp_path: Path,
        capsys: pytest.CaptureFixture[str]) -> None:
    path = _copy_model(model_path, tmp_path / "m")
    meta_path = path.with_suffix(".json")
    meta = json.loads(meta_path.read_text())
    if damage == "missing":
        path.unlink()
    elif damage == "truncated":
        path.write_bytes(path.read_bytes()[: path.stat().st_size // 2])
    elif damage == "zero-bytes":
        path.write_bytes(b"")
    elif damage == "no-metadata":
        meta_path.unlink()
    elif damage == "metadata-not-json":
        meta_path.write_text("{ not json")
    elif damage == "metadata-a-list":
        meta_path.write_text("[1, 2]")
    elif damage == "metadata-bad-kind":
        meta_path.write_text(json.dumps({**meta, "kind": "pickle"}))
    elif damage == "metadata-other-classes":
        meta_path.write_text(json.dumps({**meta, "classes": list("abcdefghijklmnopqrstuvwxyz012345")}))
    image = save_captchas(unseen[:1], tmp_path / "caps")[0]
    with pytest.raises(ModelFileError, match=message):
        load_classifier(path)
    assert main(["solve", str(image), "--model", str(path)]) == 2
    err = capsys.readouterr().err
    assert err.startswith("captcha-lab solve: error: ") and message in err and "Traceback" not in err


def test_untrusted_model_file_is_refused_by_the_cli(
        tmp_path: Path, unseen: list[Captcha], capsys: pytest.CaptureFixture[str]) -> None:
    import skops.io
    from sklearn.ensemble import RandomForestClassifier
    from sklearn.preprocessing import FunctionTransformer

    model = RandomForestClassifier(n_estimators=2, random_state=0).fit(np.eye(LETTER * LETTER)[:2], ["H", "I"])
    model.payload = FunctionTransformer(func=os.system)  # a code reference smuggled into the file
    path = tmp_path / "forest.skops"
    skops.io.dump(model, path)
    path.with_suffix(".json").write_text(json.dumps({"kind": "forest", "classes": ["H", "I"], "letter_size": LETTER}))
    image = save_captchas(unseen[:1], tmp_path / "caps")[0]
    assert main(["solve", str(image), "--model", str(path)]) == 2
    err = capsys.readouterr().err
    assert "refusing to load it" in err and "only load models from sources you trust" in err


@pytest.mark.parametrize("letter_size", [24, -3])
def test_metadata_letter_size_that_does_not_fit_the_model_is_refused(
        letter_size: int, model_path: Path, unseen: list[Captcha], tmp_path: Path,
        capsys: pytest.CaptureFixture[str]) -> None:
    path = _copy_model(model_path, tmp_path / "m")
    meta = json.loads(path.with_suffix(".json").read_text())
    path.with_suffix(".json").write_text(json.dumps({**meta, "letter_size": letter_size}))
    images = save_captchas(unseen, tmp_path / "caps")
    assert main(["solve", *map(str, images), "--model", str(path)]) == 2


# --------------------------------------------------------------------------- row: wrong letter count at solve time


def test_wrong_letter_count_fails_the_captcha_not_the_batch(
        forest: LetterClassifier, model_path: Path, unseen: list[Captcha], tmp_path: Path,
        capsys: pytest.CaptureFixture[str]) -> None:
    three = make_captcha("XY7", seed=1)
    five = make_captcha("AB3DE", seed=4)
    batch = [unseen[0].image, three.image, unseen[1].image, five.image]
    solutions = solve(batch, forest, length=4)
    assert [s.ok for s in solutions] == [True, False, True, False]
    assert solutions[1].reason == "found 3 regions, expected 4"
    assert solutions[3].reason == "found 5 regions, expected 4"
    for s in (solutions[1], solutions[3]):
        assert s.text == "" and s.confidence.shape == (0,) and s.boxes.shape[1] == 4
    assert len(solutions[0].text) == 4 and len(solutions[2].text) == 4

    paths = save_captchas(unseen[:2], tmp_path / "caps")
    assert main(["solve", *map(str, paths), "--length", "3", "--model", str(model_path)]) == 1
    lines = capsys.readouterr().out.strip().splitlines()
    assert lines == [f"{p}\t(not solved: found 4 regions, expected 3)" for p in paths]


@pytest.mark.parametrize("array", [np.full((30, 90), "x"), np.full((30, 90), None, dtype=object)],
                         ids=["str", "object"])
def test_non_numeric_arrays_fail_cleanly(array: np.ndarray) -> None:
    result = segment(array, expected=4)
    assert not result.ok and result.reason


# --------------------------------------------------------------------------- properties: arrays


_DTYPES = [np.bool_, np.uint8, np.uint16, np.int16, np.int64, np.float16, np.float32, np.float64]


@st.composite
def image_like_arrays(draw: st.DrawFn) -> np.ndarray:
    """Arrays of many dtypes and shapes: empty, 1-D, (H, W), (H, W, 1..5), 4-D; floats with NaN/inf."""
    dtype = np.dtype(draw(st.sampled_from(_DTYPES)))
    shape = draw(st.one_of(
        st.tuples(st.integers(0, 60), st.integers(0, 90)),
        st.tuples(st.integers(0, 40), st.integers(0, 70), st.integers(1, 5)),
        st.tuples(st.integers(0, 40)),
        st.tuples(st.integers(1, 4), st.integers(1, 10), st.integers(1, 10), st.integers(1, 3)),
    ))
    elements = None
    if dtype.kind == "f":
        elements = st.floats(allow_nan=True, allow_infinity=True, width=dtype.itemsize * 8)
    if draw(st.booleans()) and len(shape) >= 2 and min(shape[:2]) >= 8:
        # Ink on paper now and then, so that some arrays really segment.
        base = np.full(shape, 255 if dtype.kind in "ui" else (True if dtype == bool else 1.0), dtype)
        for _ in range(draw(st.integers(1, 5))):
            y, x = draw(st.integers(0, shape[0] - 1)), draw(st.integers(0, shape[1] - 1))
            base[y:y + draw(st.integers(2, 30)), x:x + draw(st.integers(2, 20))] = 0
        return base
    return draw(hnp.arrays(dtype, shape, elements=elements))


def _check_segmentation(result, expected: int | None, size: int) -> None:
    assert isinstance(result.ok, bool)
    if result.ok:
        assert result.reason == ""
        k = len(result.boxes)
        assert k >= 1 and result.boxes.shape == (k, 4) and result.boxes.dtype == np.int32
        assert result.letters.shape == (k, size, size) and result.letters.dtype == np.uint8
        assert (result.boxes[:, 2] > 0).all() and (result.boxes[:, 3] > 0).all()
        if expected is not None:
            assert k == expected
    else:
        assert isinstance(result.reason, str) and result.reason
        assert result.letters.shape == (0, size, size)
        assert result.boxes.ndim == 2 and result.boxes.shape[1] == 4


@examples(150)
@given(image_like_arrays(), st.sampled_from([None, 1, 2, 4]), st.sampled_from([4_000_000, 600]))
def test_property_segment_never_raises(image: np.ndarray, expected: int | None, max_pixels: int) -> None:
    result = segment(image, expected, size=12, max_pixels=max_pixels)
    _check_segmentation(result, expected, 12)
    if result.ok:
        height, width = image.shape[:2]
        boxes = result.boxes
        assert (boxes[:, 0] >= 0).all() and (boxes[:, 1] >= 0).all()
        assert (boxes[:, 0] + boxes[:, 2] <= width).all() and (boxes[:, 1] + boxes[:, 3] <= height).all()


@examples(30)
@given(st.lists(image_like_arrays(), min_size=0, max_size=4), st.sampled_from([None, 4]))
def test_property_solve_never_raises(forest: LetterClassifier, unseen: list[Captcha],
                                     images: list[np.ndarray], length: int | None) -> None:
    batch = [unseen[0].image, *images, unseen[1].image]  # real captchas around the odd ones
    solutions = solve(batch, forest, length)
    assert len(solutions) == len(batch)
    for s in solutions:
        if s.ok:
            k = len(s.text)
            assert k >= 1 and s.confidence.shape == (k,) and s.boxes.shape == (k, 4)
            assert set(s.text) <= set(forest.classes)
            assert np.all((s.confidence >= 0) & (s.confidence <= 1))
            if length is not None:
                assert k == length
        else:
            assert s.text == "" and s.reason and s.confidence.shape == (0,)
    assert solutions[0].ok and solutions[-1].ok


# --------------------------------------------------------------------------- properties: file bytes


def _real_files() -> dict[str, bytes]:
    captcha = make_captcha("AB3D", seed=1, size=(72, 24))
    image = Image.fromarray(captcha.image)
    return {
        "png": encode(image, "PNG"),
        "png-rgba": encode(image.convert("RGBA"), "PNG"),
        "png-16bit": encode(Image.fromarray(to_gray(captcha.image).astype(np.uint16) * 257), "PNG"),
        "png-palette": encode(image.convert("P"), "PNG"),
        "jpg": encode(image, "JPEG", quality=85),
        "jpg-progressive": encode(image, "JPEG", quality=85, progressive=True),
        "bmp": encode(image, "BMP"),
        "gif": encode(image, "GIF"),
        "tiff": encode(image, "TIFF"),
    }


REAL_FILES = _real_files()


@st.composite
def file_bytes(draw: st.DrawFn) -> bytes:
    """Random bytes, or a real image file cut short, with bytes changed, or with junk spliced in."""
    kind = draw(st.sampled_from(["random", "truncated", "flipped", "spliced"]))
    if kind == "random":
        return draw(st.binary(max_size=300))
    base = REAL_FILES[draw(st.sampled_from(sorted(REAL_FILES)))]
    if kind == "truncated":
        return base[: draw(st.integers(0, len(base)))]
    if kind == "flipped":
        data = bytearray(base)
        for _ in range(draw(st.integers(1, 6))):
            data[draw(st.integers(0, len(data) - 1))] = draw(st.integers(0, 255))
        return bytes(data)
    at = draw(st.integers(0, len(base)))
    return base[:at] + draw(st.binary(min_size=1, max_size=64)) + base[at:]


@pytest.mark.filterwarnings("ignore::UserWarning:PIL")  # Pillow warns about corrupt metadata
@examples(200)
@given(file_bytes(), st.sampled_from([".png", ".jpg", ".bmp", ".JPEG"]))
def test_property_read_image_raises_only_captcha_data_error(
        tmp_path_factory: pytest.TempPathFactory, blob: bytes, suffix: str) -> None:
    path = tmp_path_factory.mktemp("read") / f"AB3D{suffix}"
    path.write_bytes(blob)
    try:
        gray = read_image(path, max_pixels=100_000)
    except CaptchaDataError as exc:
        assert str(path) in str(exc)  # the error names the file
    else:
        assert gray.ndim == 2 and gray.dtype == np.uint8 and 0 < gray.size <= 100_000


@pytest.mark.filterwarnings("ignore::UserWarning:PIL")  # Pillow warns about corrupt metadata
@examples(30)
@given(st.lists(file_bytes(), min_size=1, max_size=4))
def test_property_load_captchas_skips_bad_files_with_a_count(
        tmp_path_factory: pytest.TempPathFactory, blobs: list[bytes]) -> None:
    folder = tmp_path_factory.mktemp("load")
    (folder / "GOOD.png").write_bytes(REAL_FILES["png"])
    names = [f"F{k}{('.png', '.jpg', '.bmp')[k % 3]}" for k in range(len(blobs))]
    for name, blob in zip(names, blobs):
        (folder / name).write_bytes(blob)
    loaded = load_captchas(folder, skip_bad=True)  # never raises while one good file is there
    assert "GOOD" in loaded.labels
    assert len(loaded) + len(loaded.skipped) == len(blobs) + 1
    assert {p.name for p in loaded.paths}.isdisjoint(p.name for p, _ in loaded.skipped)
    assert all(reason for _, reason in loaded.skipped)
    for image in loaded.images:
        assert image.ndim == 2 and image.dtype == np.uint8
    if loaded.skipped:
        with pytest.raises(CaptchaDataError, match="skip_bad=True"):
            load_captchas(folder)


@examples(60)
@given(st.text(alphabet="AB3-_./\\ \t.x\x00é", min_size=0, max_size=12))
def test_property_saving_any_label_stays_inside_the_output_folder(
        tmp_path_factory: pytest.TempPathFactory, label: str) -> None:
    root = tmp_path_factory.mktemp("save")
    out = root / "out"
    captcha = Captcha(label, np.full((24, 72, 3), 255, np.uint8), np.zeros((len(label), 4), np.int32))
    try:
        paths = save_captchas([captcha], out)
    except CaptchaDataError as exc:
        assert "cannot use label" in str(exc)
        assert list(root.iterdir()) == []
    else:
        assert [p.parent for p in paths] == [out]
        assert sorted(p.name for p in root.iterdir()) == ["out"]
        assert sorted(p.name for p in out.iterdir()) == sorted([paths[0].name, MANIFEST_NAME])
