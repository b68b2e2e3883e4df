"""Look-alikes of a kind of real captcha set whose images are as wide as their labels. Not a test.

Sets of this kind hold captchas of 4 to 8 characters, each drawn 80 pixels
high on a light background and only as wide as its label needs: about 140 px
for 4 characters, about 780 px for 8. Every character has its own colour,
its own small tilt and height, and the characters are spread over the width
with uneven gaps; a few thin coloured lines run across the image and some
dots speckle it. A model that reads them must keep each image's aspect
ratio instead of squeezing all of them to one size. This module draws such
captchas with its own code and the DejaVu fonts that ship with matplotlib.
``--style varied`` draws a harder variant: three typefaces, more tilt, more
lines and letters that may come closer or touch.

Run from the project root to write a set and look at it:

    .venv/bin/python -m benchmarks.wide_lookalikes --out wide --count 2000 --seed 0 [--style varied]
"""

from __future__ import annotations

import colorsys
from pathlib import Path

import numpy as np
from PIL import Image, ImageDraw, ImageFont

from benchmarks.lookalikes import run_writer
from helpers.captchas import font as get_font
from helpers.lookalikes import write_new_folder

LOOKALIKE_ALPHABET: str = "23456789abcdefghjkmnpqrstuvwxyz"
"""31 symbols: the digits 2-9 and the lower-case letters without look-alikes (no i, l, o)."""

LOOKALIKE_HEIGHT: int = 80
"""Height of every captcha in pixels."""

LOOKALIKE_LENGTHS: tuple[int, int] = (4, 8)
"""Shortest and longest label (both included); lengths are drawn uniformly."""

STYLES: dict[str, dict] = {
    # As the real sets: one sans typeface, 44-52 px, nearly upright, characters apart, 2-4 lines.
    "public": {"fonts": ("DejaVuSans.ttf",), "px": (44, 52), "rotation": 5.0, "lines": (2, 4), "min_gap": 1},
    # Harder: three typefaces mixed within a captcha, tilts up to 12 degrees, 3-6 lines, letters may touch.
    "varied": {"fonts": ("DejaVuSans.ttf", "DejaVuSans-Bold.ttf", "DejaVuSerif.ttf"), "px": (40, 54),
               "rotation": 12.0, "lines": (3, 6), "min_gap": -6},
}
"""Looks of the wide look-alike set: "public" imitates the real sets, "varied" is a harder variant."""


def wide_width(length: int) -> int:
    """Nominal width in pixels of a captcha with ``length`` characters (before the random jitter)."""
    return 140 + (length - 4) * 160


def _colour(hue: float, rng: np.random.Generator, saturation: tuple[float, float],
            value: tuple[float, float]) -> np.ndarray:
    """(3,) float32 RGB colour in 0..255 with the given hue and a random saturation and value."""
    rgb = colorsys.hsv_to_rgb(hue % 1.0, float(rng.uniform(*saturation)), float(rng.uniform(*value)))
    return np.array(rgb, dtype=np.float32) * 255.0


