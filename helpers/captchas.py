"""Make and load sets of labelled text captchas.

Making
------
``make_captcha`` draws one captcha, ``generate_captchas`` (or its lazy twin
``iter_captchas``) draws a whole seeded set and ``save_captchas`` writes it to a
folder as ``<label>.png`` files plus a ``boxes.json`` manifest. Every
character is drawn on its own transparent layer, so the generator knows the
true bounding box of each character's ink: later chapters use these boxes to
score the segmentation.

Three difficulty levels (``LEVELS``) make the course's own sets:

* ``easy``: dark, clearly separated characters on a white background;
  contour segmentation works on practically all of them.
* ``medium``: stronger rotation, varied sizes and colours, noise dots and thin
  lines; now and then two characters touch.
* ``hard``: overlapping, warped characters and a thick wavy line through the
  text, in the style of the well-known ImageCaptcha look.

Two more looks (``LOOKS`` holds all five) imitate a style real sites use,
small captchas of tightly set letters (72x24 by default):

* ``tight``: one sans typeface, black on white, letters that touch or overlap
  their neighbours by a pixel or two, light rotation and warping;
* ``tight-varied``: harder, three typefaces, a new one for every letter, more
  rotation and overlaps of up to three pixels.

Two looks in colour (160x60, like the levels):

* ``colour``: every character in its own saturated colour on a pale tinted
  background, crossed by three to five lines in other colours. Characters and
  lines are drawn at the same brightness, so in gray the lines look like ink
  and only the colours tell them apart;
* ``dark``: light characters on a dark background, crossed by two to four
  lines as thick as the letters' strokes, so that in gray not even their
  shape sets them apart.

``make_captcha`` and the other drawing functions take ``jpeg_quality`` to
add the blocky artefacts of JPEG compression at that quality.

Reading
-------
``load_captchas`` reads a folder of labelled captchas made by anyone (PNG,
JPEG or BMP), takes each label from the file name or from a ``.txt`` file
next to the image, and returns grayscale ``uint8`` arrays (RGB ones with
``colour=True``).

Everything random is driven by explicit seeds: the same seed and parameters
give the same pixels (and byte-identical PNG files) whatever the global
``random``/``numpy.random`` state is.
"""

from __future__ import annotations

import json
import os
import re
import struct
import unicodedata
import warnings
import zlib
from collections import Counter
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path

import numpy as np
from PIL import Image, ImageDraw, ImageFont

from helpers.errors import CaptchaDataError
from helpers.files import write_bytes_atomically

__all__ = [
    "DEFAULT_ALPHABET",
    "DEFAULT_SIZE",
    "LEVELS",
    "LOOKS",
    "Captcha",
    "CaptchaDataError",
    "CaptchaSet",
    "captcha_filenames",
    "font",
    "generate_captchas",
    "iter_captchas",
    "load_captchas",
    "look_size",
    "make_captcha",
    "save_captchas",
    "to_gray",
]

DEFAULT_ALPHABET: str = "ABCDEFGHJKLMNPQRSTUVWXYZ23456789"
"""Upper-case letters and digits without the look-alikes 0/O and 1/I/l."""

LEVELS: tuple[str, ...] = ("easy", "medium", "hard")
"""The course's difficulty levels, from easiest to hardest."""

LOOKS: tuple[str, ...] = LEVELS + ("tight", "tight-varied", "colour", "dark")
"""Every look the generator draws: the levels, then imitations of real captcha styles."""

DEFAULT_SIZE: tuple[int, int] = (160, 60)
"""Default captcha size as (width, height) in pixels."""

MIN_HEIGHT: int = 16
"""Smallest image height (pixels) the generator accepts."""

IMAGE_EXTENSIONS: tuple[str, ...] = (".png", ".jpg", ".jpeg", ".bmp")
"""File extensions ``load_captchas`` reads (compared case-insensitively)."""

MANIFEST_NAME: str = "boxes.json"

# Pillow decoders the loader may use: only the formats the course accepts.
_PIL_FORMATS: tuple[str, ...] = ("PNG", "JPEG", "BMP")
"""Name of the manifest ``save_captchas`` writes next to the PNG files."""

INK_ALPHA: int = 128
"""A character's pixel counts as ink when its layer's opacity is at least this (of 255)."""

PNG_COMPRESS_LEVEL: int = 6
"""Fixed zlib level for saved PNGs, so files are byte-identical between runs."""


@dataclass(frozen=True, eq=False)
class Captcha:
    """One generated captcha with its answer and the true character boxes.

    Attributes:
        label: the text drawn, one character per box.
        image: (H, W, 3) uint8 RGB picture.
        boxes: (len(label), 4) int32 array; row i is (x, y, w, h), the tight
            bounding box of character i's ink in ``image`` (pixels whose layer
            opacity is at least ``INK_ALPHA``), in label order (left to right).
    """

    label: str
    image: np.ndarray
    boxes: np.ndarray

    def __post_init__(self) -> None:
        if self.image.ndim != 3 or self.image.shape[2] != 3 or self.image.dtype != np.uint8:
            raise CaptchaDataError(
                f"Captcha image must be an (H, W, 3) uint8 array, got shape "
                f"{self.image.shape} and dtype {self.image.dtype}"
            )
        if self.boxes.shape != (len(self.label), 4):
            raise CaptchaDataError(
                f"Captcha {self.label!r} needs one (x, y, w, h) box per character: expected "
                f"boxes of shape ({len(self.label)}, 4), got {self.boxes.shape}"
            )

    @property
    def size(self) -> tuple[int, int]:
        """(width, height) of the image in pixels."""
        return int(self.image.shape[1]), int(self.image.shape[0])


# --------------------------------------------------------------------------- fonts


def _font_dir() -> Path:
    """Folder of the DejaVu TrueType fonts bundled with matplotlib."""
    import matplotlib

    return Path(matplotlib.get_data_path()) / "fonts" / "ttf"


@lru_cache(maxsize=None)
def _font_path(name: str) -> str:
    """Full path of a bundled font file, with an actionable error if it is missing."""
    path = _font_dir() / name
    if not path.is_file():
        raise CaptchaDataError(
            f"font file {path} is missing; the captcha generator uses the DejaVu fonts that "
            "ship with matplotlib: reinstall it with `pip install --force-reinstall matplotlib`"
        )
    return str(path)


@lru_cache(maxsize=512)
def font(name: str, px: int) -> ImageFont.FreeTypeFont:
    """A cached Pillow font of ``px`` pixels from a DejaVu file bundled with matplotlib, such as
    "DejaVuSerif.ttf" (basic layout: the same pixels on every machine)."""
    return ImageFont.truetype(_font_path(name), px, layout_engine=ImageFont.Layout.BASIC)


