"""Look-alikes of a varied, "generic" kind of real captcha set. Not a test.

Some sites draw every captcha differently: labels of 4 to 8 characters from
36 symbols (digits and lower-case letters), and per captcha a typeface, a
size, a tilt, an ink colour and a canvas. The same set then holds tiny
letters clustered in one corner of a wide white canvas and letters taller
than the canvas, cut off at its edges; dark ink and pale ink (yellow on
white); glyphs drawn in upper case although the label is lower case; and
2 to 6 thin lines across the whole image.

The typefaces are the four DejaVu Serif faces that ship with matplotlib,
which the pretraining stream (:mod:`helpers.variety`) leaves out on purpose:
this set stays a typeface the drawn stream has never shown. Nothing about
this module was used to choose the stream's looks.

Run from the project root to write a set and look at it:

    .venv/bin/python -m benchmarks.generic_lookalikes --out generic --count 2000 --seed 0
"""

from __future__ import annotations

import colorsys
import string
from pathlib import Path

import numpy as np
from PIL import Image, ImageDraw

from benchmarks.lookalikes import run_writer
from helpers.captchas import font as get_font
from helpers.lookalikes import write_new_folder

GENERIC_ALPHABET: str = string.digits + string.ascii_lowercase
"""The 36 symbols of the labels (glyphs may be drawn in upper case)."""

GENERIC_LENGTHS: tuple[int, int] = (4, 8)
"""Shortest and longest label (both included)."""

GENERIC_FONTS: tuple[str, ...] = ("DejaVuSerif.ttf", "DejaVuSerif-Bold.ttf", "DejaVuSerif-Italic.ttf",
                                  "DejaVuSerif-BoldItalic.ttf")
"""One typeface per captcha, none of them in the pretraining stream."""

STYLES: dict[str, dict] = {"public": {}}
"""One look (the writer's command line asks for a style)."""


def _colour(rng: np.random.Generator, pale: bool) -> np.ndarray:
    """(3,) float32 RGB ink: a random hue, dark to medium, or pale (light and saturated, e.g. yellow)."""
    hue = float(rng.uniform())
    if pale:
        rgb = colorsys.hsv_to_rgb(hue, float(rng.uniform(0.5, 1.0)), float(rng.uniform(0.85, 1.0)))
    else:
        rgb = colorsys.hsv_to_rgb(hue, float(rng.uniform(0.0, 1.0)), float(rng.uniform(0.0, 0.7)))
    return np.array(rgb, dtype=np.float32) * 255.0


def _glyph(ch: str, name: str, px: int, angle: float) -> tuple[np.ndarray, int]:
    """Opacity (h, w) float32 in 0..1 of one tilted character cropped to its ink, and the row its ink starts
    on relative to the top of the font's ascent+descent box (keeps the baseline)."""
    font = get_font(name, px)
    ascent, descent = font.getmetrics()
    left, _, right, _ = font.getbbox(ch)
    pad = px // 2 + 4
    layer = Image.new("L", (right - left + 2 * pad, ascent + descent + 2 * pad), 0)
    ImageDraw.Draw(layer).text((pad - left, pad), ch, font=font, fill=255)
    layer = layer.rotate(angle, Image.Resampling.BICUBIC, expand=True)
    box = layer.getbbox() or (0, 0, 1, 1)
    return np.asarray(layer.crop(box), dtype=np.float32) / 255.0, box[1] - (layer.height - ascent - descent) // 2


def _paste(canvas: np.ndarray, alpha: np.ndarray, x: int, y: int, colour: np.ndarray) -> None:
    """Blend ``colour`` with opacity ``alpha`` (h, w) into ``canvas`` (H, W, 3) at (x, y), clipped to the canvas."""
    height, width = canvas.shape[:2]
    x0, y0 = max(x, 0), max(y, 0)
    x1, y1 = min(x + alpha.shape[1], width), min(y + alpha.shape[0], height)
    if x1 <= x0 or y1 <= y0:
        return
    a = alpha[y0 - y:y1 - y, x0 - x:x1 - x, None]
    canvas[y0:y1, x0:x1] = canvas[y0:y1, x0:x1] * (1.0 - a) + colour * a


