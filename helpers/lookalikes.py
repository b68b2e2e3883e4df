"""Look-alikes of a well-known public set of noisy text captchas: the "site" of chapter 6.

The public set has about 1,040 PNG files of 200x50 pixels named
``<label>.png``; each shows 5 characters from 19 symbols (the digits 2-8 and
the lower-case letters b c d e f g m n p w x y) in dark gray on a gray-ish
background, in one serif typeface, with the letters touching each other, a
dark line struck through the text and a soft blur. This module draws
captchas in that spirit with its own code and the DejaVu fonts that ship
with matplotlib, so the course can try its readers on "a real set" without
downloading one. The style "varied" is a harder variant with three
typefaces, several sizes and stronger rotation.

``python -m benchmarks.lookalikes --out FOLDER`` writes a set to look at.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
from PIL import Image, ImageDraw, ImageFilter

from helpers.captchas import font

LOOKALIKE_ALPHABET: str = "2345678bcdefgmnpwxy"
"""The 19 symbols of the public set."""

LOOKALIKE_SIZE: tuple[int, int] = (200, 50)
"""(width, height) in pixels."""

LOOKALIKE_LENGTH: int = 5
"""Characters per captcha."""

STYLES: dict[str, dict] = {
    # As the public set: one serif typeface at one size, characters nearly upright.
    "public": {"fonts": ("DejaVuSerif.ttf",), "px": (31, 32), "rotation": 3.0},
    # Harder than the public set: three typefaces, sizes from 28 to 34 px, rotations up to 10 degrees.
    "varied": {"fonts": ("DejaVuSerif.ttf", "DejaVuSerif-Bold.ttf", "DejaVuSans.ttf"), "px": (28, 35),
               "rotation": 10.0},
}
"""Looks of the look-alike set: "public" imitates the public set, "varied" is a harder variant."""


def _background(rng: np.random.Generator) -> np.ndarray:
    """(50, 200) float32 gray-ish background: a soft gradient plus fine noise."""
    width, height = LOOKALIKE_SIZE
    base = float(rng.uniform(195, 232))
    gx = np.linspace(-1.0, 1.0, width, dtype=np.float32)[None, :] * float(rng.uniform(-12, 12))
    gy = np.linspace(-1.0, 1.0, height, dtype=np.float32)[:, None] * float(rng.uniform(-6, 6))
    noise = rng.normal(0.0, 3.0, size=(height, width)).astype(np.float32)
    return base + gx + gy + noise


def _text_layer(label: str, rng: np.random.Generator, style: dict) -> tuple[Image.Image, tuple[int, int]]:
    """Opacity layer ('L', 200x50) with the touching characters, and the text's (x0, x1) extent."""
    width, height = LOOKALIKE_SIZE
    font_name = style["fonts"][int(rng.integers(len(style["fonts"])))]
    px = int(rng.integers(*style["px"]))
    face = font(font_name, px)
    glyphs = []
    for ch in label:
        left, top, right, bottom = face.getbbox(ch)
        pad = 4
        layer = Image.new("L", (right - left + 2 * pad, px + 2 * pad), 0)
        ImageDraw.Draw(layer).text((pad - left, pad), ch, font=face, fill=255)
        layer = layer.rotate(float(rng.uniform(-style["rotation"], style["rotation"])), Image.Resampling.BICUBIC,
                             expand=True)
        box = layer.getbbox()
        glyphs.append(layer.crop(box) if box else layer)
    # Touching letters: each one starts a little before the previous one ends.
    overlaps = [int(rng.integers(1, 5)) for _ in glyphs[1:]]
    total = sum(g.width for g in glyphs) - sum(overlaps)
    x = int(rng.integers(max(2, 18), max(19, min(45, width - total - 2))))
    x_start = x
    text = Image.new("L", (width, height), 0)
    for i, g in enumerate(glyphs):
        y = int(round((height - g.height) / 2 + float(rng.uniform(-3, 3))))
        y = min(max(y, 0), max(0, height - g.height))
        piece = Image.new("L", (width, height), 0)
        piece.paste(g, (x, y))
        text = Image.fromarray(np.maximum(np.asarray(text), np.asarray(piece)))
        x += g.width - (overlaps[i] if i < len(overlaps) else 0)
    return text, (x_start, min(x, width - 1))