@lru_cache(maxsize=None)
def _font_charmap(name: str) -> frozenset[int]:
    """Code points that have a real glyph (not the missing-glyph box) in a bundled font."""
    from matplotlib.ft2font import FT2Font

    return frozenset(FT2Font(_font_path(name)).get_charmap())


# --------------------------------------------------------------------------- levels


@dataclass(frozen=True)
class _Style:
    """Knobs of one generator level. Lengths are in "design pixels" (1 at height 60)."""

    fonts: tuple[str, ...]
    font_per_char: bool          # a new font for every character, else one per captcha
    font_scale: float            # font size in pixels / image height
    size_jitter: float           # relative font size variation per character
    max_rotation: float          # degrees, uniform in [-max, +max]
    warp: float                  # quad-warp corner shift, as a fraction of the glyph size
    gap: tuple[float, float]     # gap between neighbouring ink boxes, in design pixels
    overlap: tuple[float, float]  # if set (hard): gap = -uniform(*overlap) * mean ink width,
                                  # but never more than half of either neighbour's width
    touch_prob: float            # chance that a pair of neighbours is pushed together
    jitter: float                # vertical jitter of the character centres, design pixels
    background: tuple[int, int]  # background channel range
    tinted_background: bool      # channels drawn independently (a pale tint) or equal (gray)
    ink: tuple[int, int]         # character colour channel range
    ink_per_char: bool
    tinted_ink: bool
    may_touch: bool = False      # ``gap`` may be negative: neighbours touch or overlap by that much
    size: tuple[int, int] = DEFAULT_SIZE  # the look's default (width, height)
    hues: bool = False           # ink of saturated random hues whose brightness (luma) lies in ``ink``
    crossing: tuple[int, int] = (0, 0)  # fewest and most lines across the text, coloured as the ink
    crossing_width: tuple[float, float] = (1.5, 3.5)  # their width in design pixels


_SERIF_SANS = ("DejaVuSans.ttf", "DejaVuSans-Bold.ttf", "DejaVuSerif.ttf", "DejaVuSerif-Bold.ttf")

_STYLES: dict[str, _Style] = {
    "easy": _Style(
        fonts=_SERIF_SANS, font_per_char=False, font_scale=0.62, size_jitter=0.0,
        max_rotation=10.0, warp=0.0, gap=(4.0, 14.0), overlap=(0.0, 0.0), touch_prob=0.0,
        jitter=5.0, background=(244, 255), tinted_background=False, ink=(0, 70),
        ink_per_char=False, tinted_ink=False,
    ),
    "medium": _Style(
        fonts=_SERIF_SANS + ("DejaVuSansMono-Bold.ttf", "DejaVuSans-Oblique.ttf"),
        font_per_char=True, font_scale=0.6, size_jitter=0.15, max_rotation=25.0, warp=0.0,
        gap=(1.0, 10.0), overlap=(0.0, 0.0), touch_prob=0.09, jitter=8.0,
        background=(228, 255), tinted_background=True, ink=(0, 110), ink_per_char=True,
        tinted_ink=True,
    ),
    "hard": _Style(
        fonts=("DejaVuSansMono-Bold.ttf", "DejaVuSans-Bold.ttf", "DejaVuSerif-Bold.ttf"),
        font_per_char=True, font_scale=0.75, size_jitter=0.1, max_rotation=25.0, warp=0.12,
        gap=(0.0, 0.0), overlap=(0.02, 0.2), touch_prob=0.0, jitter=6.0,
        background=(238, 255), tinted_background=True, ink=(10, 170), ink_per_char=False,
        tinted_ink=True,
    ),
    # Gaps in design pixels: at 24 px high one design pixel is 0.4 px, so (-5, 0) is 0 to 2 px of overlap.
    "tight": _Style(
        fonts=("DejaVuSans.ttf",), font_per_char=False, font_scale=0.74, size_jitter=0.0,
        max_rotation=12.0, warp=0.04, gap=(-5.0, 0.0), overlap=(0.0, 0.0), touch_prob=0.0, jitter=4.0,
        background=(250, 255), tinted_background=False, ink=(0, 40), ink_per_char=False,
        tinted_ink=False, may_touch=True, size=(72, 24),
    ),
    "tight-varied": _Style(
        fonts=("DejaVuSans.ttf", "DejaVuSerif.ttf", "DejaVuSans-Oblique.ttf"), font_per_char=True,
        font_scale=0.74, size_jitter=0.08, max_rotation=20.0, warp=0.08, gap=(-8.0, -1.0), overlap=(0.0, 0.0),
        touch_prob=0.0, jitter=6.0, background=(240, 255), tinted_background=False, ink=(0, 60),
        ink_per_char=False, tinted_ink=False, may_touch=True, size=(72, 24),
    ),
    "colour": _Style(
        fonts=_SERIF_SANS, font_per_char=True, font_scale=0.62, size_jitter=0.1, max_rotation=20.0, warp=0.0,
        gap=(1.0, 8.0), overlap=(0.0, 0.0), touch_prob=0.0, jitter=6.0, background=(225, 250),
        tinted_background=True, ink=(95, 125), ink_per_char=True, tinted_ink=True, hues=True, crossing=(3, 5),
    ),
    "dark": _Style(
        fonts=_SERIF_SANS, font_per_char=True, font_scale=0.62, size_jitter=0.1, max_rotation=20.0, warp=0.0,
        gap=(1.0, 8.0), overlap=(0.0, 0.0), touch_prob=0.0, jitter=6.0, background=(10, 45),
        tinted_background=True, ink=(150, 185), ink_per_char=True, tinted_ink=True, hues=True, crossing=(2, 4),
        crossing_width=(3.5, 6.0),
    ),
}

_MIN_FONT_PX = 8
_SMALL_HEIGHT = 40
"""Below this image height, fonts are swapped for bold sans ones (``_SMALL_FONT``)."""
_SMALL_FONT = {
    # Thin strokes and serifs break apart at 10-15 px, so small captchas use sturdy fonts.
    "DejaVuSans.ttf": "DejaVuSans-Bold.ttf",
    "DejaVuSerif.ttf": "DejaVuSansMono-Bold.ttf",
    "DejaVuSerif-Bold.ttf": "DejaVuSansMono-Bold.ttf",
    "DejaVuSans-Oblique.ttf": "DejaVuSans-BoldOblique.ttf",
}
_INK_LUT = [255 if v >= INK_ALPHA else 0 for v in range(256)]


def _check_level(level: str) -> _Style:
    if level not in _STYLES:
        raise CaptchaDataError(f"unknown level {level!r}: choose one of {', '.join(LOOKS)}")
    return _STYLES[level]


