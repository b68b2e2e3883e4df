"""Drawing captchas: determinism, true boxes, the looks, bad input (folders: test_captcha_files.py)."""

from __future__ import annotations

import hashlib
import random
from pathlib import Path

import cv2
import numpy as np
import pytest

from helpers.captcha_files import save_captchas, to_gray
from helpers.captchas import (
    DEFAULT_ALPHABET,
    DEFAULT_SIZE,
    LEVELS,
    LOOKS,
    CaptchaDataError,
    generate_captchas,
    iter_captchas,
    make_captcha,
)

SIZES = [(160, 60), (72, 24)]


def folder_hashes(folder: Path) -> dict[str, str]:
    """File name -> sha256 of every file in ``folder``."""
    return {p.name: hashlib.sha256(p.read_bytes()).hexdigest() for p in sorted(folder.iterdir())}


def contour_boxes(image: np.ndarray) -> list[tuple[int, int, int, int]]:
    """Bounding boxes of the outer contours of an Otsu-thresholded image, left to right."""
    _, ink = cv2.threshold(to_gray(image), 0, 255, cv2.THRESH_BINARY_INV + cv2.THRESH_OTSU)
    contours, _ = cv2.findContours(ink, cv2.RETR_EXTERNAL, cv2.CHAIN_APPROX_SIMPLE)
    return sorted(cv2.boundingRect(c) for c in contours)


# --------------------------------------------------------------------------- determinism


def test_same_seed_gives_byte_identical_files_whatever_the_global_random_state(tmp_path: Path) -> None:
    hashes = []
    for run, scramble in enumerate([1, 987654]):
        random.seed(scramble)
        np.random.seed(scramble)
        random.random(), np.random.random(7)
        folder = tmp_path / f"run{run}"
        for level in LEVELS:
            save_captchas(generate_captchas(5, level, seed=42), folder / level)
        hashes.append({level: folder_hashes(folder / level) for level in LEVELS})
    assert hashes[0] == hashes[1]
    assert all(len(h) == 6 for h in hashes[0].values())  # 5 PNGs + boxes.json (labels may repeat: _k)


def test_different_seeds_give_different_captchas() -> None:
    for level in LEVELS:
        a = generate_captchas(3, level, seed=1)
        b = generate_captchas(3, level, seed=2)
        assert [c.label for c in a] != [c.label for c in b]
        assert all(not np.array_equal(x.image, y.image) for x, y in zip(a, b))
    same_label = [make_captcha("AB3D", level, seed=s).image for s in (0, 1) for level in ["easy"]]
    assert not np.array_equal(*same_label)


def test_first_captchas_of_a_larger_set_equal_a_smaller_set() -> None:
    small = generate_captchas(3, "medium", seed=9)
    large = generate_captchas(12, "medium", seed=9)
    for a, b in zip(small, large):
        assert a.label == b.label
        np.testing.assert_array_equal(a.image, b.image)
        np.testing.assert_array_equal(a.boxes, b.boxes)


def test_iter_captchas_is_the_lazy_generate_captchas() -> None:
    lazy = iter_captchas(4, "hard", seed=3, size=(72, 24))
    first = next(lazy)  # drawn on demand: the first one comes before the others exist
    eager = generate_captchas(4, "hard", seed=3, size=(72, 24))
    for a, b in zip([first, *lazy], eager, strict=True):
        assert a.label == b.label
        np.testing.assert_array_equal(a.image, b.image)
        np.testing.assert_array_equal(a.boxes, b.boxes)


def test_make_captcha_is_deterministic_and_draws_the_label() -> None:
    a = make_captcha("K7PX", "hard", seed=5)
    b = make_captcha("K7PX", "hard", seed=5)
    assert a.label == "K7PX"
    np.testing.assert_array_equal(a.image, b.image)
    np.testing.assert_array_equal(a.boxes, b.boxes)


def test_labels_come_from_the_alphabet_with_the_requested_length() -> None:
    captchas = generate_captchas(30, "easy", seed=0, alphabet="AB7", length=6)
    assert all(len(c.label) == 6 and set(c.label) <= set("AB7") for c in captchas)
    assert {ch for c in captchas for ch in c.label} == set("AB7")
    assert generate_captchas(0, seed=0) == []


# --------------------------------------------------------------------------- pictures and boxes


