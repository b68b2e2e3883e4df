"""Cutting captchas into letters: normal cases, awkward ones, and images that are not captchas."""

from __future__ import annotations

import numpy as np
import pytest

from helpers.segmentation import (
    as_gray_uint8, binarize, box_iou, boxes_match, crop_letters, segment, segmentation_success, text_box,
)


def blocks(boxes: list[tuple[int, int, int, int]], shape=(60, 160), ink=20, paper=245) -> np.ndarray:
    """A fake captcha: dark rectangles (x, y, w, h) on light paper, (H, W) uint8."""
    image = np.full(shape, paper, np.uint8)
    for x, y, w, h in boxes:
        image[y:y + h, x:x + w] = ink
    return image


FOUR = [(10, 12, 20, 34), (45, 8, 22, 38), (85, 14, 18, 30), (120, 10, 24, 36)]


def test_four_separate_letters_are_found_in_order() -> None:
    result = segment(blocks(FOUR), expected=4)
    assert result.ok, result.reason
    assert result.reason == ""
    np.testing.assert_array_equal(result.boxes, np.array(FOUR))
    assert result.letters.shape == (4, 60, 60) and result.letters.dtype == np.uint8


def test_letter_size_is_a_parameter() -> None:
    assert segment(blocks(FOUR), expected=4, size=28).letters.shape == (4, 28, 28)


def test_specks_are_dropped() -> None:
    image = blocks(FOUR)
    image[2:4, 70:72] = 0  # a 4-pixel speck between letters
    result = segment(image, expected=4)
    assert result.ok and len(result.boxes) == 4


def test_pieces_of_one_letter_are_merged() -> None:
    pieces = FOUR[:3] + [(120, 10, 24, 15), (120, 30, 24, 16)]  # last letter broken in two
    result = segment(blocks(pieces), expected=4)
    assert result.ok, result.reason
    assert tuple(result.boxes[-1]) == (120, 10, 24, 36)


def test_touching_letters_are_split_when_the_count_is_known() -> None:
    touching = [(10, 12, 20, 34), (45, 8, 44, 38), (120, 10, 24, 36)]  # a double-wide region
    result = segment(blocks(touching), expected=4)
    assert result.ok, result.reason
    assert len(result.boxes) == 4
    assert result.boxes[1][2] + result.boxes[2][2] == 44


def test_wrong_count_fails_with_a_reason() -> None:
    result = segment(blocks(FOUR[:3]), expected=5)
    assert not result.ok
    assert "expected 5" in result.reason
    assert result.letters.shape == (0, 60, 60)


def test_letter_sized_regions_are_never_dropped_to_fit_the_count() -> None:
    result = segment(blocks(FOUR), expected=3)
    assert not result.ok and result.reason == "found 4 regions, expected 3"


def test_without_expected_count_all_regions_are_returned() -> None:
    result = segment(blocks(FOUR[:3]))
    assert result.ok and len(result.boxes) == 3


def test_light_text_on_dark_background() -> None:
    result = segment(blocks(FOUR, ink=240, paper=15), expected=4)
    assert result.ok, result.reason
    np.testing.assert_array_equal(result.boxes, np.array(FOUR))


def test_adaptive_threshold_handles_uneven_light() -> None:
    image = blocks(FOUR).astype(np.float32)
    image *= np.linspace(0.55, 1.0, image.shape[1])[None, :]  # a shadow from the left
    result = segment(image.astype(np.uint8), expected=4, method="adaptive")
    assert result.ok, result.reason


def test_unknown_method_is_reported_not_raised() -> None:
    with pytest.raises(ValueError, match="otsu"):
        binarize(blocks(FOUR), method="magic")


@pytest.mark.parametrize("image, words", [
    (np.full((60, 160), 255, np.uint8), "blank"),
    (np.zeros((60, 160), np.uint8), "blank"),
    (np.zeros((4, 4), np.uint8), "too small"),
    (np.zeros((0, 10), np.uint8), "not an image"),
    (np.zeros(10), "not an image"),
    (np.zeros((20, 20, 5), np.uint8), "not an image"),
])
def test_strange_images_fail_cleanly(image: np.ndarray, words: str) -> None:
    result = segment(image, expected=4)
    assert not result.ok
    assert words in result.reason