def look_size(level: str) -> tuple[int, int]:
    """The default (width, height) of a look in ``LOOKS``."""
    return _check_level(level).size


def _check_size(size: tuple[int, int]) -> tuple[int, int]:
    try:
        width, height = (int(v) for v in size)
    except (TypeError, ValueError):
        raise CaptchaDataError(
            f"size must be a (width, height) pair of integers, got {size!r}"
        ) from None
    if height < MIN_HEIGHT:
        raise CaptchaDataError(
            f"size {width}x{height} is too small: captchas need a height of at least "
            f"{MIN_HEIGHT} pixels to stay legible; use e.g. size=(72, 24) or the default {DEFAULT_SIZE}"
        )
    if width < height // 2:
        raise CaptchaDataError(
            f"size {width}x{height} is too narrow: make the width at least half the height"
        )
    return width, height


def _check_seed(seed: int) -> int:
    if isinstance(seed, bool) or not isinstance(seed, (int, np.integer)) or seed < 0:
        raise CaptchaDataError(f"seed must be a non-negative integer, got {seed!r}")
    return int(seed)


def _bad_text_char(ch: str) -> bool:
    """True for whitespace and control/format characters (they have no visible ink)."""
    return ch.isspace() or unicodedata.category(ch).startswith("C")


def _check_text(text: str, style: _Style, what: str) -> str:
    """Validate a label or alphabet: non-empty and every character drawable in every font."""
    if not isinstance(text, str) or not text:
        raise CaptchaDataError(f"{what} must be a non-empty string, got {text!r}")
    for ch in dict.fromkeys(text):
        if _bad_text_char(ch):
            raise CaptchaDataError(
                f"{what} {text!r} contains {unicodedata.name(ch, repr(ch))} ({ch!r}), which draws "
                "no ink; use visible characters only"
            )
        for name in dict.fromkeys(style.fonts + tuple(_SMALL_FONT.get(f, f) for f in style.fonts)):
            if ord(ch) not in _font_charmap(name):
                raise CaptchaDataError(
                    f"{what} {text!r} contains {ch!r}, which the font {name} cannot draw; "
                    f"use letters and digits such as {DEFAULT_ALPHABET!r}"
                )
    return text


# --------------------------------------------------------------------------- drawing


@dataclass
class _Glyph:
    """One character's opacity layer and where its ink sits inside it."""

    layer: Image.Image               # mode 'L', opacity 0-255, cropped to its non-zero pixels
    ink: tuple[int, int, int, int]   # (x0, y0, x1, y1) of pixels >= INK_ALPHA, x1/y1 exclusive


@dataclass(frozen=True)
class _CharPlan:
    """Random choices for one character, drawn before any pixel is rendered."""

    char: str
    font: str
    scale: float                            # font size multiplier
    angle: float                            # degrees, counter-clockwise
    warp: tuple[float, ...]                 # 8 corner shifts in [-1, 1] (hard level)
    colour: tuple[int, int, int]


def _render_glyph(plan: _CharPlan, px: int, warp: float, oversample: int = 1) -> _Glyph:
    """Draw one character on a transparent layer, warp and rotate it, crop it.

    ``oversample`` > 1 draws at that many times the size and box-filters down,
    which keeps thin strokes of small glyphs connected after rotation.
    """
    size = max(_MIN_FONT_PX, round(px * plan.scale)) * oversample
    face = font(plan.font, size)
    left, top, right, bottom = face.getbbox(plan.char)
    extent = max(right - left, bottom - top)
    pad = 2 * oversample + int(np.ceil(warp * extent))
    layer = Image.new("L", (right - left + 2 * pad, bottom - top + 2 * pad), 0)
    ImageDraw.Draw(layer).text((pad - left, pad - top), plan.char, font=face, fill=255)
    if warp > 0:
        w, h = layer.size
        d = [s * warp * extent for s in plan.warp]
        # The source quad's corners move by at most `pad`, so the glyph stays inside it.
        quad = (d[0], d[1], d[2], h + d[3], w + d[4], h + d[5], w + d[6], d[7])
        layer = layer.transform((w, h), Image.Transform.QUAD, quad, Image.Resampling.BILINEAR)
    if plan.angle:
        layer = layer.rotate(plan.angle, Image.Resampling.BICUBIC, expand=True)
    if oversample > 1:
        layer = layer.reduce(oversample)
    bbox = layer.getbbox()
    ink = layer.point(_INK_LUT).getbbox()
    if bbox is None or ink is None:
        raise CaptchaDataError(
            f"character {plan.char!r} draws no visible ink in {plan.font}; use letters and digits"
        )
    layer = layer.crop(bbox)
    return _Glyph(layer, (ink[0] - bbox[0], ink[1] - bbox[1], ink[2] - bbox[0], ink[3] - bbox[1]))


def _random_colour(rng: np.random.Generator, lo_hi: tuple[int, int], tinted: bool) -> tuple[int, int, int]:
    """An RGB colour with channels in [lo, hi]; gray unless ``tinted``."""
    lo, hi = lo_hi
    if tinted:
        r, g, b = (int(v) for v in rng.integers(lo, hi + 1, size=3))
        return r, g, b
    v = int(rng.integers(lo, hi + 1))
    return v, v, v


_LUMA = np.array([0.299, 0.587, 0.114])
"""ITU-R 601 weights of red, green and blue in gray (what gray conversion computes)."""


def _hue_colour(rng: np.random.Generator, luma: tuple[int, int]) -> tuple[int, int, int]:
    """A saturated colour of random hue whose brightness (luma, see ``_LUMA``) lies in ``luma``."""
    import colorsys

    target = float(rng.uniform(*luma))
    rgb = np.array(colorsys.hsv_to_rgb(float(rng.random()), float(rng.uniform(0.7, 1.0)), 1.0)) * 255.0
    y = float(rgb @ _LUMA)
    rgb = rgb * (target / y) if y >= target else rgb + (255.0 - rgb) * (target - y) / (255.0 - y)
    r, g, b = (int(v) for v in np.clip(np.rint(rgb), 0, 255))
    return r, g, b


def _ink_colour(rng: np.random.Generator, style: _Style) -> tuple[int, int, int]:
    """One colour for a character (or a crossing line) of ``style``."""
    return _hue_colour(rng, style.ink) if style.hues else _random_colour(rng, style.ink, style.tinted_ink)