def _background(width: int, rng: np.random.Generator) -> np.ndarray:
    """(80, width, 3) float32 light background: a faintly tinted colour, a soft gradient and faint blotches.

    The blotches are smooth (coarse noise blown up): per-pixel noise would make the PNGs large and slow."""
    tint = rng.uniform(228, 250, size=3).astype(np.float32)
    gx = np.linspace(-1.0, 1.0, width, dtype=np.float32)[None, :, None] * rng.uniform(-6, 6, size=3)
    gy = np.linspace(-1.0, 1.0, LOOKALIKE_HEIGHT, dtype=np.float32)[:, None, None] * float(rng.uniform(-4, 4))
    coarse = Image.fromarray(rng.normal(0.0, 3.0, size=(3, width // 40 + 2)).astype(np.float32))
    blotches = np.asarray(coarse.resize((width, LOOKALIKE_HEIGHT), Image.Resampling.BICUBIC))[:, :, None]
    return (tint + gx + gy + blotches).astype(np.float32)


def _glyph(ch: str, font: ImageFont.FreeTypeFont, angle: float) -> tuple[np.ndarray, int]:
    """Opacity (h, w) float32 in 0..1 of one tilted character, cropped to its ink, and the image row its ink
    starts on when the character's ascent+descent box is centred in the 80 px height (keeps the baseline)."""
    ascent, descent = font.getmetrics()
    left, _, right, _ = font.getbbox(ch)
    layer = Image.new("L", (right - left + 12, ascent + descent + 12), 0)
    ImageDraw.Draw(layer).text((6 - left, 6), ch, font=font, fill=255)
    layer = layer.rotate(angle, Image.Resampling.BICUBIC, expand=True)
    box = layer.getbbox() or (0, 0, layer.width, layer.height)
    return np.asarray(layer.crop(box), dtype=np.float32) / 255.0, box[1] + (LOOKALIKE_HEIGHT - layer.height) // 2


def _glyphs(label: str, width: int, rng: np.random.Generator, style: dict) -> list[tuple[np.ndarray, int]]:
    """The label's characters as ``_glyph`` pairs, shrunk if they would not fit side by side into ``width``."""
    fonts = style["fonts"]
    names = [fonts[int(k)] for k in rng.integers(len(fonts), size=len(label))]
    # "public": one size per captcha; "varied": one per character.
    sizes = np.resize(rng.integers(style["px"][0], style["px"][1] + 1, size=1 if len(fonts) == 1 else len(label)),
                      len(label))
    angles = rng.uniform(-style["rotation"], style["rotation"], size=len(label))
    room = width - 4 - (len(label) - 1) * style["min_gap"]
    scale = 1.0
    for _ in range(4):
        glyphs = [_glyph(ch, get_font(name, max(12, int(round(px * scale)))), float(angle))
                  for ch, name, px, angle in zip(label, names, sizes, angles)]
        total = sum(alpha.shape[1] for alpha, _ in glyphs)
        if total <= room:
            break
        scale *= 0.97 * room / total
    return glyphs


def make_wide_lookalike(label: str, *, seed: int, style: str = "public") -> np.ndarray:
    """Draw one wide look-alike captcha.

    Args:
        label: the text (any characters the DejaVu fonts can draw; 4 to 8 from
            ``LOOKALIKE_ALPHABET`` for the real look).
        seed: the same seed, label and style give the same pixels.
        style: a key of ``STYLES``.

    Returns:
        (80, W, 3) uint8 RGB image, W = ``wide_width(len(label))`` plus or minus 4 px.
    """
    look, rng, height = STYLES[style], np.random.default_rng(seed), LOOKALIKE_HEIGHT
    width = max(40, wide_width(len(label)) + int(rng.integers(-4, 5)))
    canvas = _background(width, rng)
    glyphs = _glyphs(label, width, rng, look)
    # Spread the spare width over the margins and the gaps between letters, unevenly.
    spare = width - 4 - sum(a.shape[1] for a, _ in glyphs) - (len(glyphs) - 1) * look["min_gap"]
    weights = rng.uniform(0.2, 1.0, size=len(glyphs) + 1)
    weights[[0, -1]] *= 0.5
    shares = np.floor(max(spare, 0) * weights / weights.sum()).astype(int)
    hue = float(rng.uniform())
    x = 2 + int(shares[0])
    for i, (alpha, top) in enumerate(glyphs):
        y = min(max(top + int(rng.integers(-8, 9)), 1), max(0, height - 1 - alpha.shape[0]))
        h, w = min(alpha.shape[0], height - y), max(0, min(alpha.shape[1], width - x))
        hue += 0.618034 + float(rng.uniform(-0.08, 0.08))  # golden-ratio steps: neighbours differ in hue
        colour = _colour(hue, rng, saturation=(0.55, 1.0), value=(0.35, 0.7))
        a = alpha[:h, :w, None]
        canvas[y:y + h, x:x + w] = canvas[y:y + h, x:x + w] * (1.0 - a) + colour * a
        x += alpha.shape[1] + look["min_gap"] + int(shares[i + 1])
    for _ in range(int(rng.integers(look["lines"][0], look["lines"][1] + 1))):
        x0, x1 = rng.uniform(-0.05, 0.35) * width, rng.uniform(0.65, 1.05) * width
        y0, y1 = rng.uniform(8, height - 8, size=2)
        bend, ts = float(rng.uniform(-10, 10)), np.linspace(0.0, 1.0, 16)
        points = list(zip((x0 + (x1 - x0) * ts).tolist(), (y0 + (y1 - y0) * ts + bend * 4 * ts * (1 - ts)).tolist()))
        colour = _colour(float(rng.uniform()), rng, saturation=(0.5, 1.0), value=(0.4, 0.85))
        mask = Image.new("L", (width, height), 0)
        ImageDraw.Draw(mask).line(points, fill=255, width=int(rng.integers(1, 4)), joint="curve")
        a = np.asarray(mask, dtype=np.float32)[:, :, None] / 255.0
        canvas = canvas * (1.0 - a) + colour * a
    n_dots = int(rng.integers(width // 25, width // 10 + 1))
    ys, xs = rng.integers(0, height, size=n_dots), rng.integers(0, width, size=n_dots)
    dots = rng.uniform(40, 220, size=(n_dots, 3)).astype(np.float32)
    canvas[ys, xs] = dots
    canvas[np.minimum(ys + 1, height - 1), xs] = dots  # 1x2 specks, a bit easier to see than single pixels
    return np.clip(np.rint(canvas), 0, 255).astype(np.uint8)


def wide_lookalike_labels(count: int, *, seed: int) -> list[str]:
    """``count`` different random labels from ``LOOKALIKE_ALPHABET``, lengths uniform in 4..8."""
    low, high = LOOKALIKE_LENGTHS
    if count > len(LOOKALIKE_ALPHABET) ** low:  # a safe bound: even the 4-character labels alone suffice
        raise ValueError(f"cannot draw {count} different labels (at most {len(LOOKALIKE_ALPHABET) ** low})")
    rng = np.random.default_rng([seed, 11])
    seen: dict[str, None] = {}
    while len(seen) < count:
        length = int(rng.integers(low, high + 1))
        seen.setdefault("".join(LOOKALIKE_ALPHABET[int(k)]
                                for k in rng.integers(len(LOOKALIKE_ALPHABET), size=length)), None)
    return list(seen)


def wide_lookalikes(count: int = 2000, *, seed: int, style: str = "public") -> tuple[list[np.ndarray], list[str]]:
    """``count`` wide look-alikes with different labels: ((80, W_i, 3) uint8 images, labels)."""
    labels = wide_lookalike_labels(count, seed=seed)
    images = [make_wide_lookalike(label, seed=seed * 1_000_003 + i, style=style) for i, label in enumerate(labels)]
    return images, labels


def save_wide_lookalikes(folder: str | Path, count: int = 2000, *, seed: int, style: str = "public") -> list[Path]:
    """Write ``count`` wide look-alikes as ``folder/<label>.png``; returns the paths.

    Raises:
        ValueError: if ``folder`` exists and is not an empty folder (nothing is overwritten or mixed in).
    """
    return write_new_folder(folder, *wide_lookalikes(count, seed=seed, style=style))


def main() -> None:
    run_writer(__doc__.splitlines()[0], save_wide_lookalikes, STYLES, 2000,
               "public: one sans typeface, as the real sets (default); varied: three, harder")


if __name__ == "__main__":
    main()
