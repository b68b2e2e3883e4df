"""Cutting a captcha into single letters with classic image processing (OpenCV).

The path a captcha takes, one function per step so the notebook can picture each:

    image ─► to_gray ─► (light text on dark: invert) ─► binarize ─► clean ─► find_regions ─► merge_pieces
          ─► fit_count (drop specks / split wide regions) ─► crop_letters

:func:`segment` runs them all and never raises on a strange image: it returns a
:class:`Segmentation` whose ``ok`` is False and whose ``reason`` says what went wrong.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field, replace

import cv2
import numpy as np

MAX_PIXELS = 4_000_000  # larger images are shrunk before any work
OPEN_FROM_HEIGHT = 48  # images at least this high are cleaned with a 2 px opening by default
SPECK = 4  # connected ink of fewer pixels is a speck, not text, when looking for the text
SMALL_TEXT = 0.25  # text whose box covers less than this share of the image is cut out before segmenting
INK_SHARE = 0.2  # text_box(ignore_lines=True): ink is this share of the strongest ink's distance from the
INK_LEVEL = 24.0  # ...background, or this many gray levels (in any colour channel) from it, whichever is less
LINE_ACROSS = 0.6  # ...a piece of ink this share of the width wide is a line across (with the letters it touches)
LINE_THICKNESS = 5  # ...and of it only parts at least this many pixels tall are kept
BOX_DTYPE = np.int32

DARK_ON_LIGHT = "dark on light"
LIGHT_ON_DARK = "light on dark"
"""What :func:`text_polarity` finds: dark text on a light background, or light text on a dark one."""


@dataclass(frozen=True)
class Segmentation:
    """The result of cutting one captcha.

    ``boxes``: (k, 4) int32 ``(x, y, w, h)`` per region, left to right, in the
    coordinates of the image that was passed in. ``letters``: (k, size, size)
    uint8 grayscale crops (dark ink on a light background; (k, size, size, 3)
    in colour when asked), empty (0, size, size) when ``ok`` is False. ``reason`` explains a failure and is "" on success.
    ``ink``: on success, the (H, W) uint8 ink mask (255) the boxes were found
    in, in the same coordinates, for :func:`cut_choices` (None for a failed
    cut or an image shrunk before cutting). ``polarity``: what
    :func:`text_polarity` found; light text is inverted before cutting, so
    the letter crops are dark on light either way.
    """

    boxes: np.ndarray
    letters: np.ndarray
    ok: bool
    reason: str = ""
    ink: np.ndarray | None = field(default=None, repr=False, compare=False)
    polarity: str = DARK_ON_LIGHT


def as_gray_uint8(image: np.ndarray) -> np.ndarray:
    """Any image array → (H, W) uint8 grayscale.

    Accepts (H, W), (H, W, 1), (H, W, 3) RGB or (H, W, 4) RGBA; bool, uint8,
    uint16 or float (0–1 or 0–255) values. Transparent pixels count as white.
    Raises ValueError for arrays that are not images (wrong rank, empty).
    """
    rgb = _as_uint8(image)
    return rgb if rgb.ndim == 2 else cv2.cvtColor(rgb, cv2.COLOR_RGB2GRAY)


def as_rgb_uint8(image: np.ndarray) -> np.ndarray:
    """Any image array (as :func:`as_gray_uint8` accepts) → (H, W, 3) uint8 RGB; gray is repeated in every channel."""
    rgb = _as_uint8(image)
    return np.repeat(rgb[:, :, None], 3, axis=2) if rgb.ndim == 2 else rgb


def _as_uint8(image: np.ndarray) -> np.ndarray:
    """Any image array → (H, W) uint8 gray or (H, W, 3) uint8 RGB, transparency composited over white."""
    array = np.asarray(image)
    if array.ndim == 3 and array.shape[2] == 1:
        array = array[:, :, 0]
    if array.ndim not in (2, 3) or (array.ndim == 3 and array.shape[2] not in (3, 4)):
        raise ValueError(f"expected an image of shape (H, W), (H, W, 3) or (H, W, 4), got {array.shape}")
    if array.size == 0:
        raise ValueError("the image is empty (zero width or height)")
    if not (array.dtype == bool or np.issubdtype(array.dtype, np.number)):
        raise ValueError(f"pixel values must be numbers, got dtype {array.dtype}")
    if array.dtype == bool:
        array = array.astype(np.uint8) * 255
    elif array.dtype == np.uint16:
        array = (array >> 8).astype(np.uint8)
    elif np.issubdtype(array.dtype, np.floating):
        finite = np.nan_to_num(array.astype(np.float64), nan=1.0, posinf=1.0, neginf=0.0)
        scale = 255.0 if finite.max(initial=0.0) <= 1.0 else 1.0
        array = np.clip(finite * scale, 0, 255).astype(np.uint8)
    elif array.dtype != np.uint8:
        array = np.clip(array, 0, 255).astype(np.uint8)
    if array.ndim == 2:
        return array
    rgb = array[:, :, :3].astype(np.float32)
    if array.shape[2] == 4:
        alpha = array[:, :, 3:4].astype(np.float32) / 255.0
        rgb = rgb * alpha + 255.0 * (1.0 - alpha)
    return np.clip(rgb, 0, 255).astype(np.uint8)


def text_polarity(gray: np.ndarray) -> str:
    """Whether a captcha's text is darker or lighter than its background.

    The background is what surrounds the text, so the decision is made on the
    image's border (the outer tenth of its height or width on each side): if
    most of those pixels lie on the dark side of Otsu's threshold, the text
    is light on dark. An image with hardly any contrast counts as dark on
    light. ``gray``: (H, W) uint8. Returns :data:`DARK_ON_LIGHT` or :data:`LIGHT_ON_DARK`.
    """
    height, width = gray.shape
    if min(height, width) < 3 or int(gray.max()) - int(gray.min()) < 16:
        return DARK_ON_LIGHT
    threshold, _ = cv2.threshold(gray, 0, 255, cv2.THRESH_BINARY | cv2.THRESH_OTSU)
    b = max(1, min(height, width) // 10)
    border = np.concatenate([gray[:b].ravel(), gray[-b:].ravel(), gray[b:-b, :b].ravel(), gray[b:-b, -b:].ravel()])
    return LIGHT_ON_DARK if np.count_nonzero(border > threshold) < border.size / 2 else DARK_ON_LIGHT


def dark_on_light(gray: np.ndarray) -> tuple[np.ndarray, str]:
    """(H, W) uint8 -> the same image with dark text on a light background, and the polarity it had."""
    polarity = text_polarity(gray)
    return (cv2.bitwise_not(gray) if polarity == LIGHT_ON_DARK else gray), polarity


def binarize(gray: np.ndarray, method: str = "otsu", threshold: int = 128) -> np.ndarray:
    """Threshold a (H, W) uint8 image into ink (255) and background (0).

    ``method`` is "otsu" (one global threshold chosen from the histogram),
    "adaptive" (a threshold per neighbourhood, for uneven lighting) or "fixed"
    (pixels darker than ``threshold`` are ink). Captchas with light text on a
    dark background are inverted so ink is always 255.
    """
    if method == "fixed":
        _, binary = cv2.threshold(gray, int(threshold) - 1, 255, cv2.THRESH_BINARY_INV)
    elif method == "otsu":
        _, binary = cv2.threshold(gray, 0, 255, cv2.THRESH_BINARY_INV | cv2.THRESH_OTSU)
    elif method == "adaptive":
        block = max(3, (min(gray.shape) // 2) | 1)
        binary = cv2.adaptiveThreshold(gray, 255, cv2.ADAPTIVE_THRESH_GAUSSIAN_C,
                                       cv2.THRESH_BINARY_INV, block, 10)
    else:
        raise ValueError(f"unknown threshold method {method!r}; use 'otsu', 'adaptive' or 'fixed'")
    if np.count_nonzero(binary) > binary.size / 2:  # light ink on a dark background
        binary = cv2.bitwise_not(binary)
    return binary


def text_box(image: np.ndarray, *, margin: float = 0.15, share: float = 0.005,
             ignore_lines: bool = False) -> np.ndarray:
    """Where the text is: the (x, y, w, h) int32 box around a captcha's ink.

    The ink is found as :func:`binarize` finds it (Otsu); specks of fewer than
    ``SPECK`` pixels are left out, and so is the ``share`` of the other ink
    pixels that lie furthest out on each side (the end of a noise line); the
    box is then grown by ``margin`` times its height on
    every side, within the image. A blank image, or one with hardly any ink,
    gives the whole image. ``image``: (H, W) or (H, W, 3) array.

    With ``ignore_lines``, thin lines drawn across the whole captcha do not
    count (:func:`without_thin_lines`), and ink is whatever differs clearly from
    the background (:func:`ink_strength`), so pale text next to dark lines is
    still text. The CTC reader cuts captchas with this box: small text in a
    wide picture crossed by lines then fills the reader's input.
    """
    if ignore_lines:
        strength = ink_strength(image)
        top = float(np.percentile(strength, 99.5)) if strength.size else 0.0
        if min(strength.shape) < 8 or top < 16:
            return np.array([0, 0, strength.shape[1], strength.shape[0]], dtype=BOX_DTYPE)
        binary = np.where(strength > min(INK_SHARE * top, INK_LEVEL), 255, 0).astype(np.uint8)
        return _ink_box(without_thin_lines(binary), margin=margin, share=share)
    gray = as_gray_uint8(image)
    if min(gray.shape) < 8 or int(gray.max()) - int(gray.min()) < 16:
        return np.array([0, 0, gray.shape[1], gray.shape[0]], dtype=BOX_DTYPE)
    return _ink_box(binarize(gray), margin=margin, share=share)


def ink_strength(image: np.ndarray) -> np.ndarray:
    """How far each pixel is from the background: (H, W) float32, 0 on the background.

    The background is the median of the image's border (the outer tenth on
    each side, as in :func:`text_polarity`); the distance is the largest
    difference over the colour channels (gray levels for a gray image), so
    yellow ink on white counts as ink although it is almost as light, and an
    image with its colours inverted gives the same values. Dark and light text
    both give high values. ``image``: any array :func:`as_rgb_uint8` accepts.
    """
    pixels = _as_uint8(image)
    values = pixels.astype(np.float32).reshape(pixels.shape[0], pixels.shape[1], -1)
    height, width = values.shape[:2]
    b = max(1, min(height, width) // 10)
    border = np.concatenate([values[:b].reshape(-1, values.shape[2]), values[-b:].reshape(-1, values.shape[2]),
                             values[:, :b].reshape(-1, values.shape[2]), values[:, -b:].reshape(-1, values.shape[2])])
    return np.abs(values - np.median(border, axis=0)).max(axis=2)


def without_thin_lines(binary: np.ndarray, *, across: float = LINE_ACROSS, thickness: int = LINE_THICKNESS) -> np.ndarray:
    """A (H, W) uint8 ink mask (255) without the thin lines drawn across it.

    A connected piece of ink at least ``across`` times the image's width wide
    is a line, with any letters it touches; of such pieces only what is at
    least ``thickness`` pixels tall in some column survives a vertical opening
    (the letters' strokes), the line itself goes. Other ink is left as it is.
    """
    count, labels, stats, _ = cv2.connectedComponentsWithStats(binary, connectivity=8)
    wide = np.flatnonzero(stats[1:, cv2.CC_STAT_WIDTH] >= across * binary.shape[1]) + 1
    if not len(wide):
        return binary
    lines = np.where(np.isin(labels, wide), 255, 0).astype(np.uint8)
    letters = cv2.morphologyEx(lines, cv2.MORPH_OPEN, np.ones((int(thickness), 1), np.uint8))
    return np.where(lines > 0, letters, binary).astype(np.uint8)


def _ink_box(binary: np.ndarray, *, margin: float = 0.15, share: float = 0.005) -> np.ndarray:
    """:func:`text_box` of a (H, W) uint8 binary image (ink 255), from its row and column ink counts."""
    height, width = binary.shape
    count, labels, stats, _ = cv2.connectedComponentsWithStats(binary, connectivity=8)
    specks = stats[:, cv2.CC_STAT_AREA] < SPECK
    if specks[1:].any():
        specks[0] = True  # the background
        binary = np.where(specks[labels], 0, binary)
    columns = np.count_nonzero(binary, axis=0)
    total = int(columns.sum())
    if total < 16:
        return np.array([0, 0, width, height], dtype=BOX_DTYPE)
    rows = np.count_nonzero(binary, axis=1)

    def extent(counts: np.ndarray) -> tuple[int, int]:
        """First and last index inside the middle (1 - 2 * share) of the ink."""
        cumulative = np.cumsum(counts)
        return (int(np.searchsorted(cumulative, share * total, side="right")),
                int(np.searchsorted(cumulative, (1.0 - share) * total, side="left")))

    (x0, x1), (y0, y1) = extent(columns), extent(rows)
    grow = max(2, int(round(margin * (y1 - y0 + 1))))
    left, top = max(0, x0 - grow), max(0, y0 - grow)
    right, bottom = min(width, x1 + 1 + grow), min(height, y1 + 1 + grow)
    return np.array([left, top, right - left, bottom - top], dtype=BOX_DTYPE)


def clean(binary: np.ndarray, open_size: int | None = None) -> np.ndarray:
    """Remove thin noise (dots, hair lines) by a morphological opening.

    ``binary``: (H, W) uint8 with ink 255. ``open_size`` is the square kernel's
    side; by default 2 px for images at least ``OPEN_FROM_HEIGHT`` px high and
    none (1) below, where strokes are too thin to survive an opening.
    """
    if open_size is None:
        open_size = 2 if binary.shape[0] >= OPEN_FROM_HEIGHT else 1
    if open_size <= 1:
        return binary
    kernel = np.ones((open_size, open_size), np.uint8)
    # Erode and dilate with mirrored anchors: with an even kernel, OpenCV's
    # MORPH_OPEN would shift every shape by one pixel.
    eroded = cv2.erode(binary, kernel, anchor=(0, 0))
    return cv2.dilate(eroded, kernel, anchor=(open_size - 1, open_size - 1))


def find_regions(binary: np.ndarray, min_area: int | None = None, min_extent: int | None = None) -> np.ndarray:
    """Bounding boxes of connected ink regions, specks dropped, left to right.

    ``binary``: (H, W) uint8, ink 255. Returns (k, 4) int32 ``(x, y, w, h)``.
    Noise is dropped: regions of fewer than ``min_area`` pixels (default:
    0.1 % of the image, at least 4) and regions whose width and height are
    both below ``min_extent`` (default: a quarter of the image height), such as dots.
    """
    if min_area is None:
        min_area = max(4, binary.size // 1000)
    if min_extent is None:
        min_extent = max(2, binary.shape[0] // 4)
    count, _, stats, _ = cv2.connectedComponentsWithStats(binary, connectivity=8)
    keep = [i for i in range(1, count)
            if stats[i, cv2.CC_STAT_AREA] >= min_area
            and max(stats[i, cv2.CC_STAT_WIDTH], stats[i, cv2.CC_STAT_HEIGHT]) >= min_extent]
    boxes = stats[keep, :4].astype(BOX_DTYPE).reshape(-1, 4)
    return boxes[np.argsort(boxes[:, 0], kind="stable")]


def _union(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    x0, y0 = min(a[0], b[0]), min(a[1], b[1])
    x1, y1 = max(a[0] + a[2], b[0] + b[2]), max(a[1] + a[3], b[1] + b[3])
    return np.array([x0, y0, x1 - x0, y1 - y0], dtype=BOX_DTYPE)


def merge_pieces(boxes: np.ndarray, overlap: float = 0.5) -> np.ndarray:
    """Join regions that are pieces of one character (one above the other).

    Two boxes merge when their horizontal extents overlap by more than
    ``overlap`` of the narrower box's width. ``boxes``: (k, 4) sorted by x.
    """
    merged: list[np.ndarray] = []
    for box in boxes:
        if merged:
            last = merged[-1]
            shared = min(last[0] + last[2], box[0] + box[2]) - max(last[0], box[0])
            if shared > overlap * min(last[2], box[2]):
                merged[-1] = _union(last, box)
                continue
        merged.append(box.astype(BOX_DTYPE))
    return np.array(merged, dtype=BOX_DTYPE).reshape(-1, 4)


def _area(box: np.ndarray, binary: np.ndarray) -> int:
    x, y, w, h = box
    return int(np.count_nonzero(binary[y:y + h, x:x + w]))


def _split_box(box: np.ndarray, binary: np.ndarray, parts: int) -> list[np.ndarray]:
    """Cut one box into ``parts`` boxes at the columns with the least ink near equal spacing."""
    x, y, w, h = (int(v) for v in box)
    profile = np.count_nonzero(binary[y:y + h, x:x + w], axis=0)
    cuts = [0]
    for k in range(1, parts):
        centre = round(k * w / parts)
        lo, hi = max(cuts[-1] + 1, centre - w // (3 * parts)), min(w - 1, centre + w // (3 * parts))
        cut = lo + int(np.argmin(profile[lo:hi + 1])) if hi >= lo else centre
        cuts.append(cut)
    cuts.append(w)
    pieces = []
    for left, right in zip(cuts[:-1], cuts[1:]):
        columns = binary[y:y + h, x + left:x + right]
        rows = np.flatnonzero(columns.any(axis=1))
        top, bottom = (rows[0], rows[-1] + 1) if rows.size else (0, h)
        pieces.append(np.array([x + left, y + top, right - left, bottom - top], dtype=BOX_DTYPE))
    return pieces


def _nearest_neighbour(boxes: np.ndarray, i: int) -> int | None:
    """Index of the box beside box ``i`` (sorted by x) with the smaller horizontal gap."""
    candidates = []
    for j in (i - 1, i + 1):
        if 0 <= j < len(boxes):
            left, right = sorted((i, j))
            candidates.append((int(boxes[right][0] - (boxes[left][0] + boxes[left][2])), j))
    return min(candidates)[1] if candidates else None


def fit_count(boxes: np.ndarray, binary: np.ndarray, expected: int) -> np.ndarray:
    """Bring the number of regions to ``expected`` when the letter count is known.

    Too many: the weakest region — little ink, or flat like a piece of a noise
    line, below 0.7 of the median — joins its nearest neighbour when the union
    stays letter-sized (at most 1.5 × the median width), otherwise it is
    dropped as noise; regions that all look like letters are left alone.
    Too few: the widest region, if clearly wider (1.25 ×) than the others, is
    split at its emptiest columns into as many letters as its width suggests.
    Returns (k, 4) boxes sorted by x; k may still differ from ``expected`` when
    no sensible change is left.
    """
    boxes = boxes.copy()
    for _ in range(4 * max(expected, len(boxes)) + 4):
        if len(boxes) > expected:
            areas = np.array([_area(b, binary) for b in boxes], dtype=float)
            # a region is noise-like when it holds little ink or is flat (a piece of a line)
            flatness = boxes[:, 3] / max(float(np.median(boxes[:, 3])), 1.0)
            weakness = np.minimum(areas / max(float(np.median(areas)), 1.0), flatness)
            i = int(np.argmin(weakness))
            if weakness[i] >= 0.7:  # every region looks like a letter
                break
            j = _nearest_neighbour(boxes, i)
            if j is not None:
                union = _union(boxes[i], boxes[j])
                if union[2] <= 1.5 * float(np.median(boxes[:, 2])):
                    boxes[j] = union
            boxes = np.delete(boxes, i, axis=0)
        elif 0 < len(boxes) < expected:
            widths = boxes[:, 2]
            i = int(np.argmax(widths))
            missing = expected - len(boxes)
            others = np.delete(widths, i)
            typical = float(np.median(others)) if len(others) else widths[i] / (missing + 1)
            if widths[i] < 1.25 * typical or widths[i] < 4:  # no region looks like several letters
                break
            parts = int(np.clip(round(widths[i] / max(typical, 1.0)), 2, missing + 1))
            pieces = np.array(_split_box(boxes[i], binary, parts), dtype=BOX_DTYPE)
            boxes = np.concatenate([boxes[:i], pieces, boxes[i + 1:]])
        else:
            break
        boxes = boxes[np.argsort(boxes[:, 0], kind="stable")]
    return boxes.reshape(-1, 4)


def ink_masks(binary: np.ndarray, boxes: np.ndarray, share: float = 0.3, major: float = 0.25) -> np.ndarray:
    """Which ink belongs to which letter: (k, H, W) bool, one mask per box.

    A connected ink region stays in box k when at least ``share`` of its
    pixels lie inside the box, or when it makes up at least ``major`` of the
    ink inside the box (letters that overlap share one region). So a
    neighbour's stroke reaching into the box, or a noise dot, is left out,
    while a letter split from its touching neighbour keeps its part.
    ``binary``: (H, W) uint8, ink 255.
    """
    count, labels = cv2.connectedComponents(binary, connectivity=8)
    sizes = np.bincount(labels.ravel(), minlength=count)
    inside = np.zeros((len(boxes), count), dtype=np.int64)
    for k, (x, y, w, h) in enumerate(boxes):
        inside[k] = np.bincount(labels[y:y + h, x:x + w].ravel(), minlength=count)
    inside[:, 0] = 0  # label 0 is paper
    ink = inside.sum(axis=1, keepdims=True)
    keep = (inside >= share * np.maximum(sizes, 1)) | (inside >= major * np.maximum(ink, 1))
    keep[:, 0] = False
    return keep[:, labels]


def crop_letters(gray: np.ndarray, boxes: np.ndarray, size: int = 60, margin: int | None = None,
                 masks: np.ndarray | None = None) -> np.ndarray:
    """Cut each box out of ``gray`` (H, W) uint8 and make it a (size, size) square.

    ``gray`` may also be an (H, W, 3) colour image: the crops are then
    (k, size, size, 3), and the paper colour is taken per channel.

    The crop gets a ``margin`` (default 2 px, or 1 px below 40 px image height),
    is padded with the background colour to a square so thin letters keep their
    shape (no stretching), then resized. With ``masks`` ((k, H, W) bool, from
    :func:`ink_masks`), everything but the letter's own ink (and a pixel around
    it) is painted over with paper: neighbours' strokes, dots and hair lines go.
    Returns (k, size, size) uint8.
    """
    if margin is None:
        margin = 2 if gray.shape[0] >= 40 else 1
    colour = gray.ndim == 3
    background = np.median(gray, axis=(0, 1)).astype(np.uint8) if colour else int(np.median(gray))
    height, width = gray.shape[:2]
    out = np.empty((len(boxes), size, size) + gray.shape[2:], dtype=np.uint8)
    grow = np.ones((3, 3), np.uint8)
    for k, (x, y, w, h) in enumerate(boxes):
        x0, y0 = max(0, x - margin), max(0, y - margin)
        x1, y1 = min(width, x + w + margin), min(height, y + h + margin)
        crop = gray[y0:y1, x0:x1]
        if masks is not None:
            keep = cv2.dilate(masks[k, y0:y1, x0:x1].astype(np.uint8), grow) > 0
            crop = np.where(keep[:, :, None] if colour else keep, crop, background).astype(np.uint8)
        side = max(crop.shape[:2])
        square = np.full((side, side) + gray.shape[2:], background, dtype=np.uint8)
        top, left = (side - crop.shape[0]) // 2, (side - crop.shape[1]) // 2
        square[top:top + crop.shape[0], left:left + crop.shape[1]] = crop
        interpolation = cv2.INTER_AREA if side > size else cv2.INTER_LINEAR
        out[k] = cv2.resize(square, (size, size), interpolation=interpolation)
    return out


def _shrink(gray: np.ndarray, max_pixels: int) -> tuple[np.ndarray, float]:
    if gray.size <= max_pixels:
        return gray, 1.0
    scale = (max_pixels / gray.size) ** 0.5
    size = (max(1, int(gray.shape[1] * scale)), max(1, int(gray.shape[0] * scale)))
    return cv2.resize(gray, size, interpolation=cv2.INTER_AREA), scale


def _failed(boxes: np.ndarray, size: int, reason: str, colour: bool = False) -> Segmentation:
    return Segmentation(np.asarray(boxes, dtype=BOX_DTYPE).reshape(-1, 4),
                        np.empty((0, size, size) + ((3,) if colour else ()), np.uint8), False, reason)


def segment(
    image: np.ndarray,
    expected: int | None = None,
    *,
    size: int = 60,
    method: str = "otsu",
    threshold: int = 128,
    open_size: int | None = None,
    min_area: int | None = None,
    min_extent: int | None = None,
    max_pixels: int = MAX_PIXELS,
    find_text: bool = True,
    colour: bool = False,
) -> Segmentation:
    """Cut one captcha into letters; never raises on a strange image.

    ``image``: (H, W), (H, W, 3) or (H, W, 4) array. ``expected``: the number of
    letters, if known; it allows splitting wide regions and merging pieces, and
    the result fails unless exactly that many regions are found. ``method`` and
    ``threshold`` go to :func:`binarize`, ``open_size`` to :func:`clean` (by
    default 2 px from ``OPEN_FROM_HEIGHT`` px image height, else 1; when
    ``expected`` is known and the other size finds exactly that many regions
    while the default does not, the other size is used),
    ``min_area`` and ``min_extent`` to :func:`find_regions`. With ``find_text``,
    text whose :func:`text_box` covers less than ``SMALL_TEXT`` of the image
    (a few letters somewhere in a wide picture) is cut out first, so that the
    size limits for letters and specks are set by the text, not by the
    picture. Light text on a dark background (:func:`text_polarity`) is
    inverted first, and the result's ``polarity`` says so. Returns a
    :class:`Segmentation` with (k, 4) boxes and (k, size, size) letter crops,
    or, with ``colour``, (k, size, size, 3) crops in colour (the boxes are
    found in gray all the same).
    """
    try:
        gray = as_gray_uint8(image)
    except ValueError as exc:
        return _failed(np.empty((0, 4)), size, f"not an image: {exc}", colour)
    if min(gray.shape) < 8:
        return _failed(np.empty((0, 4)), size, f"image too small ({gray.shape[1]}x{gray.shape[0]} pixels)", colour)
    gray, polarity = dark_on_light(gray)
    source = gray
    if colour:
        source = as_rgb_uint8(image)
        source = 255 - source if polarity == LIGHT_ON_DARK else source
    cut = _segment_dark_on_light(gray, source, expected, size=size, method=method, threshold=threshold,
                                 open_size=open_size, min_area=min_area, min_extent=min_extent, max_pixels=max_pixels,
                                 find_text=find_text)
    return replace(cut, polarity=polarity)


def _segment_dark_on_light(gray: np.ndarray, source: np.ndarray, expected: int | None, *, size: int, method: str,
                           threshold: int, open_size: int | None, min_area: int | None, min_extent: int | None,
                           max_pixels: int, find_text: bool) -> Segmentation:
    """:func:`segment` of a (H, W) uint8 image whose text is dark on light; letters are cut out of
    ``source``, the same image in gray or colour."""
    colour = source.ndim == 3
    work, scale = _shrink(gray, max_pixels)
    if int(work.max()) - int(work.min()) < 16:
        return _failed(np.empty((0, 4)), size, "blank image: no ink to separate from the background", colour)
    ink = binarize(work, method, threshold)
    if find_text and scale == 1.0:
        x, y, w, h = (int(v) for v in _ink_box(ink if method == "otsu" else binarize(work)))
        if w * h < SMALL_TEXT * work.size:
            inner = _segment_dark_on_light(work[y:y + h, x:x + w], source[y:y + h, x:x + w], expected, size=size, method=method, threshold=threshold,
                                           open_size=open_size, min_area=min_area, min_extent=min_extent,
                                           max_pixels=max_pixels, find_text=False)
            ink = None
            if inner.ink is not None:
                ink = np.zeros(work.shape, np.uint8)
                ink[y:y + h, x:x + w] = inner.ink
            return Segmentation(inner.boxes + np.array([x, y, 0, 0], dtype=BOX_DTYPE), inner.letters, inner.ok,
                                inner.reason, ink)
    default = 2 if work.shape[0] >= OPEN_FROM_HEIGHT else 1
    # Automatic clean-up: when the usual opening breaks thin strokes into pieces (or leaves noise
    # that joins letters), the other strength may find the known letter count as it is; prefer that.
    openings = (open_size,) if open_size is not None or expected is None else (default, 3 - default)
    found = []
    for opening in openings:
        binary = clean(ink, opening)
        found.append((binary, merge_pieces(find_regions(binary, min_area, min_extent))))
        if len(found[-1][1]) == expected:
            break
    binary, boxes = next(((b, r) for b, r in found if len(r) == expected), found[0])
    if expected is not None and len(boxes):
        boxes = fit_count(boxes, binary, expected)
    if scale != 1.0:
        boxes = np.round(boxes / scale).astype(BOX_DTYPE)
    if len(boxes) == 0:
        return _failed(boxes, size, "no letter-sized regions found", colour)
    if expected is not None and len(boxes) != expected:
        return _failed(boxes, size, f"found {len(boxes)} regions, expected {expected}", colour)
    masks = ink_masks(binary, boxes) if scale == 1.0 else None
    return Segmentation(boxes, crop_letters(source, boxes, size, masks=masks), True, "",
                        binary if scale == 1.0 else None)


def cut_choices(cut: Segmentation, offsets: Sequence[int] = (-4, -2, 0, 2, 4)) -> list[list[tuple[int, int]]]:
    """Where each letter of a cut could begin and end, for a reader to choose (recognition-guided cutting).

    Two neighbouring boxes where one ends at the very column the other
    begins were split from one region of ink, at a column chosen from the
    ink alone: such a cut is unsure, and
    it may lie at any of ``offsets`` pixels around the column it was made at.
    Cuts between separate regions are sure and stay. Returns, per boundary
    between neighbouring letters (k - 1 of them), the candidate columns:
    one ``(left edge of the right letter, right edge of the left letter)``
    pair for a sure boundary, several pairs (the same column twice) for an
    unsure one. A cut with no unsure boundary gives lists of one pair each.
    """
    boxes = np.asarray(cut.boxes)
    choices = []
    for left_box, right_box in zip(boxes[:-1], boxes[1:]):
        left_end, right_start = int(left_box[0] + left_box[2]), int(right_box[0])
        if right_start != left_end:  # a gap or an overlap: two separate regions (a split leaves neither)
            choices.append([(right_start, left_end)])
            continue
        low, high = int(left_box[0]) + 2, int(right_box[0] + right_box[2]) - 2  # keep both letters 2 px wide
        columns = sorted({min(max(right_start + int(d), low), high) for d in offsets}) if low <= high else [right_start]
        choices.append([(c, c) for c in columns])
    return choices


def piece_box(ink: np.ndarray, left: int, right: int, top: int, bottom: int) -> np.ndarray:
    """The (x, y, w, h) box of columns ``left:right``, its rows shrunk to the ink between ``top`` and ``bottom``."""
    rows = np.flatnonzero(ink[top:bottom, left:right].any(axis=1))
    y0, y1 = (top + int(rows[0]), top + int(rows[-1]) + 1) if rows.size else (top, bottom)
    return np.array([left, y0, max(1, right - left), y1 - y0], dtype=BOX_DTYPE)


def box_iou(a: np.ndarray, b: np.ndarray) -> float:
    """Intersection over union of two ``(x, y, w, h)`` boxes (0 when disjoint)."""
    ix = max(0, min(a[0] + a[2], b[0] + b[2]) - max(a[0], b[0]))
    iy = max(0, min(a[1] + a[3], b[1] + b[3]) - max(a[1], b[1]))
    inter = ix * iy
    union = a[2] * a[3] + b[2] * b[3] - inter
    return float(inter / union) if union > 0 else 0.0


def boxes_match(found: np.ndarray, truth: np.ndarray, min_iou: float = 0.5) -> bool:
    """True when ``found`` has one box per true box, in order, each overlapping it enough.

    ``found``, ``truth``: (k, 4) ``(x, y, w, h)`` boxes, left to right.
    """
    if len(found) != len(truth):
        return False
    return all(box_iou(f, t) >= min_iou for f, t in zip(found, truth))


def segmentation_success(results: Sequence[Segmentation], truths: Sequence[np.ndarray],
                         min_iou: float = 0.5) -> float:
    """Share of captchas whose letters were all found where they really are.

    A captcha counts as a success when segmentation succeeded and every found
    box matches its true box (:func:`boxes_match`). Returns a value in [0, 1].
    """
    if len(results) != len(truths):
        raise ValueError(f"{len(results)} segmentations but {len(truths)} sets of true boxes")
    if not results:
        raise ValueError("no captchas to score")
    hits = sum(r.ok and boxes_match(r.boxes, t, min_iou) for r, t in zip(results, truths))
    return hits / len(results)