def _plan_chars(label: str, style: _Style, small: bool, rng: np.random.Generator) -> list[_CharPlan]:
    """Draw fonts, sizes, angles, warps and colours for every character.

    ``small``: the image is low, use sturdy bold sans fonts so strokes stay connected.
    """
    fonts = tuple(_SMALL_FONT.get(f, f) for f in style.fonts) if small else style.fonts
    face = fonts[int(rng.integers(len(fonts)))]
    colour = _ink_colour(rng, style)
    plans = []
    for ch in label:
        if style.font_per_char:
            face = fonts[int(rng.integers(len(fonts)))]
        if style.ink_per_char:
            colour = _ink_colour(rng, style)
        scale = 1.0 + float(rng.uniform(-style.size_jitter, style.size_jitter))
        angle = float(rng.uniform(-style.max_rotation, style.max_rotation))
        warp = tuple(float(v) for v in rng.uniform(-1.0, 1.0, size=8))
        plans.append(_CharPlan(ch, face, scale, angle, warp, colour))
    return plans


def _min_gap(style: _Style, unit: float) -> int | None:
    """Smallest gap between ink boxes: 2 px at height 60 (scaled, at least 2) for levels
    whose characters never touch, None for levels where they may."""
    if style.overlap != (0.0, 0.0) or style.touch_prob > 0 or style.may_touch:
        return None
    return max(2, round(2 * unit))