def make_generic_lookalike(label: str, *, seed: int) -> np.ndarray:
    """Draw one generic look-alike captcha of ``label`` (characters of ``GENERIC_ALPHABET``).

    Returns:
        (H, W, 3) uint8 RGB image, H from 36 to 72 and W from 2.5 to 6 times H.
    """
    rng = np.random.default_rng(seed)
    height = int(rng.integers(36, 73))
    width = int(height * rng.uniform(2.5, 6.0))
    paper = np.full(3, 255.0, np.float32) - (rng.uniform(0, 18, size=3) if rng.random() < 0.3 else 0.0)
    canvas = np.broadcast_to(paper, (height, width, 3)).astype(np.float32)
    # Size: log-uniform from letters a third of the height to letters taller than the canvas.
    px = int(round(height * float(np.exp(rng.uniform(np.log(0.34), np.log(1.3))))))
    font = GENERIC_FONTS[int(rng.integers(len(GENERIC_FONTS)))]
    upper_share = float(rng.choice([0.0, 0.0, 0.25, 0.6, 1.0]))
    tilt = float(rng.uniform(-14, 14))
    spacing = float(rng.uniform(-0.12, 0.3))  # gap between letters, in font sizes
    pale = rng.random() < 0.25
    colours = [_colour(rng, pale)] * len(label) if rng.random() < 0.7 else [_colour(rng, pale) for _ in label]
    for _ in range(4):  # shrink until the text is at most 8 % wider than the canvas
        glyphs = [_glyph(ch.upper() if rng.random() < upper_share else ch, font, px,
                         tilt + float(rng.uniform(-6, 6))) for ch in label]
        gaps = [int(round(spacing * px * rng.uniform(0.6, 1.4))) for _ in label[1:]]
        text_width = sum(a.shape[1] for a, _ in glyphs) + sum(gaps)
        if text_width <= 1.08 * width or px < 12:
            break
        px = max(10, int(px * 0.95 * width / text_width))
    # Where the text goes: anywhere it fits (small text), or centred with its ends cut off (large text).
    spare = width - text_width
    x = int(rng.integers(0, spare + 1)) if spare >= 0 else spare // 2
    ascent, descent = get_font(font, px).getmetrics()
    top = int(round((height - ascent - descent) / 2 + rng.uniform(-0.3, 0.3) * max(0, height - px)))
    # The line of text rises with the tilt, by at most a quarter of the height from end to end.
    rise = float(np.clip(np.tan(np.radians(-tilt)) * text_width, -0.25 * height, 0.25 * height))
    middle = x + text_width / 2
    for (alpha, row), gap, colour in zip(glyphs, [0, *gaps], colours):
        x += gap
        shift = rise * (x + alpha.shape[1] / 2 - middle) / max(text_width, 1)
        _paste(canvas, alpha, x, top + row + int(round(shift)), colour)
        x += alpha.shape[1]
    for _ in range(int(rng.integers(2, 7))):
        ys = rng.uniform(0, height, size=2)
        mask = Image.new("L", (width, height), 0)
        ImageDraw.Draw(mask).line((0.0, float(ys[0]), float(width), float(ys[1])), fill=255,
                                  width=int(rng.integers(1, 3)))
        _paste(canvas, np.asarray(mask, dtype=np.float32) / 255.0, 0, 0, _colour(rng, rng.random() < 0.4))
    return np.clip(np.rint(canvas), 0, 255).astype(np.uint8)


def generic_lookalike_labels(count: int, *, seed: int) -> list[str]:
    """``count`` different random labels from ``GENERIC_ALPHABET``, lengths uniform in 4..8."""
    low, high = GENERIC_LENGTHS
    rng = np.random.default_rng([seed, 13])
    seen: dict[str, None] = {}
    while len(seen) < count:
        length = int(rng.integers(low, high + 1))
        seen.setdefault("".join(GENERIC_ALPHABET[int(k)] for k in rng.integers(len(GENERIC_ALPHABET), size=length)),
                        None)
    return list(seen)


def generic_lookalikes(count: int = 2000, *, seed: int, style: str = "public") -> tuple[list[np.ndarray], list[str]]:
    """``count`` generic look-alikes with different labels: ((H_i, W_i, 3) uint8 images, labels)."""
    labels = generic_lookalike_labels(count, seed=seed)
    images = [make_generic_lookalike(label, seed=seed * 1_000_003 + i) for i, label in enumerate(labels)]
    return images, labels


def save_generic_lookalikes(folder: str | Path, count: int = 2000, *, seed: int, style: str = "public") -> list[Path]:
    """Write ``count`` generic look-alikes as ``folder/<label>.png`` into a new or empty folder; returns the paths."""
    return write_new_folder(folder, *generic_lookalikes(count, seed=seed))


def main() -> None:
    run_writer(__doc__.splitlines()[0], save_generic_lookalikes, STYLES, 2000, "one look")


if __name__ == "__main__":
    main()
