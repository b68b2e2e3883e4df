"""Draw labelled text captchas (saving and loading folders of them: :mod:`helpers.captcha_files`).

``make_captcha`` draws one captcha, ``generate_captchas`` (or its lazy twin
``iter_captchas``) draws a whole seeded set, which
``captcha_files.save_captchas`` writes to a folder. Every
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

Everything random is driven by explicit seeds: the same seed and parameters
give the same pixels (and byte-identical PNG files) whatever the global
``random``/``numpy.random`` state is.
"""

from __future__ import annotations

import unicodedata
from collections.abc import Iterator
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

import numpy as np
from PIL import Image, ImageDraw, ImageFont

from helpers.errors import CaptchaDataError

__all__ = [
    "DEFAULT_ALPHABET",
    "DEFAULT_SIZE",
    "LEVELS",
    "LOOKS",
    "NOISE",
    "STYLES",
    "Captcha",
    "CaptchaDataError",
    "Style",
    "draws_no_ink",
    "font",
    "generate_captchas",
    "iter_captchas",
    "look_size",
    "make_captcha",
    "render",
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

INK_ALPHA: int = 128
"""A character's pixel counts as ink when its layer's opacity is at least this (of 255)."""



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


NOISE: tuple[str, ...] = ("none", "specks", "dots and lines", "wave and dots")
"""Noise a style may add: nothing; faint specks on the background (easy); dots and thin lines (medium);
a thick wavy line and dots in the ink's colour (hard)."""


@dataclass(frozen=True)
class Style:
    """Everything that makes one look of captcha: the knobs the renderer reads.

    Lengths are in "design pixels" (1 at height 60). ``STYLES`` holds the
    course's looks; :mod:`helpers.variety` builds new ones at random.
    """

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
    noise: str = "none"          # what else is drawn: one of NOISE

    def __post_init__(self) -> None:
        if self.noise not in NOISE:
            raise ValueError(f"unknown noise {self.noise!r}: choose one of {', '.join(map(repr, NOISE))}")


_SERIF_SANS = ("DejaVuSans.ttf", "DejaVuSans-Bold.ttf", "DejaVuSerif.ttf", "DejaVuSerif-Bold.ttf")

STYLES: dict[str, Style] = {
    "easy": Style(
        fonts=_SERIF_SANS, font_per_char=False, font_scale=0.62, size_jitter=0.0,
        max_rotation=10.0, warp=0.0, gap=(4.0, 14.0), overlap=(0.0, 0.0), touch_prob=0.0,
        jitter=5.0, background=(244, 255), tinted_background=False, ink=(0, 70),
        ink_per_char=False, tinted_ink=False, noise="specks",
    ),
    "medium": Style(
        fonts=_SERIF_SANS + ("DejaVuSansMono-Bold.ttf", "DejaVuSans-Oblique.ttf"),
        font_per_char=True, font_scale=0.6, size_jitter=0.15, max_rotation=25.0, warp=0.0,
        gap=(1.0, 10.0), overlap=(0.0, 0.0), touch_prob=0.09, jitter=8.0,
        background=(228, 255), tinted_background=True, ink=(0, 110), ink_per_char=True,
        tinted_ink=True, noise="dots and lines",
    ),
    "hard": Style(
        fonts=("DejaVuSansMono-Bold.ttf", "DejaVuSans-Bold.ttf", "DejaVuSerif-Bold.ttf"),
        font_per_char=True, font_scale=0.75, size_jitter=0.1, max_rotation=25.0, warp=0.12,
        gap=(0.0, 0.0), overlap=(0.02, 0.2), touch_prob=0.0, jitter=6.0,
        background=(238, 255), tinted_background=True, ink=(10, 170), ink_per_char=False,
        tinted_ink=True, noise="wave and dots",
    ),
    # Gaps in design pixels: at 24 px high one design pixel is 0.4 px, so (-5, 0) is 0 to 2 px of overlap.
    "tight": Style(
        fonts=("DejaVuSans.ttf",), font_per_char=False, font_scale=0.74, size_jitter=0.0,
        max_rotation=12.0, warp=0.04, gap=(-5.0, 0.0), overlap=(0.0, 0.0), touch_prob=0.0, jitter=4.0,
        background=(250, 255), tinted_background=False, ink=(0, 40), ink_per_char=False,
        tinted_ink=False, may_touch=True, size=(72, 24),
    ),
    "tight-varied": Style(
        fonts=("DejaVuSans.ttf", "DejaVuSerif.ttf", "DejaVuSans-Oblique.ttf"), font_per_char=True,
        font_scale=0.74, size_jitter=0.08, max_rotation=20.0, warp=0.08, gap=(-8.0, -1.0), overlap=(0.0, 0.0),
        touch_prob=0.0, jitter=6.0, background=(240, 255), tinted_background=False, ink=(0, 60),
        ink_per_char=False, tinted_ink=False, may_touch=True, size=(72, 24),
    ),
    "colour": Style(
        fonts=_SERIF_SANS, font_per_char=True, font_scale=0.62, size_jitter=0.1, max_rotation=20.0, warp=0.0,
        gap=(1.0, 8.0), overlap=(0.0, 0.0), touch_prob=0.0, jitter=6.0, background=(225, 250),
        tinted_background=True, ink=(95, 125), ink_per_char=True, tinted_ink=True, hues=True, crossing=(3, 5),
    ),
    "dark": Style(
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


def _check_level(level: str) -> Style:
    if level not in STYLES:
        raise CaptchaDataError(f"unknown level {level!r}: choose one of {', '.join(LOOKS)}")
    return STYLES[level]


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


def draws_no_ink(ch: str) -> bool:
    """True for whitespace and control/format characters (they have no visible ink)."""
    return ch.isspace() or unicodedata.category(ch).startswith("C")


def _check_text(text: str, style: Style, what: str) -> str:
    """Validate a label or alphabet: non-empty and every character drawable in every font."""
    if not isinstance(text, str) or not text:
        raise CaptchaDataError(f"{what} must be a non-empty string, got {text!r}")
    for ch in dict.fromkeys(text):
        if draws_no_ink(ch):
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


def _ink_colour(rng: np.random.Generator, style: Style) -> tuple[int, int, int]:
    """One colour for a character (or a crossing line) of ``style``."""
    return _hue_colour(rng, style.ink) if style.hues else _random_colour(rng, style.ink, style.tinted_ink)


def _plan_chars(label: str, style: Style, small: bool, rng: np.random.Generator) -> list[_CharPlan]:
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


def _min_gap(style: Style, unit: float) -> int | None:
    """Smallest gap between ink boxes: 2 px at height 60 (scaled, at least 2) for levels
    whose characters never touch, None for levels where they may."""
    if style.overlap != (0.0, 0.0) or style.touch_prob > 0 or style.may_touch:
        return None
    return max(2, round(2 * unit))


def _plan_gaps(glyphs: list[_Glyph], style: Style, unit: float, rng: np.random.Generator) -> list[int]:
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
    glyphs: list[_Glyph], gaps: list[int], style: Style, size: tuple[int, int], unit: float,
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
                   style: Style, rng: np.random.Generator) -> None:
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


def render(label: str, style: Style, size: tuple[int, int], rng: np.random.Generator) -> Captcha:
    """Draw one captcha of ``size`` (width, height) showing ``label`` in ``style``, every choice from ``rng``.

    The label must be drawable (``make_captcha`` checks it). Returns a ``Captcha`` with an
    (H, W, 3) uint8 image and (len(label), 4) int32 boxes.
    """
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
    if style.noise == "specks":
        _draw_background_specks(draw, size, unit, rng)
    boxes = np.zeros((len(label), 4), np.int32)
    for i, (plan, glyph, (x, y)) in enumerate(zip(plans, glyphs, corners)):
        image.paste(plan.colour, (x, y, x + glyph.layer.width, y + glyph.layer.height), glyph.layer)
        ix0, iy0, ix1, iy1 = glyph.ink
        bx0, by0 = max(0, x + ix0), max(0, y + iy0)
        bx1, by1 = min(width, x + ix1), min(height, y + iy1)
        boxes[i] = (bx0, by0, bx1 - bx0, by1 - by0)
    area = width * height / (160 * 60)
    if style.noise == "dots and lines":
        _draw_dots(draw, size, unit, int(rng.integers(8, 20) * area) + 2, None, rng)
        _draw_lines(draw, size, unit, rng)
    elif style.noise == "wave and dots":
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
    return _finish(render(label, style, size, rng), quality)


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


def _iter_captchas(count: int, style: Style, level: str, seed: int, alphabet: str, length: int,
                   size: tuple[int, int], quality: int | None = None) -> Iterator[Captcha]:
    chars = list(alphabet)
    level_key = LOOKS.index(level)  # each look gets its own labels for the same seed
    for i in range(count):
        rng = np.random.default_rng([seed, level_key, i])
        label = "".join(chars[int(k)] for k in rng.integers(0, len(chars), size=length))
        yield _finish(render(label, style, size, rng), quality)


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