def _plan_gaps(glyphs: list[_Glyph], style: _Style, unit: float, rng: np.random.Generator) -> list[int]:
    """Horizontal gaps (pixels, may be negative) between neighbouring ink boxes."""
    n = len(glyphs) - 1
    widths = [g.ink[2] - g.ink[0] for g in glyphs]
    if style.overlap != (0.0, 0.0):
        # Overlap by a share of the mean width, but never cover half of a narrow neighbour.
        mean_w = float(np.mean(widths))
        return [
            -min(round(float(rng.uniform(*style.overlap)) * mean_w), widths[i] // 2, widths[i + 1] // 2)
            for i in range(n)
        ]
    floor = _min_gap(style, unit)
    gaps = []
    for i in range(n):
        gap = round(float(rng.uniform(*style.gap)) * unit)
        if floor is not None:
            gap = max(floor, gap)
        elif not style.may_touch:
            gap = max(0, gap)
        if rng.random() < style.touch_prob:
            gap = -round(float(rng.uniform(0.0, 0.25)) * min(widths[i], widths[i + 1]))
        gaps.append(gap)
    return gaps


def _layout(
    glyphs: list[_Glyph], gaps: list[int], style: _Style, size: tuple[int, int], unit: float,
    rng: np.random.Generator,
) -> list[tuple[int, int]] | None:
    """Top-left corners of every layer so that all layers fit in the image, or None."""
    width, height = size
    margin = max(1, round(2 * unit))
    floor = _min_gap(style, unit) or 0
    for attempt in range(2):
        ink_x = [0]
        for g, gap in zip(glyphs, gaps):
            ink_x.append(ink_x[-1] + (g.ink[2] - g.ink[0]) + gap)
        lefts = [x - g.ink[0] for x, g in zip(ink_x, glyphs)]
        rights = [left + g.layer.width for left, g in zip(lefts, glyphs)]
        slack = width - 2 * margin - (max(rights) - min(lefts))
        if slack >= 0:
            break
        # Too wide: squeeze the gaps above the floor once, then give up (the caller shrinks the font).
        spare = sum(gap - floor for gap in gaps if gap > floor)
        if attempt == 1 or spare <= 0:
            return None
        keep = max(0.0, 1.0 - (1 - slack) / spare)
        gaps = [floor + int((gap - floor) * keep) if gap > floor else gap for gap in gaps]
    x0 = margin + int(rng.integers(0, slack + 1)) - min(lefts)
    corners = []
    for left, g in zip(lefts, glyphs):
        room = height - 2 * margin - g.layer.height
        if room < 0:
            return None
        centre = (height - g.layer.height) / 2 + float(rng.uniform(-style.jitter, style.jitter)) * unit
        y = int(round(min(max(centre, margin), margin + room)))
        corners.append((x0 + left, y))
    return corners


def _draw_background_specks(draw: ImageDraw.ImageDraw, size: tuple[int, int], unit: float, rng: np.random.Generator) -> None:
    """Easy level: a few faint light-gray specks of 1-2 pixels."""
    width, height = size
    for _ in range(int(rng.integers(3, 9))):
        x, y = int(rng.integers(width)), int(rng.integers(height))
        r = int(rng.integers(0, 2))
        v = int(rng.integers(195, 231))
        draw.rectangle((x, y, x + r, y + r), fill=(v, v, v))


def _draw_dots(draw: ImageDraw.ImageDraw, size: tuple[int, int], unit: float, count: int,
               colour: tuple[int, int, int] | None, rng: np.random.Generator) -> None:
    """Noise dots of a few pixels; random dark or gray colours unless ``colour`` is given."""
    width, height = size
    for _ in range(count):
        x, y = int(rng.integers(width)), int(rng.integers(height))
        d = max(1, round(float(rng.uniform(1.0, 3.5)) * unit))
        if colour is None:
            v = int(rng.integers(0, 180))
            fill = (v, v, v)
        else:
            fill = colour
        if d <= 2:
            draw.rectangle((x, y, x + d - 1, y + d - 1), fill=fill)
        else:
            draw.ellipse((x, y, x + d, y + d), fill=fill)


def _draw_lines(draw: ImageDraw.ImageDraw, size: tuple[int, int], unit: float, rng: np.random.Generator) -> None:
    """Medium level: one or two thin straight lines across the text."""
    width, height = size
    for _ in range(int(rng.integers(1, 3))):
        y0, y1 = (float(v) for v in rng.uniform(0.2 * height, 0.8 * height, size=2))
        x0 = float(rng.uniform(0, 0.25 * width))
        x1 = float(rng.uniform(0.75 * width, width))
        v = int(rng.integers(20, 130))
        draw.line((x0, y0, x1, y1), fill=(v, v, v), width=max(1, round(unit)))


def _draw_wave(draw: ImageDraw.ImageDraw, size: tuple[int, int], unit: float,
               colour: tuple[int, int, int], rng: np.random.Generator) -> None:
    """Hard level: a thick wavy curve through the middle of the text."""
    width, height = size
    x0 = float(rng.uniform(0.0, 0.2)) * width
    x1 = float(rng.uniform(0.8, 1.0)) * width
    centre = float(rng.uniform(0.4, 0.6)) * height
    amplitude = float(rng.uniform(0.08, 0.2)) * height
    period = float(rng.uniform(0.5, 1.2)) * width
    phase = float(rng.uniform(0, 2 * np.pi))
    xs = np.linspace(x0, x1, 40)
    ys = centre + amplitude * np.sin(2 * np.pi * xs / period + phase)
    draw.line(list(zip(xs.tolist(), ys.tolist())), fill=colour, width=max(1, round(3 * unit)), joint="curve")


def _draw_crossing(draw: ImageDraw.ImageDraw, size: tuple[int, int], unit: float, boxes: np.ndarray,
                   style: _Style, rng: np.random.Generator) -> None:
    """Colour looks: lines across the text, gently bent, each in a colour of its own drawn like the ink."""
    width, height = size
    left, right = int(boxes[:, 0].min()), int((boxes[:, 0] + boxes[:, 2]).max())
    top, bottom = int(boxes[:, 1].min()), int((boxes[:, 1] + boxes[:, 3]).max())
    for _ in range(int(rng.integers(style.crossing[0], style.crossing[1] + 1))):
        x0 = float(rng.uniform(0, max(1, left)))
        x1 = float(rng.uniform(min(right, width - 1), width))
        y0, y1 = (float(v) for v in rng.uniform(top, bottom, size=2))
        bend = float(rng.uniform(-0.25, 0.25)) * height
        ts = np.linspace(0.0, 1.0, 24)
        xs = x0 + (x1 - x0) * ts
        ys = y0 + (y1 - y0) * ts + bend * 4 * ts * (1 - ts)
        draw.line(list(zip(xs.tolist(), ys.tolist())), fill=_ink_colour(rng, style),
                  width=max(1, round(float(rng.uniform(*style.crossing_width)) * unit)), joint="curve")


def _jpeg(image: np.ndarray, quality: int) -> np.ndarray:
    """(H, W, 3) uint8 -> the same picture after JPEG compression at ``quality`` (1-95), as a new array."""
    import io

    buffer = io.BytesIO()
    Image.fromarray(image).save(buffer, format="JPEG", quality=int(quality))
    with Image.open(io.BytesIO(buffer.getvalue())) as img:
        return np.asarray(img.convert("RGB"), dtype=np.uint8).copy()


def _render(label: str, style: _Style, level: str, size: tuple[int, int], rng: np.random.Generator) -> Captcha:
    """Draw one captcha of ``size`` for a validated label with the given style."""
    width, height = size
    unit = height / 60.0
    small = height < _SMALL_HEIGHT
    oversample = 2 if small else 1
    plans = _plan_chars(label, style, small, rng)
    background = _random_colour(rng, style.background, style.tinted_background)
    px = round(style.font_scale * height)
    corners = None
    while corners is None:
        glyphs = [_render_glyph(p, px, style.warp, oversample) for p in plans]
        gaps = _plan_gaps(glyphs, style, unit, rng)
        corners = _layout(glyphs, gaps, style, size, unit, rng)
        if corners is None:
            if px <= _MIN_FONT_PX:
                raise CaptchaDataError(
                    f"label {label!r} ({len(label)} characters) does not fit in a {width}x{height} "
                    "image; use a wider size or a shorter label"
                )
            px = max(_MIN_FONT_PX, int(px * 0.9))

    image = Image.new("RGB", size, background)
    draw = ImageDraw.Draw(image)
    if level == "easy":
        _draw_background_specks(draw, size, unit, rng)
    boxes = np.zeros((len(label), 4), np.int32)
    for i, (plan, glyph, (x, y)) in enumerate(zip(plans, glyphs, corners)):
        image.paste(plan.colour, (x, y, x + glyph.layer.width, y + glyph.layer.height), glyph.layer)
        ix0, iy0, ix1, iy1 = glyph.ink
        bx0, by0 = max(0, x + ix0), max(0, y + iy0)
        bx1, by1 = min(width, x + ix1), min(height, y + iy1)
        boxes[i] = (bx0, by0, bx1 - bx0, by1 - by0)
    area = width * height / (160 * 60)
    if level == "medium":
        _draw_dots(draw, size, unit, int(rng.integers(8, 20) * area) + 2, None, rng)
        _draw_lines(draw, size, unit, rng)
    elif level == "hard":
        _draw_wave(draw, size, unit, plans[0].colour, rng)
        _draw_dots(draw, size, unit * 0.8, int(rng.integers(20, 40) * area) + 3, plans[0].colour, rng)
    if style.crossing != (0, 0):
        _draw_crossing(draw, size, unit, boxes, style, rng)
    return Captcha(label=label, image=np.asarray(image, dtype=np.uint8).copy(), boxes=boxes)


# --------------------------------------------------------------------------- public generator API


def make_captcha(label: str, level: str = "easy", *, seed: int,
                 size: tuple[int, int] | None = None, jpeg_quality: int | None = None) -> Captcha:
    """Draw one captcha showing ``label``.

    Args:
        label: the text to draw (every character must be drawable, no spaces).
        level: one of ``LOOKS``.
        seed: non-negative integer; the same seed gives the same pixels.
        size: (width, height) in pixels, height at least ``MIN_HEIGHT``; None: the
            look's own size (``DEFAULT_SIZE`` for the levels, 72x24 for the tight looks).
        jpeg_quality: 1-95 to pass the picture through JPEG compression at that
            quality (blocky artefacts, smeared colours), None for clean pixels.

    Returns:
        A ``Captcha`` with an (H, W, 3) uint8 image and (len(label), 4) int32 boxes.
    """
    style = _check_level(level)
    size = _check_size(style.size if size is None else size)
    _check_text(label, style, "label")
    quality = _check_quality(jpeg_quality)
    rng = np.random.default_rng(_check_seed(seed))
    return _finish(_render(label, style, level, size, rng), quality)


def _check_quality(quality: int | None) -> int | None:
    if quality is None:
        return None
    if isinstance(quality, bool) or not isinstance(quality, (int, np.integer)) or not 1 <= quality <= 95:
        raise CaptchaDataError(f"the JPEG quality must be a whole number from 1 to 95, or None for none, got {quality!r}",
                               argument="jpeg_quality")
    return int(quality)


def _finish(captcha: Captcha, quality: int | None) -> Captcha:
    """The captcha as drawn, or with JPEG artefacts of ``quality``."""
    if quality is None:
        return captcha
    return Captcha(label=captcha.label, image=_jpeg(captcha.image, quality), boxes=captcha.boxes)


def iter_captchas(count: int, level: str = "easy", *, seed: int, alphabet: str = DEFAULT_ALPHABET,
                  length: int = 4, size: tuple[int, int] | None = None,
                  jpeg_quality: int | None = None) -> Iterator[Captcha]:
    """Lazily draw ``count`` captchas with random labels (see ``generate_captchas``).

    Arguments are checked at once, before the first captcha is drawn.
    """
    style = _check_level(level)
    size = _check_size(style.size if size is None else size)
    _check_text(alphabet, style, "alphabet")
    seed = _check_seed(seed)
    quality = _check_quality(jpeg_quality)
    if isinstance(count, bool) or not isinstance(count, (int, np.integer)) or count < 0:
        raise CaptchaDataError(f"count must be a non-negative integer, got {count!r}")
    if isinstance(length, bool) or not isinstance(length, (int, np.integer)) or length < 1:
        raise CaptchaDataError(f"length must be a positive integer (characters per captcha), got {length!r}")
    return _iter_captchas(int(count), style, level, seed, alphabet, int(length), size, quality)


def _iter_captchas(count: int, style: _Style, level: str, seed: int, alphabet: str, length: int,
                   size: tuple[int, int], quality: int | None = None) -> Iterator[Captcha]:
    chars = list(alphabet)
    level_key = LOOKS.index(level)  # each look gets its own labels for the same seed
    for i in range(count):
        rng = np.random.default_rng([seed, level_key, i])
        label = "".join(chars[int(k)] for k in rng.integers(0, len(chars), size=length))
        yield _finish(_render(label, style, level, size, rng), quality)


def generate_captchas(count: int, level: str = "easy", *, seed: int, alphabet: str = DEFAULT_ALPHABET,
                      length: int = 4, size: tuple[int, int] | None = None,
                      jpeg_quality: int | None = None) -> list[Captcha]:
    """Draw ``count`` captchas with random labels of ``length`` characters from ``alphabet``.

    Captcha i is drawn from its own generator ``numpy.random.default_rng([seed, level, i])``
    (its label too), so the first k captchas of a larger set equal a set of k, and
    nothing depends on the global ``random``/``numpy.random`` state.

    Returns:
        A list of ``Captcha``; each image is (H, W, 3) uint8 with (H, W) = size[::-1].
    """
    return list(iter_captchas(count, level, seed=seed, alphabet=alphabet, length=length, size=size,
                              jpeg_quality=jpeg_quality))


# --------------------------------------------------------------------------- saving

_UNSAFE_NAME_CHARS = frozenset({"/", "\\", "\0", os.sep} | ({os.altsep} if os.altsep else set()))


def _check_filename_label(label: str) -> None:
    """Refuse labels that would make an unsafe or surprising file name."""
    problem = ""
    if not label:
        problem = "it is empty"
    elif label.startswith("."):
        problem = "it starts with '.', which would make a hidden file"
    elif ".." in label:
        problem = "it contains '..'"
    elif _DUPLICATE_SUFFIX.match(label):
        problem = "it ends in '_<digits>' or '-<digits>', which reads back as a duplicate-number suffix"
    elif len(label.encode("utf-8")) > 200:
        problem = "it is too long for a file name (more than 200 bytes)"
    else:
        for ch in label:
            if ch in _UNSAFE_NAME_CHARS or _bad_text_char(ch):
                problem = f"it contains {ch!r}"
                break
    if problem:
        raise CaptchaDataError(
            f"cannot use label {label!r} as a file name: {problem}; draw captchas from an "
            "alphabet without '/', '\\', '.', spaces or control characters"
        )


def captcha_filenames(labels: Sequence[str]) -> list[str]:
    """File names for captchas with these labels, in the same order.

    ``"<label>.png"``; a label seen before gets ``"<label>_<k>.png"`` with
    k = 1, 2, ... Names are also unique ignoring case, so the set survives
    case-insensitive file systems (macOS, Windows).
    """
    used: set[str] = set()
    repeats: Counter[str] = Counter()
    names = []
    for label in labels:
        name = f"{label}.png"
        while name.casefold() in used:
            repeats[label] += 1
            name = f"{label}_{repeats[label]}.png"
        used.add(name.casefold())
        names.append(name)
    return names


JPEG_QUALITY: int = 90
"""Quality of captchas saved as JPEG (``file_format="jpg+txt"``)."""

FILE_FORMATS: tuple[str, ...] = ("png", "jpg+txt")
"""How ``save_captchas`` names and labels files: ``<label>.png``, or ``00001.jpg`` + ``00001.txt``."""


def _image_bytes(image: np.ndarray, file_format: str = "png") -> bytes:
    """Encode an (H, W, 3) uint8 array as PNG or JPEG bytes, the same bytes on every run.

    PNG uses a fixed compression level and JPEG a fixed quality; neither stores a timestamp.
    """
    import io

    buffer = io.BytesIO()
    if file_format == "png":
        Image.fromarray(image).save(buffer, format="PNG", compress_level=PNG_COMPRESS_LEVEL)
    else:
        Image.fromarray(image).save(buffer, format="JPEG", quality=JPEG_QUALITY)
    return buffer.getvalue()


def save_captchas(captchas: Sequence[Captcha], out_dir: Path, *, overwrite: bool = False,
                  progress: bool = False, file_format: str = "png") -> list[Path]:
    """Write captchas as ``out_dir/<label>.png`` (or numbered JPEGs with labels) plus a ``boxes.json`` manifest.

    The manifest maps each file name to ``{"label": ..., "boxes": [[x, y, w, h], ...]}``.
    The same captchas always give byte-identical files.

    Args:
        captchas: what to write.
        out_dir: created (with parents) if missing. If it exists and is not
            empty, ``overwrite=True`` is needed; then only files this call
            writes are replaced (other files stay, entries of an existing
            manifest are kept and updated).
        progress: show a tqdm progress bar.
        file_format: "png" names each file by its label; "jpg+txt" writes
            numbered JPEG files, each with a ``.txt`` file holding its label
            (the format of the 2019 student project).

    Returns:
        The paths of the image files written, in the order of ``captchas``.
    """
    if file_format not in FILE_FORMATS:
        raise CaptchaDataError(f"unknown file format {file_format!r}: choose one of {', '.join(FILE_FORMATS)}")
    out_dir = Path(out_dir)
    captchas = list(captchas)
    for c in captchas:
        _check_filename_label(c.label)
    if out_dir.exists() and not out_dir.is_dir():
        raise CaptchaDataError(f"{out_dir} exists and is not a folder; choose another output folder")
    if out_dir.is_dir() and any(out_dir.iterdir()) and not overwrite:
        raise CaptchaDataError(
            f"{out_dir} already contains files; choose an empty or new folder, or allow replacing same-named "
            "captchas and keeping the rest", argument="overwrite", value=True)
    out_dir.mkdir(parents=True, exist_ok=True)

    manifest: dict[str, dict] = {}
    manifest_path = out_dir / MANIFEST_NAME
    if overwrite and manifest_path.is_file():
        try:
            old = json.loads(manifest_path.read_text(encoding="utf-8"))
            if isinstance(old, dict):
                manifest.update(old)
        except (OSError, ValueError):
            pass  # an unreadable manifest is replaced by a fresh one

    from tqdm import tqdm

    if file_format == "png":
        names = captcha_filenames([c.label for c in captchas])
    else:
        digits = max(5, len(str(len(captchas))))
        names = [f"{k:0{digits}d}.jpg" for k in range(1, len(captchas) + 1)]
    paths = []
    for c, name in tqdm(list(zip(captchas, names)), desc=f"saving to {out_dir.name}",
                        disable=not progress, unit="captcha"):
        path = out_dir / name
        write_bytes_atomically(path, _image_bytes(c.image, file_format))
        if file_format == "jpg+txt":
            write_bytes_atomically(path.with_suffix(".txt"), (c.label + "\n").encode("utf-8"))
        manifest[name] = {"label": c.label, "boxes": np.asarray(c.boxes).astype(int).tolist()}
        paths.append(path)
    text = json.dumps(manifest, sort_keys=True, indent=1, ensure_ascii=False) + "\n"
    write_bytes_atomically(manifest_path, text.encode("utf-8"))
    return paths


# --------------------------------------------------------------------------- loading


def _gray_from_pil(img: Image.Image) -> np.ndarray:
    """Any Pillow image -> (H, W) uint8 gray; transparency is composited over white."""
    mode = img.mode
    if mode in ("I;16", "I;16L", "I;16B", "I;16N", "I"):
        values = np.asarray(img).astype(np.float64)
        return np.rint(np.clip(values, 0, 65535) * (255.0 / 65535.0)).astype(np.uint8)
    if mode in ("RGBA", "LA", "PA", "RGBa", "La") or (
        mode in ("P", "L", "RGB") and "transparency" in img.info
    ):
        rgba = img.convert("RGBA")
        white = Image.new("RGBA", rgba.size, (255, 255, 255, 255))
        return np.array(Image.alpha_composite(white, rgba).convert("L"), dtype=np.uint8)
    if mode == "L":
        return np.array(img, dtype=np.uint8)
    if mode in ("1", "P", "RGB"):
        return np.array(img.convert("L"), dtype=np.uint8)
    return np.array(img.convert("RGB").convert("L"), dtype=np.uint8)


def _rgb_from_pil(img: Image.Image) -> np.ndarray:
    """Any Pillow image -> (H, W, 3) uint8 RGB; transparency is composited over white, gray repeated."""
    if img.mode in ("I;16", "I;16L", "I;16B", "I;16N", "I"):
        return np.repeat(_gray_from_pil(img)[:, :, None], 3, axis=2)
    rgba = img.convert("RGBA")
    white = Image.new("RGBA", rgba.size, (255, 255, 255, 255))
    return np.array(Image.alpha_composite(white, rgba).convert("RGB"), dtype=np.uint8)


def to_gray(image: np.ndarray) -> np.ndarray:
    """Convert an image array to grayscale the way ``load_captchas`` does.

    Args:
        image: (H, W), (H, W, 3) RGB or (H, W, 4) RGBA uint8 array. RGBA is
            composited over white.

    Returns:
        (H, W) uint8 array (a copy).
    """
    image = np.asarray(image)
    if image.dtype != np.uint8:
        raise CaptchaDataError(
            f"to_gray expects a uint8 image, got dtype {image.dtype}; convert with "
            "np.clip(image, 0, 255).astype(np.uint8) first"
        )
    if image.ndim == 2:
        return image.copy()
    if image.ndim == 3 and image.shape[2] in (3, 4):
        mode = "RGB" if image.shape[2] == 3 else "RGBA"
        return _gray_from_pil(Image.fromarray(np.ascontiguousarray(image), mode))
    raise CaptchaDataError(
        f"to_gray expects an (H, W), (H, W, 3) or (H, W, 4) array, got shape {image.shape}"
    )


@dataclass
class CaptchaSet:
    """Captchas read from a folder.

    Attributes:
        images: grayscale (H, W) uint8 arrays; sizes may differ between files.
        labels: the answer of each image.
        paths: the file each image came from (sorted by file name).
        skipped: (file, reason) for every bad file skipped with ``skip_bad=True``.
    """

    images: list[np.ndarray] = field(default_factory=list)
    labels: list[str] = field(default_factory=list)
    paths: list[Path] = field(default_factory=list)
    skipped: list[tuple[Path, str]] = field(default_factory=list)

    @property
    def alphabet(self) -> str:
        """Sorted unique characters of all labels."""
        return "".join(sorted(set("".join(self.labels))))

    @property
    def lengths(self) -> dict[int, int]:
        """Label length -> number of captchas, sorted by length."""
        return dict(sorted(Counter(len(label) for label in self.labels).items()))

    def __len__(self) -> int:
        return len(self.images)


_DUPLICATE_SUFFIX = re.compile(r"^(.+?)[_-]\d+$")


class _BadFile(Exception):
    """One file cannot be used; the message is the reason."""


def _label_problem(label: str) -> str:
    """Why ``label`` is not a valid captcha answer, or '' if it is fine."""
    if not label:
        return "the label is empty"
    for ch in label:
        if ch in "/\\" or _bad_text_char(ch):
            return f"the label {label!r} contains {ch!r}; labels may not contain spaces, '/', '\\' or control characters"
    return ""


def _read_sidecar(path: Path) -> str:
    try:
        text = path.read_text(encoding="utf-8-sig")
    except UnicodeDecodeError:
        raise _BadFile(f"its label file {path.name} is not UTF-8 text") from None
    except OSError as e:
        raise _BadFile(f"its label file {path.name} cannot be read ({e.strerror or e})") from None
    return text.strip()


def _sniff_size(path: Path) -> tuple[int, int] | None:
    """(width, height) from a PNG, BMP or JPEG header without decoding pixels, or None."""
    try:
        with open(path, "rb") as f:
            head = f.read(64 * 1024)
    except OSError:
        return None
    if head[:8] == b"\x89PNG\r\n\x1a\n" and head[12:16] == b"IHDR":
        w, h = struct.unpack(">II", head[16:24])
        return w, h
    if head[:2] == b"BM" and len(head) >= 26:
        (header_size,) = struct.unpack("<I", head[14:18])
        if header_size == 12:
            w, h = struct.unpack("<HH", head[18:22])
        else:
            w, h = struct.unpack("<ii", head[18:26])
        return abs(w), abs(h)
    if head[:2] == b"\xff\xd8":
        i = 2
        while i + 9 <= len(head):
            if head[i] != 0xFF:
                return None
            marker = head[i + 1]
            (seg_len,) = struct.unpack(">H", head[i + 2:i + 4])
            if marker in (0xC0, 0xC1, 0xC2, 0xC3, 0xC5, 0xC6, 0xC7, 0xC9, 0xCA, 0xCB, 0xCD, 0xCE, 0xCF):
                h, w = struct.unpack(">HH", head[i + 5:i + 9])
                return w, h
            i += 2 + seg_len
    return None


def _too_big(width: int, height: int, max_pixels: int) -> str:
    return (
        f"it is {width}x{height} pixels, larger than the {max_pixels}-pixel limit; "
        "downscale it or raise max_pixels"
    )


def _decode(path: Path, max_pixels: int, colour: bool = False) -> np.ndarray:
    """Read one image file as (H, W) uint8 gray (or (H, W, 3) RGB), checking its size before decoding."""
    try:
        if path.stat().st_size == 0:
            raise _BadFile("the file is empty (0 bytes)")
    except OSError as e:
        raise _BadFile(f"it cannot be read ({e.strerror or e})") from None
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", Image.DecompressionBombWarning)
            img = Image.open(path, formats=_PIL_FORMATS)  # never hand a file to other decoders
    except Image.DecompressionBombError:
        dims = _sniff_size(path)
        if dims is not None:
            raise _BadFile(_too_big(*dims, max_pixels)) from None
        raise _BadFile(
            f"its header claims more pixels than Pillow will decode, far beyond the "
            f"{max_pixels}-pixel limit; downscale it"
        ) from None
    except (OSError, SyntaxError, ValueError, EOFError, struct.error, zlib.error) as e:
        raise _BadFile(f"it is not a readable image ({e})") from None
    with img:
        width, height = img.size
        if width * height > max_pixels:
            raise _BadFile(_too_big(width, height, max_pixels))
        if width == 0 or height == 0:
            raise _BadFile(f"it is {width}x{height} pixels (empty)")
        try:
            img.load()
            return _rgb_from_pil(img) if colour else _gray_from_pil(img)
        except (OSError, SyntaxError, ValueError, EOFError, struct.error, zlib.error) as e:
            raise _BadFile(f"it is corrupt or truncated ({e})") from None


def read_image(path: str | Path, *, max_pixels: int = 4_000_000, colour: bool = False) -> np.ndarray:
    """Read one image file (PNG, JPG, BMP; any mode) as (H, W) uint8 grayscale, or (H, W, 3) RGB with ``colour``.

    Raises CaptchaDataError naming the file when it is missing, empty, corrupt
    or larger than ``max_pixels`` (checked before decoding).
    """
    path = Path(path)
    if not path.is_file():
        raise CaptchaDataError(f"{path} does not exist or is not a file")
    try:
        return _decode(path, max_pixels, colour)
    except _BadFile as exc:
        raise CaptchaDataError(f"{path}: {exc}") from None


def _list_folder(directory: Path) -> tuple[list[Path], dict[str, Path]]:
    """Image files (sorted by name) and sidecar label files (by stem) in a folder's top level."""
    images, sidecars = [], {}
    for entry in directory.iterdir():
        if entry.name.startswith(".") or entry.name == MANIFEST_NAME or not entry.is_file():
            continue
        suffix = entry.suffix.lower()
        if suffix in IMAGE_EXTENSIONS:
            images.append(entry)
        elif suffix == ".txt":
            sidecars[entry.stem] = entry
    images.sort(key=lambda p: p.name)
    return images, sidecars


def load_captchas(directory: str | Path, *, skip_bad: bool = False,
                  max_pixels: int = 4_000_000, colour: bool = False) -> CaptchaSet:
    """Read a folder of labelled captchas as grayscale (or colour) arrays.

    Only the folder's top level is read; hidden files and ``boxes.json`` are
    ignored. Images are PNG, JPEG or BMP (any case of extension). The label is
    the file name without extension and without a trailing duplicate suffix
    ``_k``/``-k`` (``AB3D_2.png`` -> ``AB3D``), or the stripped content of a
    ``.txt`` file with the same stem, which wins when present. If any image has
    a ``.txt`` file, all must have one.

    Args:
        directory: the folder.
        skip_bad: record unusable files in ``skipped`` instead of raising.
        max_pixels: refuse images with more pixels (checked from the header,
            before decoding).
        colour: keep the colours: (H, W, 3) RGB images instead of gray.

    Returns:
        A ``CaptchaSet`` of (H, W) (or (H, W, 3)) uint8 images sorted by file name.

    Raises:
        CaptchaDataError: missing folder, no images, a bad file (unless
            ``skip_bad``), or every file skipped.
    """
    directory = Path(directory)
    if not directory.exists():
        raise CaptchaDataError(f"captcha folder {directory} does not exist; check the path")
    if not directory.is_dir():
        raise CaptchaDataError(f"{directory} is a file, not a folder; pass the folder that holds the images")
    if isinstance(max_pixels, bool) or not isinstance(max_pixels, (int, np.integer)) or max_pixels < 1:
        raise CaptchaDataError(f"max_pixels must be a positive integer, got {max_pixels!r}")

    images, sidecars = _list_folder(directory)
    if not images:
        raise CaptchaDataError(
            f"no captcha images in {directory}: expected files ending in "
            f"{', '.join(IMAGE_EXTENSIONS)} (any case) directly in that folder"
        )
    uses_sidecars = any(p.stem in sidecars for p in images)

    result = CaptchaSet()
    for path in images:
        try:
            if uses_sidecars:
                if path.stem not in sidecars:
                    raise _BadFile(
                        f"missing label: this folder labels images with .txt files, but "
                        f"{path.stem}.txt does not exist"
                    )
                label = _read_sidecar(sidecars[path.stem])
                if not label:
                    raise _BadFile(f"missing label: {path.stem}.txt is empty")
            else:
                match = _DUPLICATE_SUFFIX.match(path.stem)
                label = match.group(1) if match else path.stem
            problem = _label_problem(label)
            if problem:
                raise _BadFile(problem)
            gray = _decode(path, int(max_pixels), colour)
        except _BadFile as e:
            if not skip_bad:
                raise CaptchaDataError(
                    f"bad captcha file {path}: {e}. Fix or remove it, or pass skip_bad=True to skip such files"
                ) from None
            result.skipped.append((path, str(e)))
            continue
        result.images.append(gray)
        result.labels.append(label)
        result.paths.append(path)

    if not result.images:
        reasons = "; ".join(f"{p.name}: {r}" for p, r in result.skipped[:3])
        raise CaptchaDataError(
            f"all {len(result.skipped)} images in {directory} were skipped as bad (e.g. {reasons})"
        )
    return result
