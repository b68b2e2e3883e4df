"""Look-alikes of a kind of real captcha whose text fills only a small part of the image. Not a test.

Some sites draw clean, upright lower-case letters, well apart, in one sans
typeface, into a small patch of a much larger image (here 320x110 pixels,
the text about 100x25 of it), and place that patch anywhere. Labels have 6
characters, and about one in ten has 5. Squeezed whole into a reader's
input, the letters shrink to a few pixels; found first and cut out, they are
easy. This module draws such captchas with its own code and the fonts that
ship with matplotlib. ``--style varied`` draws a harder variant: two other
typefaces (a serif and a monospaced one), more sizes, small tilts, letters
that may touch, and a few specks of noise.

Run from the project root to write a set and look at it:

    .venv/bin/python -m benchmarks.sparse_lookalikes --out sparse --count 2000 --seed 0 [--style varied]
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
from PIL import Image, ImageDraw

from benchmarks.lookalikes import run_writer
from helpers.captchas import font as get_font
from helpers.lookalikes import write_new_folder

LOOKALIKE_ALPHABET: str = "abcdefghijklmnopqrstuvwxyz"
"""The 26 lower-case letters."""

LOOKALIKE_SIZE: tuple[int, int] = (320, 110)
"""(width, height) of every captcha in pixels."""

LOOKALIKE_LENGTH: int = 6
"""Characters in most labels; a ``SHORT_SHARE`` of them has one fewer."""

SHORT_SHARE: float = 0.1
"""Share of labels one character shorter than ``LOOKALIKE_LENGTH``."""

STYLES: dict[str, dict] = {
    # As the real sets: one sans typeface, 22-24 px, upright, 2-5 px between letters, no noise.
    "public": {"fonts": ("DejaVuSans.ttf",), "px": (22, 24), "rotation": 0.0, "gap": (2, 5), "specks": 0},
    # Harder: a serif and a monospaced typeface, 18-28 px, tilts up to 8 degrees, letters that may
    # touch or overlap by a pixel, and specks of noise.
    "varied": {"fonts": ("DejaVuSerif.ttf", "DejaVuSansMono.ttf"), "px": (18, 28), "rotation": 8.0,
               "gap": (-1, 4), "specks": 40},
}
"""Looks of the sparse look-alike set: "public" imitates the real sets, "varied" is a harder variant."""


def _text_patch(label: str, rng: np.random.Generator, style: dict) -> np.ndarray:
    """Opacity (h, w) float32 in 0..1 of the whole label, cropped to its ink, letters on one baseline."""
    font = get_font(style["fonts"][int(rng.integers(len(style["fonts"])))],
                        int(rng.integers(style["px"][0], style["px"][1] + 1)))
    ascent, descent = font.getmetrics()
    layer = Image.new("L", (len(label) * (ascent + 8) + 16, ascent + descent + 16), 0)
    x = 8
    for ch in label:
        left, _, right, _ = font.getbbox(ch)
        glyph = Image.new("L", (right - left + 8, ascent + descent + 8), 0)
        ImageDraw.Draw(glyph).text((4 - left, 4), ch, font=font, fill=255)
        angle = float(rng.uniform(-style["rotation"], style["rotation"])) if style["rotation"] else 0.0
        if angle:
            glyph = glyph.rotate(angle, Image.Resampling.BICUBIC)
        ink = np.maximum(np.asarray(layer, dtype=np.uint8)[4:4 + glyph.height, x - 4:x - 4 + glyph.width],
                         np.asarray(glyph, dtype=np.uint8))
        layer.paste(Image.fromarray(ink), (x - 4, 4))
        x += right - left + int(rng.integers(style["gap"][0], style["gap"][1] + 1))
    box = layer.getbbox() or (0, 0, layer.width, layer.height)
    return np.asarray(layer.crop(box), dtype=np.float32) / 255.0


def make_sparse_lookalike(label: str, *, seed: int, style: str = "public") -> np.ndarray:
    """Draw one sparse look-alike captcha.

    Args:
        label: the text (lower-case letters for the real look; 5 or 6 of them fit with room to spare).
        seed: the same seed, label and style give the same pixels.
        style: a key of ``STYLES``.

    Returns:
        (110, 320, 3) uint8 RGB image: dark text on a light, faintly tinted background.
    """
    look, rng = STYLES[style], np.random.default_rng(seed)
    width, height = LOOKALIKE_SIZE
    tint = rng.uniform(236, 252, size=3).astype(np.float32)
    canvas = np.broadcast_to(tint, (height, width, 3)).copy()
    alpha = _text_patch(label, rng, look)
    h, w = min(alpha.shape[0], height - 4), min(alpha.shape[1], width - 4)
    x, y = int(rng.integers(2, width - w - 1)), int(rng.integers(2, height - h - 1))  # anywhere in the image
    ink = rng.uniform(10, 70, size=3).astype(np.float32)
    a = alpha[:h, :w, None]
    canvas[y:y + h, x:x + w] = canvas[y:y + h, x:x + w] * (1.0 - a) + ink * a
    if look["specks"]:
        n = int(rng.integers(look["specks"] // 2, look["specks"] + 1))
        ys, xs = rng.integers(0, height, size=n), rng.integers(0, width, size=n)
        canvas[ys, xs] = rng.uniform(60, 200, size=(n, 1)).astype(np.float32)
    return np.clip(np.rint(canvas), 0, 255).astype(np.uint8)


def sparse_lookalike_labels(count: int, *, seed: int) -> list[str]:
    """``count`` different random labels of lower-case letters: 6 long, a ``SHORT_SHARE`` of them 5."""
    if count > len(LOOKALIKE_ALPHABET) ** (LOOKALIKE_LENGTH - 1):
        raise ValueError(f"cannot draw {count} different labels")
    rng = np.random.default_rng([seed, 13])
    seen: dict[str, None] = {}
    while len(seen) < count:
        length = LOOKALIKE_LENGTH - int(rng.uniform() < SHORT_SHARE)
        seen.setdefault("".join(LOOKALIKE_ALPHABET[int(k)]
                                for k in rng.integers(len(LOOKALIKE_ALPHABET), size=length)), None)
    return list(seen)


def sparse_lookalikes(count: int = 2000, *, seed: int,
                      style: str = "public") -> tuple[list[np.ndarray], list[str]]:
    """``count`` sparse look-alikes with different labels: ((110, 320, 3) uint8 images, labels)."""
    labels = sparse_lookalike_labels(count, seed=seed)
    images = [make_sparse_lookalike(label, seed=seed * 1_000_003 + i, style=style) for i, label in enumerate(labels)]
    return images, labels


def save_sparse_lookalikes(folder: str | Path, count: int = 2000, *, seed: int, style: str = "public") -> list[Path]:
    """Write ``count`` sparse look-alikes as ``folder/<label>.png``; returns the paths.

    Raises:
        ValueError: if ``folder`` exists and is not an empty folder (nothing is overwritten or mixed in).
    """
    return write_new_folder(folder, *sparse_lookalikes(count, seed=seed, style=style))


def main() -> None:
    run_writer(__doc__.splitlines()[0], save_sparse_lookalikes, STYLES, 2000,
               "public: one sans typeface, as the real sets (default); varied: two others, harder")


if __name__ == "__main__":
    main()
