"""What goes into a CTC reader and what comes out of it, without Keras.

Everything here is plain NumPy and OpenCV, so a reader exported to ONNX
(:mod:`helpers.portable`) prepares and decodes captchas exactly as the Keras
reader of :mod:`helpers.ctc` does, on a machine without TensorFlow:

* :class:`CharCodec`: labels to class indices and back (class 0 = the blank);
* :func:`prepare_images`: captchas of any size to the network's input
  (B, height, width, 1 or 3) float32 in [0, 1], white = 1, text dark on light
  whatever its polarity in the captcha (:func:`dark_text`);
* :func:`read_probabilities`: a batch of captchas through any network that
  maps such an input to (B, T, n_classes) probabilities, grouped by width;
* :func:`greedy_readings`: probabilities to texts, with a confidence per character.

:mod:`helpers.ctc` imports all of these, so ``ctc.CharCodec`` and the others
keep working.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass

import cv2
import numpy as np

BLANK: int = 0
"""Class index of the CTC blank symbol."""

PAD: int = 0
"""Value that pads encoded labels to a common length (the blank: never a character)."""

POOLED_WIDTH_FACTOR: int = 8
"""Default pixel width of one time step: the feature extractor shrinks the width by this factor."""

WIDTH_QUANTUM: int = 16
"""A model of any width reads each captcha padded with white to the next multiple of this many pixels."""

MIN_TEXT_ASPECT: float = 2.5
""":func:`crop_to_text` keeps a box at least this many times as wide as it is high (where the image allows):
at a height of 32 pixels and 8 pixels per time step, 10 time steps, so a tight box around a few tall
letters still leaves room for a blank between equal neighbours."""


# --------------------------------------------------------------------------- text <-> integers


@dataclass(frozen=True)
class CharCodec:
    """Turns labels into integer sequences for CTC and back.

    ``alphabet[k]`` is class k + 1; class 0 is the CTC blank, which also pads
    encoded labels. A model for this codec has ``n_classes`` = len(alphabet) + 1
    outputs per time step.
    """

    alphabet: str

    def __post_init__(self) -> None:
        if not isinstance(self.alphabet, str) or not self.alphabet:
            raise ValueError(f"the alphabet must be a non-empty string of characters, got {self.alphabet!r}")
        seen: set[str] = set()
        for ch in self.alphabet:
            if ch in seen:
                raise ValueError(f"the alphabet {self.alphabet!r} lists {ch!r} twice; give each character once")
            seen.add(ch)

    @property
    def n_symbols(self) -> int:
        """Number of characters (without the blank)."""
        return len(self.alphabet)

    @property
    def n_classes(self) -> int:
        """Number of model outputs per time step: the characters plus the blank."""
        return len(self.alphabet) + 1

    def _index(self) -> dict[str, int]:
        return {ch: k + 1 for k, ch in enumerate(self.alphabet)}

    def encode(self, labels: Sequence[str], max_len: int | None = None) -> tuple[np.ndarray, np.ndarray]:
        """Labels -> padded class indices and lengths.

        Args:
            labels: N strings, possibly of different lengths, each non-empty.
            max_len: width of the padded array; defaults to the longest label.

        Returns:
            ``(indices, lengths)``: (N, max_len) int32 with rows padded by ``PAD``
            (0), and (N,) int32 label lengths.

        Raises:
            ValueError: a label is empty, longer than ``max_len``, or uses a
                character outside the alphabet (the message names both).
        """
        if isinstance(labels, str):
            raise ValueError(f"encode expects a list of labels, got the single string {labels!r}; "
                             f"wrap it in a list: [{labels!r}]")
        labels = list(labels)
        index = self._index()
        longest = max((len(label) for label in labels), default=0)
        width = longest if max_len is None else int(max_len)
        indices = np.full((len(labels), width), PAD, dtype=np.int32)
        lengths = np.zeros(len(labels), dtype=np.int32)
        for i, label in enumerate(labels):
            if not isinstance(label, str) or not label:
                raise ValueError(f"label #{i} is {label!r}; every captcha needs a non-empty text label")
            if len(label) > width:
                raise ValueError(f"label {label!r} has {len(label)} characters, more than max_len={width}")
            for j, ch in enumerate(label):
                if ch not in index:
                    raise ValueError(
                        f"label {label!r} contains {ch!r}, which is not in the alphabet {self.alphabet!r}; "
                        "add it to the alphabet or fix the label"
                    )
                indices[i, j] = index[ch]
            lengths[i] = len(label)
        return indices, lengths

    def decode(self, indices: Sequence[int] | np.ndarray) -> str:
        """Class indices -> text. Blank/padding (0) and -1 (``ctc_decode``'s padding) are skipped.

        This is a plain lookup: it does not merge repeats (``decode_predictions``
        does the CTC collapsing before calling it).

        Raises:
            ValueError: an index is larger than the alphabet.
        """
        chars = []
        for value in np.asarray(indices).ravel().tolist():
            k = int(value)
            if k == BLANK or k == -1:
                continue
            if k < 0 or k > self.n_symbols:
                raise ValueError(f"class index {k} does not exist for the {self.n_symbols}-character alphabet "
                                 f"{self.alphabet!r} (valid: 1..{self.n_symbols}, 0 = blank)")
            chars.append(self.alphabet[k - 1])
        return "".join(chars)


# --------------------------------------------------------------------------- time steps


def time_steps(width: int, step_width: int = POOLED_WIDTH_FACTOR) -> int:
    """Number of time steps T a model built with ``step_width`` produces for an input ``width`` pixels wide."""
    return int(width) // int(step_width)


def steps_needed(label: str) -> int:
    """Fewest time steps CTC can spell ``label`` in: one per character, plus a blank between equal neighbours.

    At most 2L - 1 for L characters ("7777"); L when no two neighbours are equal.
    """
    return len(label) + sum(a == b for a, b in zip(label, label[1:]))


# --------------------------------------------------------------------------- images


def _gray(image: np.ndarray, i: int) -> np.ndarray:
    """One (H, W), (H, W, 1), (H, W, 3) RGB or (H, W, 4) RGBA uint8 image -> (H, W) uint8."""
    image = _pixels(image, i)
    return image if image.ndim == 2 else cv2.cvtColor(image, cv2.COLOR_RGB2GRAY)


def _pixels(image: np.ndarray, i: int) -> np.ndarray:
    """One uint8 image -> (H, W) gray or (H, W, 3) RGB, RGBA composited over white."""
    image = np.asarray(image)
    if image.dtype != np.uint8:
        raise ValueError(f"image #{i} has dtype {image.dtype}; pass uint8 pixels (0-255), e.g. "
                         "np.clip(image, 0, 255).astype(np.uint8)")
    if image.ndim == 2:
        return image
    if image.ndim == 3 and image.shape[2] == 1:
        return image[:, :, 0]
    if image.ndim == 3 and image.shape[2] == 3:
        return np.ascontiguousarray(image)
    if image.ndim == 3 and image.shape[2] == 4:
        alpha = image[:, :, 3:4].astype(np.float32) / 255.0
        rgb = image[:, :, :3].astype(np.float32) * alpha + 255.0 * (1.0 - alpha)
        return np.rint(rgb).astype(np.uint8)
    raise ValueError(f"image #{i} has shape {image.shape}; expected (H, W) gray, (H, W, 3) RGB or (H, W, 4) RGBA")


def dark_text(image: np.ndarray, i: int = 0, channels: int = 1) -> tuple[np.ndarray, str]:
    """One uint8 image -> its pixels with the text dark on light, and the polarity it had.

    ``channels`` 1 gives (H, W) gray, 3 gives (H, W, 3) RGB (a gray image is
    repeated in every channel). Light text on a dark background
    (:func:`helpers.segmentation.text_polarity`) is inverted, in every channel.
    """
    from helpers.segmentation import LIGHT_ON_DARK, text_polarity

    pixels = _pixels(image, i)
    gray = pixels if pixels.ndim == 2 else cv2.cvtColor(pixels, cv2.COLOR_RGB2GRAY)
    polarity = text_polarity(gray)
    out = gray if channels == 1 else (np.repeat(pixels[:, :, None], 3, axis=2) if pixels.ndim == 2 else pixels)
    return (255 - out if polarity == LIGHT_ON_DARK else out), polarity


def _scale(pixels: np.ndarray, height: int, width: int, stretch_contrast: bool) -> np.ndarray:
    """(H, W) or (H, W, 3) uint8 -> (height, width, 1 or 3) float32 in [0, 1], optionally contrast-stretched."""
    shrink = pixels.shape[0] > height or pixels.shape[1] > width
    resized = cv2.resize(pixels, (width, height), interpolation=cv2.INTER_AREA if shrink else cv2.INTER_LINEAR)
    values = resized.astype(np.float32).reshape(height, width, -1)
    if stretch_contrast:
        low, high = np.percentile(values, (1.0, 99.0))
        return np.clip((values - low) / max(float(high - low), 1.0), 0.0, 1.0)
    return values * (1.0 / 255.0)


def crop_to_text(images: Sequence[np.ndarray], min_aspect: float = MIN_TEXT_ASPECT) -> list[np.ndarray]:
    """Each image cut down to the box around its text (:func:`helpers.segmentation.text_box`,
    thin lines across the captcha ignored).

    Text that fills only a small part of a captcha then fills the model's
    input: resized to the model's height, its letters keep more pixels and
    take more time steps, and where the text sits no longer matters. A box
    narrower than ``min_aspect`` times its height is widened about its centre,
    within the image (:data:`MIN_TEXT_ASPECT`).
    Images (H, W[, C]) in, views (h, w[, C]) of them out.
    """
    from helpers.segmentation import text_box

    out = []
    for image in images:
        pixels = np.asarray(image)
        x, y, w, h = (int(v) for v in text_box(pixels, ignore_lines=True))
        x, w = _widened(x, w, int(np.ceil(min_aspect * h)), pixels.shape[1])
        out.append(pixels[y:y + h, x:x + w])
    return out


def _widened(x: int, w: int, wanted: int, image_width: int) -> tuple[int, int]:
    """The columns ``x, w`` grown about their centre to ``wanted`` wide, kept inside ``image_width``."""
    if w >= wanted:
        return x, w
    grown = min(wanted, image_width)
    return min(max(0, x - (grown - w) // 2), image_width - grown), grown


def kept_width(shape: Sequence[int], height: int, step_width: int = POOLED_WIDTH_FACTOR) -> int:
    """Width in pixels of an image of ``shape`` (H, W, ...) resized to ``height`` with its aspect ratio kept."""
    return max(2 * int(step_width), int(round(shape[1] * height / max(shape[0], 1))))


def prepare_images(images: Sequence[np.ndarray], height: int, width: int | None, *,
                   stretch_contrast: bool = True, step_width: int = POOLED_WIDTH_FACTOR, channels: int = 1,
                   polarities: list[str] | None = None) -> np.ndarray:
    """Images of any size -> the model's input.

    Each image is turned gray (or kept in colour with ``channels=3``), its
    text made dark on light (:func:`dark_text`), and resized: with a ``width``,
    stretched to ``width`` x ``height``; with ``width=None``, to ``height`` with
    its aspect ratio kept (at least two time steps wide) and padded on the
    right with white up to the widest image of the batch. Values are scaled to
    [0, 1]; with ``stretch_contrast`` each image's darkest 1 % of values become
    0 and its brightest 1 % become 1, so pale and dark ink look alike to the model.

    Args:
        images: N uint8 arrays, (H, W) gray or (H, W, 3) RGB (or RGBA); sizes may differ.
        height, width: the model's input size (width None: any width).
        step_width: pixels per time step (only sets the narrowest kept width).
        channels: 1 (gray) or 3 (RGB).
        polarities: if a list is given, the polarity found in each image is appended to it.

    Returns:
        (N, height, W, channels) float32 in [0, 1]; W = ``width``, or the widest kept width.
    """
    if channels not in (1, 3):
        raise ValueError(f"channels must be 1 (gray) or 3 (colour), got {channels}")
    found = [dark_text(image, i, channels) for i, image in enumerate(images)]
    if polarities is not None:
        polarities.extend(polarity for _, polarity in found)
    widths = [width] * len(found) if width is not None else [kept_width(p.shape, height, step_width) for p, _ in found]
    out = np.ones((len(found), height, max(widths, default=width or 2 * step_width), channels), dtype=np.float32)
    for i, ((pixels, _), w) in enumerate(zip(found, widths)):
        out[i, :, :w] = _scale(pixels, height, w, stretch_contrast)
    return out


def suggest_width(images: Sequence[np.ndarray], height: int) -> int:
    """An input width for ``height`` that keeps the images' median aspect ratio, a multiple of 8."""
    if not len(images):
        raise ValueError("no images to measure")
    ratio = float(np.median([np.asarray(im).shape[1] / np.asarray(im).shape[0] for im in images]))
    return max(8, int(round(height * ratio / 8.0)) * 8)


# --------------------------------------------------------------------------- reading


@dataclass(frozen=True)
class ReaderInput:
    """How a CTC network reads: its input height and width (None: any width), the
    pixels of width per time step, whether captchas are first cut down to their
    text (:func:`crop_to_text`), its outputs per time step (characters + blank),
    and its input channels (1: gray, 3: colour)."""

    height: int
    width: int | None
    step_width: int
    crop_text: bool
    n_classes: int
    channels: int = 1


def read_probabilities(run: Callable[[np.ndarray], np.ndarray], images: Sequence[np.ndarray], how: ReaderInput,
                       batch_size: int = 128, polarities: list[str] | None = None) -> np.ndarray:
    """Per-time-step probabilities (N, T, n_classes) float32 for uint8 images of any size.

    ``run`` maps one batch of inputs (b, height, width, channels) float32 to its
    probabilities (b, T, n_classes): a Keras model's ``predict_on_batch`` or an
    ONNX session. Captchas are cut down to their text first when ``how.crop_text``.
    ``polarities``: if a list is given, the polarity of each captcha's text
    (:func:`dark_text`) is appended to it, in the order of ``images``.

    For a network of any width, captchas padded to the same width are read
    together and every captcha gets only its own time steps: T is that of the
    widest, and the steps past a narrower captcha's end are set to the blank
    (probability 1).
    """
    height, width, step, channels = how.height, how.width, how.step_width, how.channels
    n_classes = how.n_classes
    if how.crop_text:
        images = crop_to_text(images)
    if not len(images):
        return np.zeros((0, time_steps(width, step) if width else 0, n_classes), np.float32)
    found = [dark_text(image, i, channels) for i, image in enumerate(images)]
    if polarities is not None:
        polarities.extend(polarity for _, polarity in found)
    images = [pixels for pixels, _ in found]  # dark on light now: preparing them again finds nothing to invert
    if width is not None:
        x = prepare_images(images, height, width, step_width=step, channels=channels)
        return np.concatenate([np.asarray(run(x[start:start + batch_size]), dtype=np.float32)
                               for start in range(0, len(x), batch_size)])
    widths = np.array([kept_width(np.shape(image), height, step) for image in images])
    # Each captcha is padded with white up to the next multiple of WIDTH_QUANTUM pixels, as in
    # training, and read with the captchas padded to the same width: its answer never depends on
    # the others in the batch. All the time steps of its padded width count (the last character
    # may be written in the padding).
    padded = -(-widths // WIDTH_QUANTUM) * WIDTH_QUANTUM
    steps = padded // step
    out = np.zeros((len(images), int(steps.max()), n_classes), np.float32)
    out[:, :, BLANK] = 1.0
    for group_width in np.unique(padded):
        group = np.flatnonzero(padded == group_width)
        for start in range(0, len(group), batch_size):
            chunk = group[start:start + batch_size]
            x = np.ones((len(chunk), height, int(group_width), channels), np.float32)
            x[:, :, :int(widths[chunk].max())] = prepare_images([images[k] for k in chunk], height, None,
                                                                 step_width=step, channels=channels)
            probs = np.asarray(run(x), dtype=np.float32)
            for row, k in enumerate(chunk):
                out[k, :steps[k]] = probs[row, :steps[k]]
    return out



def greedy_readings(probs: np.ndarray, codec: CharCodec) -> list[tuple[str, np.ndarray]]:
    """Greedy CTC decoding with a confidence per character.

    Args:
        probs: (B, T, codec.n_classes) probabilities, class 0 = blank.

    Returns:
        B pairs ``(text, confidence)``: the same texts as
        :func:`helpers.ctc.decode_predictions`, and (len(text),) float32, for each
        character the highest probability it had over the slices that spelled it.
    """
    probs = np.asarray(probs, dtype=np.float32)
    if probs.ndim != 3 or probs.shape[2] != codec.n_classes:
        raise ValueError(f"expected probabilities of shape (B, T, {codec.n_classes}), got {probs.shape}")
    best = probs.argmax(axis=2)
    readings = []
    for row, p in zip(best, probs):
        starts = np.flatnonzero((row != BLANK) & np.r_[True, row[1:] != row[:-1]])
        ends = np.r_[starts[1:], len(row)]
        chars, confidence = [], []
        for a, b in zip(starts, ends):
            k = row[a]
            run = np.flatnonzero(row[a:b] != k)
            stop = a + (run[0] if len(run) else b - a)
            chars.append(codec.alphabet[k - 1])
            confidence.append(float(p[a:stop, k].max()))
        readings.append(("".join(chars), np.asarray(confidence, np.float32)))
    return readings
