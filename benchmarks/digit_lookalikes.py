"""Look-alikes of a common kind of real captcha: four coloured digits, saved as JPEG. Not a test.

Many login and form pages show four digits on a small coloured canvas: every
digit in its own saturated colour and tilt, a pastel background sprinkled
with coloured specks, a few coloured arcs and lines across, and the whole
saved as a JPEG of middling quality, so every edge carries its blocky
artefacts. This module draws such captchas with its own code and the DejaVu
fonts that ship with matplotlib, and writes them as ``<label>.jpg``.
Nothing about this module was used to choose the pretraining stream's looks.

Run from the project root to write a set and look at it:

    .venv/bin/python -m benchmarks.digit_lookalikes --out digits --count 2000 --seed 0
"""

from __future__ import annotations

import colorsys
import io
from pathlib import Path

import numpy as np
from PIL import Image, ImageDraw

from benchmarks.lookalikes import run_writer
from helpers.captchas import font as get_font

DIGIT_SIZE: tuple[int, int] = (120, 44)
"""(width, height) in pixels."""

DIGIT_FONTS: tuple[str, ...] = ("DejaVuSans-Bold.ttf", "DejaVuSerif-Bold.ttf", "DejaVuSansMono-Bold.ttf")
"""A typeface per digit."""

STYLES: dict[str, dict] = {"public": {}}
"""One look (the writer's command line asks for a style)."""


def _hue(hue: float, saturation: float, value: float) -> tuple[int, int, int]:
    r, g, b = colorsys.hsv_to_rgb(hue % 1.0, saturation, value)
    return int(255 * r), int(255 * g), int(255 * b)


def digit_jpeg(label: str, *, seed: int) -> bytes:
    """Draw one captcha of the digits in ``label``: the bytes of its JPEG file (quality 45 to 80)."""
    rng = np.random.default_rng(seed)
    width, height = DIGIT_SIZE
    image = Image.new("RGB", DIGIT_SIZE, _hue(float(rng.uniform()), float(rng.uniform(0.05, 0.3)), 0.97))
    draw = ImageDraw.Draw(image)
    for _ in range(int(rng.integers(60, 160))):  # coloured specks
        x, y = int(rng.integers(width)), int(rng.integers(height))
        r = float(rng.uniform(0.5, 1.6))
        draw.ellipse((x - r, y - r, x + r, y + r),
                     fill=_hue(float(rng.uniform()), float(rng.uniform(0.4, 1.0)), float(rng.uniform(0.4, 0.95))))
    slot = (width - 12) / len(label)
    for i, ch in enumerate(label):
        font = get_font(DIGIT_FONTS[int(rng.integers(len(DIGIT_FONTS)))], int(rng.integers(24, 33)))
        layer = Image.new("L", (40, 48), 0)
        ImageDraw.Draw(layer).text((20, 24), ch, font=font, fill=255, anchor="mm")
        layer = layer.rotate(float(rng.uniform(-28, 28)), Image.Resampling.BICUBIC)
        colour = _hue(float(rng.uniform()), float(rng.uniform(0.6, 1.0)), float(rng.uniform(0.45, 0.85)))
        x = int(6 + slot * (i + 0.5) - 20 + rng.integers(-4, 5))
        y = int(height / 2 - 24 + rng.integers(-5, 6))
        image.paste(Image.new("RGB", layer.size, colour), (x, y), layer)
    for _ in range(int(rng.integers(2, 5))):  # arcs and lines across
        colour = _hue(float(rng.uniform()), float(rng.uniform(0.5, 1.0)), float(rng.uniform(0.4, 0.9)))
        if rng.random() < 0.5:
            x0, y0 = float(rng.uniform(-40, 40)), float(rng.uniform(-30, 20))
            box = (x0, y0, x0 + float(rng.uniform(60, 160)), y0 + float(rng.uniform(30, 70)))
            draw.arc(box, float(rng.uniform(0, 180)), float(rng.uniform(180, 360)), fill=colour,
                     width=int(rng.integers(1, 3)))
        else:
            draw.line((0.0, float(rng.uniform(0, height)), float(width), float(rng.uniform(0, height))), fill=colour,
                      width=int(rng.integers(1, 3)))
    buffer = io.BytesIO()
    image.save(buffer, format="JPEG", quality=int(rng.integers(45, 81)))
    return buffer.getvalue()


def make_digit_lookalike(label: str, *, seed: int) -> np.ndarray:
    """:func:`digit_jpeg` decoded: a (44, 120, 3) uint8 RGB image."""
    return np.asarray(Image.open(io.BytesIO(digit_jpeg(label, seed=seed))).convert("RGB"), dtype=np.uint8)


def digit_lookalike_labels(count: int, *, seed: int) -> list[str]:
    """``count`` different 4-digit labels."""
    if count > 10_000:
        raise ValueError(f"there are only 10,000 different 4-digit labels, asked for {count}")
    return [f"{n:04d}" for n in np.random.default_rng([seed, 17]).choice(10_000, size=count, replace=False)]


def digit_lookalikes(count: int = 2000, *, seed: int) -> tuple[list[np.ndarray], list[str]]:
    """``count`` look-alikes with different labels: ((44, 120, 3) uint8 images, labels)."""
    labels = digit_lookalike_labels(count, seed=seed)
    return [make_digit_lookalike(label, seed=seed * 1_000_003 + i) for i, label in enumerate(labels)], labels


def save_digit_lookalikes(folder: str | Path, count: int = 2000, *, seed: int, style: str = "public") -> list[Path]:
    """Write ``count`` look-alikes as JPEG files ``folder/<label>.jpg`` into a new or empty folder; returns the paths.

    Raises:
        ValueError: if ``folder`` exists and is not an empty folder (nothing is overwritten or mixed in).
    """
    folder = Path(folder)
    if folder.exists() and (not folder.is_dir() or any(folder.iterdir())):
        raise ValueError(f"{folder} exists and is not an empty folder; choose a new or empty one")
    folder.mkdir(parents=True, exist_ok=True)
    paths = []
    for i, label in enumerate(digit_lookalike_labels(count, seed=seed)):
        path = folder / f"{label}.jpg"
        path.write_bytes(digit_jpeg(label, seed=seed * 1_000_003 + i))
        paths.append(path)
    return paths


def main() -> None:
    run_writer(__doc__.splitlines()[0], save_digit_lookalikes, STYLES, 2000, "one look")


if __name__ == "__main__":
    main()
