"""An endless, seeded stream of captchas in many styles, for pretraining a reader.

Chapter 6 pretrains the CTC reader on drawn captchas before it sees a single
real one, so the drawn ones must cover what real sites do: each captcha here
gets its own random style (:func:`random_style`), with

* 17 typefaces from the fonts matplotlib ships (sans, mono, Times-like and
  Computer Modern, upright, bold and italic), one per captcha or one per character;
  the DejaVu Serif family is left out on purpose, so that the look-alike sets
  drawn in it (``helpers/lookalikes.py``) show the reader a typeface it has
  never seen;
* heights of 32 to 72 pixels, letters set far apart, touching or overlapping,
  rotated and warped;
* dark ink on light paper, light ink on dark, gray or coloured;
* noise dots, thin lines, a thick line struck through the text, a speckled
  or shaded background, blur and JPEG artefacts;
* labels of 4 to 8 characters from ``PRETRAIN_ALPHABET`` (digits, upper and lower case).

With ``web`` > 0, that share of the stream is drawn in the looks of web
forms instead (:func:`make_web`): wide, mostly white canvases; letters from
a third of the height, clustered anywhere, to taller than the canvas and cut
off at its edges; dark or pale ink (yellow on white); thin lines across the
whole image; labels of digits only, letters only, or both; and case-folded
labels, whose glyphs may be drawn in upper case while the label stays lower case.

Captcha ``i`` of the stream with seed ``s`` is drawn from its own generator
``numpy.random.default_rng([s, STREAM_KEY, i])``: the stream can be restarted
anywhere and never needs to be held in memory (:func:`iter_varied`).
"""

from __future__ import annotations

import colorsys
import io
import string
from collections.abc import Iterator
from dataclasses import dataclass

import numpy as np
from PIL import Image, ImageDraw, ImageFilter

from helpers.captchas import Style, font, render

__all__ = ["PRETRAIN_ALPHABET", "PRETRAIN_FONTS", "PRETRAIN_LENGTHS", "VariedCaptcha", "difficulty_at", "iter_varied",
           "make_varied", "make_web", "random_style", "varied_batch"]

PRETRAIN_ALPHABET: str = string.digits + string.ascii_uppercase + string.ascii_lowercase
"""The 62 characters the pretraining stream draws: digits, then upper-case and lower-case letters."""

PRETRAIN_LENGTHS: tuple[int, int] = (4, 8)
"""Shortest and longest label of the stream (both included)."""

PRETRAIN_FONTS: tuple[str, ...] = (
    "DejaVuSans.ttf", "DejaVuSans-Bold.ttf", "DejaVuSans-Oblique.ttf", "DejaVuSans-BoldOblique.ttf",
    "DejaVuSansMono.ttf", "DejaVuSansMono-Bold.ttf", "DejaVuSansMono-Oblique.ttf", "DejaVuSansMono-BoldOblique.ttf",
    "STIXGeneral.ttf", "STIXGeneralBol.ttf", "STIXGeneralItalic.ttf", "STIXGeneralBolIta.ttf",
    "cmr10.ttf", "cmb10.ttf", "cmti10.ttf", "cmss10.ttf", "cmtt10.ttf",
)
"""Typefaces of the stream (files that ship with matplotlib); no DejaVu Serif (see the module's notes)."""

HEIGHTS: tuple[int, int] = (32, 72)
"""Smallest and largest image height in pixels."""

STREAM_KEY: int = 6
"""Mixed into every captcha's seed, so the stream never repeats a captcha of the course's other sets."""

WEB_ALPHABETS: tuple[tuple[str, float], ...] = (
    (string.digits + string.ascii_lowercase, 0.45), (string.digits, 0.2), (string.ascii_lowercase, 0.15),
    (PRETRAIN_ALPHABET, 0.2))
"""Alphabets of web-look labels and their chances: the labels of many sites use one of these."""


@dataclass(frozen=True)
class VariedCaptcha:
    """One captcha of the stream: its text, an (H, W, 3) uint8 RGB image and the style's main choices."""

    label: str
    image: np.ndarray
    notes: tuple[str, ...]  # e.g. ("light on dark", "struck through", "jpeg")