@pytest.mark.parametrize("size", SIZES)
@pytest.mark.parametrize("level", LOOKS)
def test_every_level_renders_with_boxes_inside_in_label_order(level: str, size: tuple[int, int]) -> None:
    width, height = size
    for c in generate_captchas(25, level, seed=11, size=size):
        assert c.image.shape == (height, width, 3) and c.image.dtype == np.uint8
        assert c.boxes.shape == (4, 4) and c.boxes.dtype == np.int32
        x, y, w, h = c.boxes.T
        assert (x >= 0).all() and (y >= 0).all() and (w > 0).all() and (h > 0).all()
        assert (x + w <= width).all() and (y + h <= height).all()
        assert (np.diff(x) > 0).all() and (np.diff(x + w / 2) > 0).all()  # left to right
        assert c.image.std() > 10  # something was drawn


@pytest.mark.parametrize(("look", "most_overlap"), [("tight", 2), ("tight-varied", 3)])
def test_tight_looks_are_small_and_their_letters_touch(look: str, most_overlap: int) -> None:
    made = generate_captchas(200, look, seed=5)
    assert {c.image.shape for c in made} == {(24, 72, 3)}
    gaps = np.array([int(c.boxes[i + 1, 0] - c.boxes[i, 0] - c.boxes[i, 2]) for c in made for i in range(3)])
    assert gaps.max() <= 0 and gaps.min() >= -most_overlap  # ink boxes touch or overlap by a pixel or few
    assert (gaps < 0).mean() > 0.5
    assert make_captcha("AB23", look, seed=1, size=(100, 40)).image.shape == (40, 100, 3)


@pytest.mark.parametrize("look", ["colour", "dark"])
def test_colour_looks_draw_lines_as_bright_as_the_characters_in_other_colours(look: str) -> None:
    """In gray the crossing lines look like ink; only their colours differ from the characters'."""
    from helpers.captchas import STYLES

    low, high = STYLES[look].ink
    for c in generate_captchas(20, look, seed=6):
        gray = to_gray(c.image).astype(int)
        inside = np.zeros(gray.shape, bool)
        for x, y, w, h in c.boxes:
            inside[y:y + h, x:x + w] = True
        ink = (gray >= low - 1) & (gray <= high + 1)  # pixels at the characters' (and lines') brightness
        assert (ink & ~inside).sum() > 80  # lines outside the characters' boxes
        colours = {tuple(v) for v in c.image[ink & inside][::7].tolist()}
        assert len(colours) >= 4  # several hues, not one gray
    light = generate_captchas(10, "dark", seed=6)
    assert all(np.median(to_gray(c.image)) < 60 for c in light)  # light text on a dark background


def test_jpeg_quality_adds_artefacts_but_keeps_label_and_boxes() -> None:
    clean = make_captcha("AB23", "colour", seed=3)
    blocky = make_captcha("AB23", "colour", seed=3, jpeg_quality=30)
    assert blocky.label == clean.label and np.array_equal(blocky.boxes, clean.boxes)
    difference = np.abs(blocky.image.astype(int) - clean.image.astype(int))
    assert 2 < difference.mean() < 30
    assert np.array_equal(make_captcha("AB23", "colour", seed=3, jpeg_quality=30).image, blocky.image)
    assert np.array_equal(generate_captchas(3, "easy", seed=1, jpeg_quality=50)[2].image,
                          list(iter_captchas(3, "easy", seed=1, jpeg_quality=50))[2].image)


def test_easy_boxes_hold_dark_ink_and_nothing_dark_lies_outside() -> None:
    for c in generate_captchas(40, "easy", seed=4):
        gray = to_gray(c.image)
        outside = np.ones(gray.shape, bool)
        for x, y, w, h in c.boxes:
            inside = gray[y:y + h, x:x + w]
            assert inside.min() < 80 and (inside < 128).mean() > 0.1
            # the box is tight: its first/last rows and columns all touch ink
            dark = inside < 160
            assert dark[0].any() and dark[-1].any() and dark[:, 0].any() and dark[:, -1].any()
            outside[y:y + h, x:x + w] = False
        assert gray[outside].min() >= 100
        assert np.median(gray) >= 240  # white or very light background


@pytest.mark.parametrize("size", SIZES)
def test_easy_characters_are_separated_and_contour_segmentation_finds_them(size: tuple[int, int]) -> None:
    captchas = generate_captchas(300, "easy", seed=21, size=size)
    found = 0
    for c in captchas:
        gaps = c.boxes[1:, 0] - (c.boxes[:-1, 0] + c.boxes[:-1, 2])
        assert gaps.min() >= 2
        rects = contour_boxes(c.image)
        found += len(rects) == 4 and all(
            np.abs(np.array(r) - b).max() <= 2 for r, b in zip(rects, c.boxes)
        )
    assert found / len(captchas) >= 0.99


