"""Colour and polarity: light text on dark reads like dark on light, and a reader can keep the colours.

The networks train for one or two epochs on small generated sets: these tests check behaviour that
does not depend on how well a model reads (same answers for inverted captchas, a colour reader that
stays a colour reader through saving, loading and export), not accuracy.
"""

from __future__ import annotations

import dataclasses
import json
from pathlib import Path

import numpy as np
import pytest

from helpers import ctc_reading
from helpers.captcha_files import load_captchas, save_captchas
from helpers.captchas import generate_captchas
from helpers.cli import main
from helpers.readers import load_reader
from helpers.segmentation import DARK_ON_LIGHT, LIGHT_ON_DARK, as_gray_uint8, segment, text_polarity

SIZE = (120, 45)


@pytest.fixture(scope="module")
def looks(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    """Gray easy captchas to read, and coloured ones (the "colour" look) for training and, drawn afresh, for reading."""
    root = tmp_path_factory.mktemp("colour")
    save_captchas(generate_captchas(40, "easy", seed=42, size=SIZE), root / "easy-fresh")
    save_captchas(generate_captchas(160, "colour", seed=43, size=SIZE), root / "colour")
    save_captchas(generate_captchas(40, "colour", seed=44, size=SIZE), root / "colour-fresh")
    return {"root": root, **{p.name: p for p in root.iterdir()}}


@pytest.fixture(scope="module")
def readers(looks: dict[str, Path], trained: dict[str, Path]) -> dict[str, Path]:
    """The session's forest and gray CTC reader (trained on easy captchas, tests/conftest.py), and colour CTC
    and CNN readers trained here on coloured ones."""
    out = {"rf": trained["rf"], "ctc": trained["ctc"]}
    for name, kind in (("ctc-colour", "ctc"), ("cnn-colour", "cnn")):
        out[name] = looks["root"] / f"{name}.model"
        assert main(["train", "--data", str(looks["colour"]), "--model", kind, "--out", str(out[name]),
                     "--quiet", "--epochs", "1", "--colour"] + ["--from-scratch"] * (kind == "ctc")) == 0
    return out


# --------------------------------------------------------------------------- polarity


@pytest.mark.parametrize("look", ["easy", "medium", "hard", "tight", "colour"])
def test_text_polarity_sees_dark_text_and_its_inverse(look: str) -> None:
    for c in generate_captchas(30, look, seed=3):
        gray = as_gray_uint8(c.image)
        assert text_polarity(gray) == DARK_ON_LIGHT
        assert text_polarity(255 - gray) == LIGHT_ON_DARK


def test_the_dark_look_is_light_on_dark_and_blank_images_count_as_dark_on_light() -> None:
    assert {text_polarity(as_gray_uint8(c.image)) for c in generate_captchas(30, "dark", seed=3)} == {LIGHT_ON_DARK}
    assert text_polarity(np.full((40, 100), 30, np.uint8)) == DARK_ON_LIGHT
    assert text_polarity(np.zeros((2, 2), np.uint8)) == DARK_ON_LIGHT


def test_segmentation_cuts_an_inverted_captcha_where_it_cuts_the_captcha() -> None:
    for c in generate_captchas(40, "medium", seed=8):
        plain, inverted = segment(c.image, 4), segment(255 - c.image, 4)
        assert (plain.polarity, inverted.polarity) == (DARK_ON_LIGHT, LIGHT_ON_DARK)
        assert plain.ok == inverted.ok and np.array_equal(plain.boxes, inverted.boxes)
        if plain.ok:  # the crops are dark on light both times (gray conversion may round a value by 1)
            assert np.abs(plain.letters.astype(int) - inverted.letters.astype(int)).max() <= 2


@pytest.mark.parametrize("name", ["rf", "ctc", "ctc-colour", "cnn-colour"])
def test_the_same_captchas_inverted_give_the_same_answers(name: str, readers: dict[str, Path],
                                                          looks: dict[str, Path]) -> None:
    reader = load_reader(readers[name])
    data = load_captchas(looks["colour-fresh" if name.endswith("colour") else "easy-fresh"],
                         colour=reader.channels == 3)
    inverted = [255 - image for image in data.images]
    plain_answers, inverted_answers = reader.read(data.images), reader.read(inverted)
    assert [s.text for s in inverted_answers] == [s.text for s in plain_answers]
    assert [s.ok for s in inverted_answers] == [s.ok for s in plain_answers]
    assert {s.polarity for s in plain_answers} == {DARK_ON_LIGHT}
    assert {s.polarity for s in inverted_answers} == {LIGHT_ON_DARK}
    # not only the texts: what the model computes is the same, and it is not the same for every captcha
    plain, flipped = _probabilities(reader, data.images), _probabilities(reader, inverted)
    assert plain.shape == flipped.shape and np.abs(plain - flipped).max() <= 1e-5
    assert np.abs(plain - plain.mean(axis=0)).max() > 1e-3


def test_solve_says_which_polarity_it_read(readers: dict[str, Path], looks: dict[str, Path], tmp_path: Path,
                                           capsys: pytest.CaptureFixture[str]) -> None:
    data = load_captchas(looks["easy-fresh"])
    save_captchas(generate_captchas(3, "dark", seed=5, size=SIZE), tmp_path / "dark")
    main(["solve", "--json", "--model", str(readers["rf"]), str(data.paths[0]), str(tmp_path / "dark")])
    answers = [json.loads(line) for line in capsys.readouterr().out.splitlines()]
    assert [a["polarity"] for a in answers] == [DARK_ON_LIGHT] + [LIGHT_ON_DARK] * 3


# --------------------------------------------------------------------------- colour


def _probabilities(reader, images: list[np.ndarray], crop: bool = True) -> np.ndarray:
    """What the network behind ``reader`` outputs for ``images``: per time step (ctc) or per cut-out letter (cnn).

    ``crop=False``: a CTC reader reads the images as they are, already cut down to their text."""
    if reader.kind == "ctc":
        how = reader.model.reader_input if hasattr(reader.model, "reader_input") else _input_of(reader)
        how = how if crop else dataclasses.replace(how, crop_text=False)
        return ctc_reading.read_probabilities(reader.model.predict_on_batch, images, how)
    from helpers.solver import cut_captcha

    letters = [cut_captcha(image, 4, colour=reader.channels == 3).letters for image in images]
    return reader.model.predict_proba(np.concatenate([x for x in letters if len(x)]))


def _input_of(reader) -> ctc_reading.ReaderInput:
    from helpers import ctc

    return ctc.reader_input(reader.model)


@pytest.mark.parametrize("name", ["ctc-colour", "cnn-colour"])
def test_a_colour_reader_stays_a_colour_reader_through_its_file(name: str, readers: dict[str, Path],
                                                                looks: dict[str, Path], tmp_path: Path,
                                                                capsys: pytest.CaptureFixture[str]) -> None:
    reader = load_reader(readers[name])
    network = reader.model if reader.kind == "ctc" else reader.model.model
    assert reader.channels == 3 and network.input_shape[-1] == 3
    assert reader.info["input"]["channels"] == 3 and reader.info["preprocessing"]["gray"] is False
    assert load_reader(readers["ctc"]).channels == 1 and load_reader(readers["rf"]).channels == 1

    fresh = load_captchas(looks["colour-fresh"], colour=True)
    assert fresh.images[0].shape == (SIZE[1], SIZE[0], 3)
    # the same pixels in colour and in gray (a CTC reader's crop, which looks at colours, is made once)
    images = ctc_reading.crop_to_text(fresh.images) if reader.kind == "ctc" else fresh.images
    colour = _probabilities(reader, images, crop=False)
    gray = _probabilities(reader, [np.repeat(as_gray_uint8(im)[:, :, None], 3, axis=2) for im in images], crop=False)
    assert colour.shape == gray.shape and np.abs(colour - gray).max() > 1e-3  # the network does look at colours

    # solve reads the files in colour because the reader file says so
    expected = [s.text for s in reader.read(fresh.images)]
    main(["solve", "--json", "--model", str(readers[name]), str(looks["colour-fresh"])])
    assert [json.loads(line)["text"] for line in capsys.readouterr().out.splitlines()] == expected

    # and so does the exported file
    onnx = tmp_path / "colour.onnx"
    assert main(["export", "--model", str(readers[name]), "--out", str(onnx), "--check", "40",
                 "--check-data", str(looks["colour-fresh"]), "--quiet"]) == 0
    exported = load_reader(onnx)
    assert exported.channels == 3 and exported.info["input"]["channels"] == 3
    assert [s.text for s in exported.read(fresh.images)] == expected
    assert np.abs(_probabilities(exported, fresh.images) - colour).max() <= 1e-4


def test_colour_is_refused_where_it_cannot_work(looks: dict[str, Path], readers: dict[str, Path],
                                                capsys: pytest.CaptureFixture[str]) -> None:
    out = looks["root"] / "never.model"
    assert main(["train", "--data", str(looks["colour"]), "--model", "rf", "--colour", "--out", str(out)]) == 2
    assert "colour input is for --model cnn or --model ctc" in capsys.readouterr().err
    assert main(["train", "--data", str(looks["colour"]), "--model", "ctc", "--init", str(readers["ctc-colour"]),
                 "--out", str(out)]) == 2
    assert f"--init {readers['ctc-colour']} reads captchas in colour: add --colour" in capsys.readouterr().err
    assert not out.exists()


def test_a_gray_pretrained_start_learns_colour_input(looks: dict[str, Path], readers: dict[str, Path],
                                                     capsys: pytest.CaptureFixture[str]) -> None:
    """train --colour --init GRAY fine-tunes the gray reader on the captchas in colour (helpers.transfer.to_colour):
    the result is a colour reader, and solve reads the files in colour for it."""
    out = looks["root"] / "from-gray.model"
    assert main(["train", "--data", str(looks["colour"]), "--model", "ctc", "--colour", "--init", str(readers["ctc"]),
                 "--epochs", "1", "--out", str(out)]) == 0
    printed = capsys.readouterr()
    assert f"start: the pretrained reader {readers['ctc']} (--init" in printed.out
    assert "colour: the gray pretrained reader now sees red, green and blue" in printed.err
    tuned, start = load_reader(out), load_reader(readers["ctc"])
    assert (tuned.channels, start.channels) == (3, 1) and tuned.info["init"]["kept"]
    fresh = load_captchas(looks["colour-fresh"], colour=True)
    main(["solve", "--json", "--model", str(out), str(looks["colour-fresh"])])
    assert [json.loads(line)["text"] for line in capsys.readouterr().out.splitlines()] == \
        [s.text for s in tuned.read(fresh.images)]


@pytest.mark.parametrize("name", ["ctc-colour", "cnn-colour"])
def test_a_colour_reader_reads_gray_captchas_too(name: str, readers: dict[str, Path], looks: dict[str, Path]) -> None:
    reader = load_reader(readers[name])
    gray = load_captchas(looks["colour-fresh"]).images
    as_rgb = [np.repeat(im[:, :, None], 3, axis=2) for im in gray]
    assert [s.text for s in reader.read(gray)] == [s.text for s in reader.read(as_rgb)]