def random_style(rng: np.random.Generator, difficulty: float = 1.0) -> tuple[Style, bool]:
    """A generator style with every knob drawn at random; returns (style, light text on dark paper).

    ``difficulty`` (0-1) scales the chances of touching letters and light ink on
    dark paper and the ranges of rotation, warp, size and position changes:
    at 0, upright letters set apart, dark on light.
    """
    d = float(difficulty)
    spacing = rng.choice(["apart", "close", "overlap"], p=[1 - 0.65 * d, 0.4 * d, 0.25 * d])
    gap, overlap, may_touch = (3.0, 14.0), (0.0, 0.0), False
    if spacing == "close":
        gap, may_touch = (-6.0, 2.0), True
    elif spacing == "overlap":
        overlap = (0.02, float(rng.uniform(0.08, 0.22)))
    dark = bool(rng.random() < 0.2 * d)
    paper_low = int(rng.integers(150, 246)) if not dark else int(rng.integers(0, 60))
    paper = (paper_low, min(255, paper_low + int(rng.integers(5, 40))))
    ink = (0, int(rng.integers(40, max(41, paper_low - 70)))) if not dark else (min(255, paper[1] + 90), 255)
    style = Style(
        fonts=tuple(str(f) for f in rng.choice(PRETRAIN_FONTS, size=int(rng.integers(1, 4)), replace=False)),
        font_per_char=bool(rng.random() < 0.4), font_scale=float(rng.uniform(0.55, 0.85)),
        size_jitter=float(rng.uniform(0.0, 0.2)) * d, max_rotation=float(rng.uniform(0.0, 30.0)) * d,
        warp=float(rng.choice([0.0, rng.uniform(0.03, 0.15)])) * d, gap=gap, overlap=overlap, touch_prob=0.0,
        jitter=float(rng.uniform(0.0, 8.0)) * d, background=paper, tinted_background=bool(rng.random() < 0.4),
        ink=ink, ink_per_char=bool(rng.random() < 0.3), tinted_ink=bool(rng.random() < 0.4), may_touch=may_touch,
    )
    return style, dark


def _ink_of(image: np.ndarray) -> np.ndarray:
    """(3,) float mean colour of the text's ink: the darkest pixels, or the lightest on dark paper."""
    gray = image[::2, ::2].mean(axis=2)
    sample = image[::2, ::2]
    ink = sample[gray <= np.percentile(gray, 3)] if gray.mean() > 127 else sample[gray >= np.percentile(gray, 97)]
    return ink.mean(axis=0) if len(ink) else np.zeros(3)


def _near(colour: np.ndarray, rng: np.random.Generator) -> tuple[int, int, int]:
    """A colour for noise near ``colour`` (3,), so that noise looks like ink."""
    r, g, b = (int(v) for v in np.clip(colour + rng.normal(0, 25, size=3), 0, 255))
    return r, g, b