def _strike(draw: ImageDraw.ImageDraw, extent: tuple[int, int], rng: np.random.Generator) -> None:
    """A dark, slightly bent line struck through the text, from a bit left of it to a bit right."""
    height = LOOKALIKE_SIZE[1]
    x0 = extent[0] - float(rng.uniform(-6, 12))
    x1 = extent[1] + float(rng.uniform(-12, 8))
    y0, y1 = (float(v) for v in rng.uniform(0.38 * height, 0.68 * height, size=2))
    bend = float(rng.uniform(-5, 5))
    ts = np.linspace(0.0, 1.0, 24)
    xs = x0 + (x1 - x0) * ts
    ys = y0 + (y1 - y0) * ts + bend * 4 * ts * (1 - ts)
    draw.line(list(zip(xs.tolist(), ys.tolist())), fill=255, width=int(rng.integers(2, 4)), joint="curve")


def make_noisy_lookalike(label: str, *, seed: int, style: str = "public") -> np.ndarray:
    """Draw one look-alike captcha.

    Args:
        label: the text (any characters the DejaVu fonts can draw; 5 from
            ``LOOKALIKE_ALPHABET`` for the real look).
        seed: the same seed and label give the same pixels.
        style: a key of ``STYLES``.

    Returns:
        (50, 200, 3) uint8 RGB image (gray: all channels equal).
    """
    rng = np.random.default_rng(seed)
    background = _background(rng)
    text, extent = _text_layer(label, rng, STYLES[style])
    ink_layer = Image.new("L", LOOKALIKE_SIZE, 0)
    ink_layer.paste(text)
    _strike(ImageDraw.Draw(ink_layer), extent, rng)
    alpha = np.asarray(ink_layer, dtype=np.float32) / 255.0
    ink = float(rng.uniform(25, 80))
    gray = background * (1.0 - alpha) + ink * alpha
    image = Image.fromarray(np.clip(np.rint(gray), 0, 255).astype(np.uint8))
    image = image.filter(ImageFilter.GaussianBlur(float(rng.uniform(0.6, 1.1))))
    out = np.asarray(image, dtype=np.float32) + rng.normal(0.0, 2.0, size=(LOOKALIKE_SIZE[1], LOOKALIKE_SIZE[0]))
    gray8 = np.clip(np.rint(out), 0, 255).astype(np.uint8)
    return np.repeat(gray8[:, :, None], 3, axis=2)


def noisy_lookalike_labels(count: int, *, seed: int) -> list[str]:
    """``count`` different random labels of 5 symbols from ``LOOKALIKE_ALPHABET``."""
    if count > len(LOOKALIKE_ALPHABET) ** LOOKALIKE_LENGTH:
        raise ValueError(f"cannot draw {count} different labels")
    rng = np.random.default_rng([seed, 7])
    seen: dict[str, None] = {}
    while len(seen) < count:
        label = "".join(LOOKALIKE_ALPHABET[int(k)] for k in rng.integers(0, len(LOOKALIKE_ALPHABET),
                                                                          size=LOOKALIKE_LENGTH))
        seen.setdefault(label, None)
    return list(seen)


def noisy_lookalikes(count: int = 1040, *, seed: int, style: str = "public") -> tuple[list[np.ndarray], list[str]]:
    """``count`` look-alike captchas with different labels: ((50, 200, 3) uint8 images, labels)."""
    labels = noisy_lookalike_labels(count, seed=seed)
    images = [make_noisy_lookalike(label, seed=seed * 1_000_003 + i, style=style) for i, label in enumerate(labels)]
    return images, labels


def save_noisy_lookalikes(folder: str | Path, count: int = 1040, *, seed: int, style: str = "public") -> list[Path]:
    """Write ``count`` look-alikes as ``folder/<label>.png`` (like the public set) into a new or empty folder;
    returns the paths."""
    return write_new_folder(folder, *noisy_lookalikes(count, seed=seed, style=style))


def write_pngs(folder: str | Path, images: list[np.ndarray], labels: list[str]) -> list[Path]:
    """Write each (H, W, 3) uint8 image as ``folder/<label>.png``, the layout of the public sets; returns the paths."""
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    paths = []
    for image, label in zip(images, labels):
        path = folder / f"{label}.png"
        Image.fromarray(image).save(path, format="PNG", compress_level=6)
        paths.append(path)
    return paths


def write_new_folder(folder: str | Path, images: list[np.ndarray], labels: list[str]) -> list[Path]:
    """:func:`write_pngs` into a new or empty folder.

    Raises:
        ValueError: if ``folder`` exists and is not an empty folder (nothing is overwritten or mixed in).
    """
    folder = Path(folder)
    if folder.exists() and (not folder.is_dir() or any(folder.iterdir())):
        raise ValueError(f"{folder} exists and is not an empty folder; choose a new or empty one")
    return write_pngs(folder, images, labels)