def test_other_dtypes_are_cut_like_their_uint8_picture_and_nan_does_not_raise() -> None:
    clean = blocks(FOUR, ink=0, paper=255)
    for image in (clean / 255.0, clean.astype(np.float32), clean > 127, clean.astype(np.uint16) * 257,
                  clean.astype(np.int64)):
        result = segment(image, expected=4)
        assert result.ok, (image.dtype, result.reason)
        np.testing.assert_array_equal(result.boxes, np.array(FOUR))
    noisy = np.random.default_rng(0).random((60, 160))
    noisy[0, 0] = np.nan
    for image in (noisy, np.int64(3) * np.ones((30, 30))):
        result = segment(image, expected=4)  # noise and a flat square: no letters, and no exception
        assert result.ok is False and result.reason


def test_huge_image_is_shrunk_and_boxes_come_back_in_its_coordinates() -> None:
    scale = 25  # 1500 x 4000 = 6 M pixels, over the 4 M limit
    big = blocks([(x * scale, y * scale, w * scale, h * scale) for x, y, w, h in FOUR],
                 shape=(60 * scale, 160 * scale))
    result = segment(big, expected=4)
    assert result.ok, result.reason
    for found, (x, y, w, h) in zip(result.boxes, FOUR):
        assert box_iou(found, np.array([x, y, w, h]) * scale) > 0.9


def test_rgb_and_rgba_inputs() -> None:
    gray = blocks(FOUR)
    rgb = np.stack([gray] * 3, axis=-1)
    rgba = np.dstack([rgb, np.full(gray.shape, 255, np.uint8)])
    assert segment(rgb, expected=4).ok
    assert segment(rgba, expected=4).ok
    transparent = rgba.copy()
    transparent[:, :, 3] = 0
    assert as_gray_uint8(transparent).min() == 255  # fully transparent reads as white paper


def test_crop_keeps_the_aspect_ratio() -> None:
    thin = blocks([(70, 5, 6, 50)])
    (letter,) = crop_letters(thin, np.array([[70, 5, 6, 50]]), size=60)
    ink_columns = np.flatnonzero((letter < 128).any(axis=0))
    ink_rows = np.flatnonzero((letter < 128).any(axis=1))
    assert len(ink_columns) < len(ink_rows) / 3  # a thin bar stays thin, not stretched to a square


def test_box_iou() -> None:
    a = np.array([0, 0, 10, 10])
    assert box_iou(a, a) == 1.0
    assert box_iou(a, np.array([20, 20, 5, 5])) == 0.0
    assert box_iou(a, np.array([5, 0, 10, 10])) == pytest.approx(50 / 150)


def test_segmentation_success_scores_against_truth() -> None:
    truth = np.array(FOUR)
    good = segment(blocks(FOUR), expected=4)
    shifted = truth + np.array([15, 0, 0, 0])  # every box misplaced
    assert boxes_match(good.boxes, truth)
    assert not boxes_match(good.boxes, shifted)
    failed = segment(blocks(FOUR[:3]), expected=4)
    assert segmentation_success([good, good, failed, good], [truth, shifted, truth, truth]) == 0.5
    with pytest.raises(ValueError):
        segmentation_success([good], [])


def test_crops_keep_only_their_own_ink() -> None:
    from helpers.segmentation import clean, binarize, ink_masks

    image = blocks(FOUR)
    image[30:34, 33:44] = 20  # a stroke of the second letter reaching into the first letter's margin…
    image[30:34, 44:46] = 20  # …joined to the second letter
    binary = clean(binarize(image))
    boxes = np.array(FOUR)
    masks = ink_masks(binary, boxes)
    assert masks.shape == (4, 60, 160)
    assert masks[1, 31, 35] and not masks[0, 31, 35]  # the stroke belongs to letter 2
    letters = crop_letters(image, boxes, size=60, margin=4, masks=masks)
    plain = crop_letters(image, boxes, size=60, margin=4)
    assert (letters[0] < 128).sum() < (plain[0] < 128).sum()  # the foreign stroke was painted over


def test_fixed_threshold_decides_what_counts_as_ink() -> None:
    image = blocks(FOUR, ink=150)  # mid-gray letters on light paper
    assert np.count_nonzero(binarize(image, "fixed", threshold=100)) == 0  # too strict: no ink at all
    assert np.count_nonzero(binarize(image, "fixed", threshold=200)) == sum(w * h for _, _, w, h in FOUR)
    assert segment(image, expected=4, method="fixed", threshold=200).ok
    assert not segment(image, expected=4, method="fixed", threshold=100).ok
    with pytest.raises(ValueError, match="'otsu', 'adaptive' or 'fixed'"):
        binarize(image, "magic")