def _add_noise(image: Image.Image, boxes: np.ndarray, rng: np.random.Generator, d: float) -> list[str]:
    """Draw dots, thin lines and a strike-through on ``image`` in place, each with a chance
    proportional to the difficulty ``d``; returns what was drawn."""
    width, height = image.size
    ink = _ink_of(np.asarray(image))
    draw = ImageDraw.Draw(image)
    notes = []
    if rng.random() < 0.5 * d:
        colour = _near(ink, rng)
        for _ in range(int(rng.integers(5, 5 + width * height // 150))):
            x, y = int(rng.integers(width)), int(rng.integers(height))
            r = float(rng.uniform(0.5, 0.04 * height))
            draw.ellipse((x - r, y - r, x + r, y + r), fill=colour if rng.random() < 0.7 else _near(ink, rng))
        notes.append("dots")
    if rng.random() < 0.35 * d:
        for _ in range(int(rng.integers(1, 4))):
            xs = rng.uniform(0, width, size=2)
            ys = rng.uniform(0, height, size=2)
            draw.line((float(xs[0]), float(ys[0]), float(xs[1]), float(ys[1])), fill=_near(ink, rng),
                      width=max(1, round(height / 60)))
        notes.append("lines")
    if rng.random() < 0.45 * d:
        x0 = float(boxes[0, 0]) - float(rng.uniform(-5, 15))
        x1 = float(boxes[-1, 0] + boxes[-1, 2]) + float(rng.uniform(-5, 15))
        centre = float(np.median(boxes[:, 1] + boxes[:, 3] / 2))
        ts = np.linspace(0.0, 1.0, 32)
        ys = centre + rng.uniform(-0.15, 0.15) * height * (2 * ts - 1) \
            + rng.uniform(0, 0.12) * height * np.sin(2 * np.pi * ts * rng.uniform(0.3, 2.0) + rng.uniform(0, 6.3))
        xs = x0 + (x1 - x0) * ts
        thickness = max(1, round(float(rng.uniform(1.0, 4.0)) * height / 50))
        draw.line(list(zip(xs.tolist(), ys.tolist())), fill=_near(ink, rng), width=thickness, joint="curve")
        notes.append("struck through")
    return notes


def _finish(image: Image.Image, rng: np.random.Generator, d: float) -> tuple[np.ndarray, list[str]]:
    """Shading, grain, blur and JPEG artefacts, each with a chance proportional to the difficulty ``d``;
    returns the (H, W, 3) uint8 image and what was done."""
    notes = []
    pixels = np.asarray(image, dtype=np.float32)
    height, width = pixels.shape[:2]
    if rng.random() < 0.4 * d:
        gx = np.linspace(-1, 1, width, dtype=np.float32)[None, :, None] * float(rng.uniform(-25, 25))
        gy = np.linspace(-1, 1, height, dtype=np.float32)[:, None, None] * float(rng.uniform(-15, 15))
        pixels = pixels + gx + gy + rng.normal(0, float(rng.uniform(1, 10)), size=pixels.shape).astype(np.float32)
        notes.append("shaded")
    image = Image.fromarray(np.clip(np.rint(pixels), 0, 255).astype(np.uint8))
    if rng.random() < 0.45 * d:
        image = image.filter(ImageFilter.GaussianBlur(float(rng.uniform(0.4, 1.4)) * height / 50))
        notes.append("blurred")
    if rng.random() < 0.35 * d:
        buffer = io.BytesIO()
        image.save(buffer, format="JPEG", quality=int(rng.integers(12, 70)))
        image = Image.open(io.BytesIO(buffer.getvalue())).convert("RGB")
        notes.append("jpeg")
    return np.asarray(image, dtype=np.uint8), notes


def _web_ink(rng: np.random.Generator, pale: bool) -> np.ndarray:
    """(3,) float32 ink of a random hue: pale (light, saturated: yellow on white) or dark to medium."""
    value = rng.uniform(0.85, 1.0) if pale else rng.uniform(0.0, 0.75)
    saturation = rng.uniform(0.45, 1.0) if pale else rng.uniform(0.0, 1.0)
    return np.array(colorsys.hsv_to_rgb(float(rng.uniform()), float(saturation), float(value)), np.float32) * 255


def _web_glyph(ch: str, font_name: str, px: int, angle: float) -> tuple[np.ndarray, int]:
    """Opacity (h, w) float32 of ``ch`` turned by ``angle`` degrees, cut to its ink, and that ink's offset
    from the top of the font's line (so that letters keep a common baseline)."""
    face = font(font_name, px)
    ascent, descent = face.getmetrics()
    margin = px
    layer = Image.new("L", (face.getbbox(ch)[2] + 2 * margin, ascent + descent + 2 * margin), 0)
    ImageDraw.Draw(layer).text((margin, margin), ch, font=face, fill=255)
    layer = layer.rotate(angle, Image.Resampling.BICUBIC, expand=True)
    left, top, right, bottom = layer.getbbox() or (0, 0, 1, 1)
    return np.asarray(layer, np.float32)[top:bottom, left:right] / 255.0, top - (layer.height - ascent - descent) // 2


def make_web(rng: np.random.Generator, d: float = 1.0) -> tuple[np.ndarray, str, list[str]]:
    """A captcha in the looks of web forms, drawn with ``rng`` at difficulty ``d`` (0-1).

    At 0: dark letters of half to nine tenths of the height, no lines, labels
    as drawn. Towards 1: sizes from a third of the height to 1.3 times it (text
    wider than the canvas loses its ends), pale ink, two to six thin lines, and
    (in half of the captchas whose alphabet has no capitals) upper-case glyphs
    for a lower-case label.

    Returns:
        ((H, W, 3) uint8 RGB image, label, notes).
    """
    alphabets, chances = zip(*WEB_ALPHABETS)
    alphabet = alphabets[int(rng.choice(len(alphabets), p=chances))]
    low, high = PRETRAIN_LENGTHS
    label = "".join(alphabet[int(k)] for k in rng.integers(len(alphabet), size=int(rng.integers(low, high + 1))))
    notes = ["web"]
    folded = alphabet.islower() and rng.random() < 0.5 * d  # letters, none of them capitals
    upper = float(rng.choice([0.3, 0.7, 1.0])) if folded else 0.0
    if folded:
        notes.append("case-folded")
    height = int(rng.integers(HEIGHTS[0], HEIGHTS[1] + 1))
    width = int(height * rng.uniform(2.2, 2.2 + 4.3 * d + 1.0))
    paper = 255.0 - (rng.uniform(0, 20, size=3) if rng.random() < 0.35 else np.zeros(3))
    canvas = np.broadcast_to(paper.astype(np.float32), (height, width, 3)).copy()
    smallest, largest = 0.5 - 0.17 * d, 0.9 + 0.4 * d
    px = int(round(height * np.exp(rng.uniform(np.log(smallest), np.log(largest)))))
    fonts = list(rng.choice(PRETRAIN_FONTS, size=2 if rng.random() < 0.2 else 1))
    tilt, spacing = float(rng.uniform(-15, 15)) * d, float(rng.uniform(-0.1, 0.35))
    pale = bool(rng.random() < 0.3 * d)
    inks = [_web_ink(rng, pale)] * len(label) if rng.random() < 0.7 else [_web_ink(rng, pale) for _ in label]
    if pale:
        notes.append("pale")
    text = [ch.upper() if rng.random() < upper else ch for ch in label]
    faces = [str(fonts[int(rng.integers(len(fonts)))]) for _ in text]
    turns = rng.uniform(-6, 6, size=len(text)) * d + tilt
    gaps = np.rint(spacing * px * rng.uniform(0.6, 1.4, size=len(text))).astype(int)
    gaps[0] = 0
    while True:  # shrink the text until it is at most 8 % wider than the canvas
        glyphs = [_web_glyph(ch, face, px, float(turn)) for ch, face, turn in zip(text, faces, turns)]
        span = int(sum(g.shape[1] for g, _ in glyphs) + gaps.sum())
        if span <= 1.08 * width or px <= 10:
            break
        px = max(10, int(px * 0.95 * width / span))
    x = int(rng.integers(0, width - span + 1)) if span <= width else (width - span) // 2
    if span > width or px > height:
        notes.append("cut at the edge")
    line_height = sum(font(faces[0], px).getmetrics())
    top = (height - line_height) / 2 + rng.uniform(-0.4, 0.4) * max(0, height - px)
    rise = float(np.clip(np.tan(np.radians(-tilt)) * span, -0.25 * height, 0.25 * height))
    start = x
    for (alpha, offset), gap, ink in zip(glyphs, gaps, inks):
        x += int(gap)
        y = int(round(top + offset + rise * ((x + alpha.shape[1] / 2 - start) / max(span, 1) - 0.5)))
        rows = slice(max(y, 0), min(y + alpha.shape[0], height))
        cols = slice(max(x, 0), min(x + alpha.shape[1], width))
        if rows.start < rows.stop and cols.start < cols.stop:
            a = alpha[rows.start - y:rows.stop - y, cols.start - x:cols.stop - x, None]
            canvas[rows, cols] = canvas[rows, cols] * (1 - a) + ink * a
        x += alpha.shape[1]
    image = Image.fromarray(np.clip(np.rint(canvas), 0, 255).astype(np.uint8))
    lines = int(rng.integers(2, 7)) if rng.random() < d else 0
    draw = ImageDraw.Draw(image)
    for _ in range(lines):
        ends = rng.uniform(0, height, size=2)
        r, g, b = (int(v) for v in _web_ink(rng, bool(rng.random() < 0.4)))
        draw.line((0.0, float(ends[0]), float(width), float(ends[1])), fill=(r, g, b), width=int(rng.integers(1, 3)))
    if lines:
        notes.append("thin lines")
    return np.asarray(image, np.uint8), label, notes


def _label(rng: np.random.Generator) -> str:
    low, high = PRETRAIN_LENGTHS
    picks = rng.integers(0, len(PRETRAIN_ALPHABET), size=int(rng.integers(low, high + 1)))
    return "".join(PRETRAIN_ALPHABET[int(k)] for k in picks)


def difficulty_at(index: int, ramp: int) -> float:
    """Difficulty of captcha ``index`` of a stream whose difficulty rises from 0 to 1 over ``ramp`` captchas."""
    return 1.0 if ramp <= 0 else min(1.0, int(index) / int(ramp))


def make_varied(seed: int, index: int, difficulty: float = 1.0, web: float = 0.0) -> VariedCaptcha:
    """Captcha ``index`` of the stream with ``seed``: a random label in a random style.

    ``difficulty`` (0-1) scales the chance of every kind of noise and the
    ranges of rotation, warp and spacing (:func:`random_style`); the label,
    size and typefaces are drawn the same way at any difficulty. ``web``: the
    chance that the captcha is drawn in the looks of web forms instead
    (:func:`make_web`, then also blurred or saved as JPEG now and then); with 0,
    the stream is the same as before web looks existed.
    """
    rng = np.random.default_rng([int(seed), STREAM_KEY, int(index)])
    d = float(np.clip(difficulty, 0.0, 1.0))
    if web > 0 and np.random.default_rng([int(seed), STREAM_KEY, int(index), 1]).random() < web:
        image, label, notes = make_web(rng, d)
        pixels, more = _finish(Image.fromarray(image), rng, 0.5 * d)
        return VariedCaptcha(label, pixels, tuple(notes + more))
    label = _label(rng)
    style, dark = random_style(rng, d)
    height = int(rng.integers(HEIGHTS[0], HEIGHTS[1] + 1))
    width = int(round(height * len(label) * float(rng.uniform(0.55, 1.0)) + height * 0.3))
    captcha = render(label, style, (width, height), rng)
    image = Image.fromarray(captcha.image)
    notes = ["light on dark"] if dark else []
    notes += _add_noise(image, captcha.boxes, rng, d)
    pixels, more = _finish(image, rng, d)
    return VariedCaptcha(label, pixels, tuple(notes + more))


def iter_varied(seed: int, start: int = 0, count: int | None = None, *, ramp: int = 0,
                web: float = 0.0) -> Iterator[VariedCaptcha]:
    """Captchas ``start``, ``start + 1``, ... of the stream (``count`` of them, or without end).

    ``ramp``: the difficulty rises from 0 at index 0 to 1 at index ``ramp``
    (:func:`difficulty_at`; 0: full difficulty from the start). ``web``: the
    share drawn in web looks (:func:`make_varied`).
    """
    index = int(start)
    while count is None or index < start + count:
        yield make_varied(seed, index, difficulty_at(index, ramp), web)
        index += 1


def varied_batch(seed: int, start: int, count: int, ramp: int = 0,
                 web: float = 0.0) -> tuple[list[np.ndarray], list[str]]:
    """``count`` captchas of the stream from ``start``: ((H, W, 3) uint8 images of various sizes, labels)."""
    captchas = list(iter_varied(seed, start, count, ramp=ramp, web=web))
    return [c.image for c in captchas], [c.label for c in captchas]