@pytest.mark.parametrize("height", [16, 18, 21, 90])
def test_easy_gap_is_at_least_two_pixels_at_any_size(height: int) -> None:
    for c in generate_captchas(40, "easy", seed=6, size=(3 * height, height)):
        assert (c.boxes[1:, 0] - (c.boxes[:-1, 0] + c.boxes[:-1, 2])).min() >= 2


def test_medium_sometimes_and_hard_usually_overlaps_neighbours() -> None:
    def share_overlapping(level: str) -> float:
        captchas = generate_captchas(150, level, seed=8)
        return np.mean([
            ((c.boxes[1:, 0] - (c.boxes[:-1, 0] + c.boxes[:-1, 2])) < 0).any() for c in captchas
        ])

    assert 0.05 <= share_overlapping("medium") <= 0.5
    assert share_overlapping("hard") >= 0.9


def test_medium_and_hard_are_noisier_than_easy() -> None:
    def contours(level: str) -> float:
        return np.mean([len(contour_boxes(c.image)) for c in generate_captchas(30, level, seed=2)])

    assert contours("easy") == 4
    assert contours("medium") != 4


@pytest.mark.parametrize(
    ("call", "message"),
    [
        (lambda: make_captcha("AB", "extreme", seed=0), "choose one of easy, medium, hard"),
        (lambda: make_captcha("", seed=0), "non-empty"),
        (lambda: make_captcha("A B", seed=0), "visible characters"),
        (lambda: make_captcha("A\u4e2d", seed=0), "cannot draw"),
        (lambda: make_captcha("AB", seed=-1), "non-negative"),
        (lambda: make_captcha("AB", seed=0, jpeg_quality=0), "from 1 to 95"),
        (lambda: make_captcha("AB", seed=0, jpeg_quality=96), "from 1 to 95"),
        (lambda: generate_captchas(2, seed=0, jpeg_quality=True), "from 1 to 95"),
        (lambda: make_captcha("AB", seed=0, size=(60, 15)), "at least 16"),
        (lambda: make_captcha("ABCDEFGHJKLMNPQRSTUV", seed=0, size=(40, 20)), "wider size"),
        (lambda: iter_captchas(-1, seed=0), "count"),
        (lambda: iter_captchas(3, seed=0, length=0), "length"),
        (lambda: iter_captchas(3, seed=0, alphabet=""), "alphabet"),
        (lambda: generate_captchas(3, "hard", seed=0, alphabet="AB\U0001F600"), "cannot draw"),
    ],
)
def test_bad_generator_input_is_refused_with_a_hint(call, message: str) -> None:
    with pytest.raises(CaptchaDataError, match=message):
        call()


def test_default_constants() -> None:
    assert DEFAULT_SIZE == (160, 60) and LEVELS == ("easy", "medium", "hard")
    assert LOOKS == LEVELS + ("tight", "tight-varied", "colour", "dark")
    assert not set(DEFAULT_ALPHABET) & set("0O1Il")
    assert issubclass(CaptchaDataError, ValueError)


def test_every_style_names_its_noise_and_unknown_noise_is_refused() -> None:
    import dataclasses

    from helpers.captchas import NOISE, STYLES

    assert [STYLES[level].noise for level in LEVELS] == ["specks", "dots and lines", "wave and dots"]
    assert {style.noise for style in STYLES.values()} <= set(NOISE)
    with pytest.raises(ValueError, match="unknown noise 'sparkles'"):
        dataclasses.replace(STYLES["easy"], noise="sparkles")


def test_the_renderer_draws_the_noise_a_style_names() -> None:
    import dataclasses

    from helpers.captchas import STYLES, render

    hard = STYLES["hard"]
    noisy = render("AB3K", hard, (160, 60), np.random.default_rng(5))
    plain = render("AB3K", dataclasses.replace(hard, noise="none"), (160, 60), np.random.default_rng(5))
    assert np.array_equal(noisy.boxes, plain.boxes)  # the same letters in the same places
    outside = np.ones((60, 160), bool)
    for x, y, w, h in plain.boxes:
        outside[y:y + h, x:x + w] = False
    dark = lambda c: to_gray(c.image) < 128  # noqa: E731
    assert (dark(noisy) & outside).sum() > 3 * (dark(plain) & outside).sum()