@pytest.mark.parametrize("size", [(72, 24), (107, 40), (117, 44), (123, 46), (160, 60), (213, 80)])
def test_easy_captchas_are_cut_where_the_letters_are_at_every_size(size: tuple[int, int]) -> None:
    """Thin strokes at 40-47 px used to break under the default clean-up; the letters must survive."""
    from helpers.captchas import generate_captchas

    made = generate_captchas(200, "easy", seed=33, size=size)
    cuts = [segment(c.image, 4) for c in made]
    assert segmentation_success(cuts, [c.boxes for c in made]) >= 0.99


def test_the_other_clean_up_is_used_when_only_it_finds_the_letter_count() -> None:
    # hair-thin (1 px) letters: a 2 px opening erases them, so at 60 px the gentle clean-up must step in
    image = np.full((60, 160), 245, np.uint8)
    for x in (15, 50, 85, 120):
        image[10:50, x] = 20
        image[10, x:x + 15] = 20
        image[49, x:x + 15] = 20
    result = segment(image, expected=4)
    assert result.ok, result.reason
    assert [int(b[0]) for b in result.boxes] == [15, 50, 85, 120]
    assert not segment(image, expected=4, open_size=2).ok  # the usual clean-up alone fails


def test_text_box_finds_small_text_in_a_wide_image_and_ignores_a_stray_dot() -> None:
    image = blocks([(300, 20, 12, 20), (316, 22, 12, 18), (332, 20, 12, 20)], shape=(80, 600))
    image[2, 590] = 20  # one stray dark pixel far away
    x, y, w, h = text_box(image, margin=0.1)
    assert (x, y) == (298, 18) and (x + w, y + h) == (346, 42)
    assert text_box(255 - image, margin=0.1).tolist() == [x, y, w, h]  # light text on dark paper


def test_text_box_can_ignore_thin_lines_across_and_keep_pale_text() -> None:
    import cv2

    text = [(300, 40, 6, 14), (310, 40, 6, 14), (320, 40, 6, 14), (330, 37, 6, 17)]
    image = blocks(text, shape=(100, 600), ink=215)  # pale letters 12 to 17 pixels high
    cv2.line(image, (0, 10), (599, 90), 30, 1)  # dark thin lines across, one through the letters
    cv2.line(image, (0, 80), (599, 45), 60, 2)
    assert text_box(image, margin=0.0)[3] > 70  # Otsu's ink is the lines: the box spans them
    x, y, w, h = text_box(image, margin=0.0, ignore_lines=True)
    # The letters span x 300-336, y 37-54; where a line crosses them a few of its pixels stay.
    assert 296 <= x <= 300 and 33 <= y <= 37 and 336 <= x + w <= 340 and 54 <= y + h <= 58
    rgb = np.dstack([image, image, np.where(image == 215, 0, image)]).astype(np.uint8)  # yellow letters
    assert text_box(rgb, margin=0.0, ignore_lines=True).tolist() == [x, y, w, h]
    assert text_box(255 - image, margin=0.0, ignore_lines=True).tolist() == [x, y, w, h]  # light on dark


@pytest.mark.parametrize("ignore_lines", [False, True])
@pytest.mark.parametrize("image", [np.full((40, 120), 200, np.uint8), np.zeros((5, 5), np.uint8)])
def test_text_box_of_a_blank_or_tiny_image_is_the_whole_image(image: np.ndarray, ignore_lines: bool) -> None:
    assert text_box(image, ignore_lines=ignore_lines).tolist() == [0, 0, image.shape[1], image.shape[0]]


def test_small_text_in_a_wide_image_is_found_first_and_cut_where_it_is() -> None:
    letters = [(200, 50, 8, 14), (212, 50, 8, 14), (224, 50, 8, 14), (236, 47, 8, 17)]
    image = blocks(letters, shape=(110, 320))
    image[5, 10], image[100, 300] = 30, 30  # two specks far from the text
    result = segment(image, expected=4)
    assert result.ok, result.reason
    np.testing.assert_array_equal(result.boxes, np.array(letters))  # in the whole image's coordinates
    # seen at the whole picture's scale, the letters are below the size limits for letters
    assert not segment(image, expected=4, find_text=False).ok
