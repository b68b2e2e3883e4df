"""Folders of labelled captchas: write them, name their files, read them back.

``save_captchas`` writes captchas (:mod:`helpers.captchas` draws them) to a
folder as ``<label>.png`` files, or as numbered JPEGs with a ``.txt`` label
beside each, plus a ``boxes.json`` manifest of the characters' true boxes.
``load_captchas`` reads a folder of labelled captchas made by anyone (PNG,
JPEG or BMP), takes each label from the file name or from a ``.txt`` file
next to the image, and returns grayscale ``uint8`` arrays (RGB ones with
``colour=True``); ``read_image`` reads one image the same way and
``to_gray`` converts an array as the loader does.
"""

from __future__ import annotations

import json
import os
import re
import struct
import warnings
import zlib
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
from PIL import Image

from helpers.captchas import Captcha, draws_no_ink
from helpers.errors import CaptchaDataError
from helpers.files import write_bytes_atomically

__all__ = [
    "FILE_FORMATS",
    "IMAGE_EXTENSIONS",
    "MANIFEST_NAME",
    "CaptchaSet",
    "captcha_filenames",
    "check_filename_label",
    "load_captchas",
    "read_image",
    "save_captchas",
    "to_gray",
]

IMAGE_EXTENSIONS: tuple[str, ...] = (".png", ".jpg", ".jpeg", ".bmp")
"""File extensions ``load_captchas`` reads (compared case-insensitively)."""

MANIFEST_NAME: str = "boxes.json"
"""Name of the manifest ``save_captchas`` writes next to the image files."""

PNG_COMPRESS_LEVEL: int = 6
"""Fixed zlib level for saved PNGs, so files are byte-identical between runs."""

# Pillow decoders the loader may use: only the formats the course accepts.
_PIL_FORMATS: tuple[str, ...] = ("PNG", "JPEG", "BMP")


# --------------------------------------------------------------------------- saving

_UNSAFE_NAME_CHARS = frozenset({"/", "\\", "\0", os.sep} | ({os.altsep} if os.altsep else set()))


def check_filename_label(label: str) -> None:
    """Refuse labels that would make an unsafe or surprising file name (:class:`CaptchaDataError`)."""
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
            if ch in _UNSAFE_NAME_CHARS or draws_no_ink(ch):
                problem = f"it contains {ch!r}"
                break
    if problem:
        raise CaptchaDataError(
            f"cannot use label {label!r} as a file name: {problem}; use labels (and an alphabet) "
            "without '/', '\\', '.', spaces or control characters"
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
        check_filename_label(c.label)
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
        if ch in "/\\" or draws_no_ink(ch):
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
