"""From captchas to arrays: the split by captcha, letter extraction and class balance.

Data written by notebook 01 for one level lives in ``<data>/<level>/``:
``captchas/`` (the PNGs), ``split.json`` (which file is in which split) and
``letters.npz`` (60×60 letter images and labels per split).
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from helpers.files import write_text_atomically, written_atomically
from helpers.segmentation import Segmentation, box_iou, segment

SPLITS = ("train", "validation", "test")


@dataclass(frozen=True)
class LetterSet:
    """Single-letter images cut from captchas.

    ``images``: (N, S, S) uint8; ``labels``: (N,) str; ``captcha``: (N,) int64,
    the index (within its split) of the captcha each letter came from.
    """

    images: np.ndarray
    labels: np.ndarray
    captcha: np.ndarray

    def __len__(self) -> int:
        return len(self.labels)


def split_by_captcha(count: int, *, seed: int,
                     fractions: Sequence[float] = (0.6, 0.2, 0.2)) -> dict[str, np.ndarray]:
    """Shuffle captcha indices 0..count-1 and cut them into train/validation/test.

    Splitting captchas (not letters) keeps all letters of one captcha, which
    share its font and noise, on the same side. Returns sorted int64 index
    arrays per split name; sizes are ``fractions`` of ``count`` (rounded down,
    the remainder going to train).
    """
    if len(fractions) != len(SPLITS) or any(f < 0 for f in fractions) or not np.isclose(sum(fractions), 1):
        raise ValueError(f"fractions must be three non-negative numbers adding up to 1, got {fractions}")
    order = np.random.default_rng(seed).permutation(count)
    n_val, n_test = int(count * fractions[1]), int(count * fractions[2])
    n_train = count - n_val - n_test
    bounds = np.cumsum([0, n_train, n_val, n_test])
    return {name: np.sort(order[bounds[k]:bounds[k + 1]]) for k, name in enumerate(SPLITS)}


def save_split(split: Mapping[str, Sequence[str]], path: Path) -> None:
    """Save which captcha file names are in which split, as JSON."""
    payload = {name: sorted(str(f) for f in split[name]) for name in SPLITS}
    Path(path).parent.mkdir(parents=True, exist_ok=True)
    write_text_atomically(path, json.dumps(payload, indent=1))


def load_split(path: Path) -> dict[str, list[str]]:
    """Read a split saved by :func:`save_split`; explains what to run when it is missing."""
    if not path.is_file():
        raise FileNotFoundError(f"{path} does not exist: run notebook 01_data_preparation first "
                                "(it writes the split every later notebook uses)")
    split = json.loads(path.read_text(encoding="utf-8"))
    missing = [name for name in SPLITS if name not in split]
    if missing:
        raise ValueError(f"{path} has no {', '.join(missing)} part; re-run notebook 01")
    return {name: list(split[name]) for name in SPLITS}


def collect_letters(results: Sequence[Segmentation], labels: Sequence[str], *,
                    truths: Sequence[np.ndarray] | None = None, min_iou: float = 0.5) -> LetterSet:
    """Gather the letter crops of captchas that were cut into ``len(label)`` pieces.

    ``results``: one :class:`Segmentation` per captcha; ``labels``: their texts.
    Failed captchas contribute nothing. With ``truths`` (each a (len(label), 4)
    array of true boxes, as the generator returns), a letter is kept only where
    its box overlaps its true box by ``min_iou``, so a mis-cut letter never
    enters a set under the wrong label.
    """
    crops, names, source = [], [], []
    shape = next((r.letters.shape[1:] for r in results if r.ok), (0, 0))
    for index, (result, label) in enumerate(zip(results, labels)):
        if not result.ok or len(result.boxes) != len(label):
            continue
        for k, char in enumerate(label):
            if truths is not None and box_iou(result.boxes[k], truths[index][k]) < min_iou:
                continue
            crops.append(result.letters[k])
            names.append(char)
            source.append(index)
    stacked = np.stack(crops) if crops else np.empty((0, *shape), np.uint8)
    return LetterSet(stacked, np.array(names, dtype=str), np.array(source, dtype=np.int64))


def extract_letters(images: Sequence[np.ndarray], labels: Sequence[str], *, size: int = 60,
                    method: str = "otsu", truths: Sequence[np.ndarray] | None = None,
                    min_iou: float = 0.5, colour: bool = False) -> tuple[LetterSet, list[Segmentation]]:
    """Segment every captcha (expecting ``len(label)`` letters) and collect its letters.

    ``images``: captcha arrays (H, W) or (H, W, 3). Returns the letters (see
    :func:`collect_letters`; (N, size, size, 3) in colour with ``colour``) and
    one :class:`Segmentation` per captcha.
    """
    results = [segment(image, len(label), size=size, method=method, colour=colour)
               for image, label in zip(images, labels)]
    return collect_letters(results, labels, truths=truths, min_iou=min_iou), results


def class_counts(letters: LetterSet) -> dict[str, int]:
    """Number of letters per class, classes in sorted order."""
    classes, counts = np.unique(letters.labels, return_counts=True)
    return {str(c): int(n) for c, n in zip(classes, counts)}


def balance(letters: LetterSet, *, seed: int, per_class: int | None = None) -> LetterSet:
    """Bring every class to ``per_class`` letters (default: the size of the largest class).

    A class below the target keeps every one of its letters and is topped up
    with copies of them drawn at random (with replacement); a class above it
    keeps a random ``per_class`` of its letters. Use it on the training split
    only: copies of one image on both sides of a split would inflate the test
    score. The result is grouped by class, classes in sorted order.
    """
    from sklearn.utils import resample

    counts = class_counts(letters)
    target = per_class or max(counts.values(), default=0)
    picks = []
    for k, name in enumerate(sorted(counts)):
        members = np.flatnonzero(letters.labels == name)
        if len(members) >= target:
            picks.append(resample(members, replace=False, n_samples=target, random_state=seed + k))
        else:
            extra = resample(members, replace=True, n_samples=target - len(members), random_state=seed + k)
            picks.append(np.concatenate([members, extra]))
    order = np.concatenate(picks) if picks else np.empty(0, np.int64)
    return LetterSet(letters.images[order], letters.labels[order], letters.captcha[order])


def save_letters(sets: Mapping[str, LetterSet], path: Path) -> None:
    """Save letter sets (e.g. train/validation/test) into one compressed ``.npz``."""
    arrays = {}
    for name, letters in sets.items():
        arrays[f"{name}_images"] = letters.images
        arrays[f"{name}_labels"] = letters.labels
        arrays[f"{name}_captcha"] = letters.captcha

    Path(path).parent.mkdir(parents=True, exist_ok=True)
    with written_atomically(path) as tmp, tmp.open("wb") as handle:  # a file object: numpy keeps our name
        np.savez_compressed(handle, **arrays)


def load_letters(path: Path) -> dict[str, LetterSet]:
    """Read letter sets saved by :func:`save_letters` (no pickled objects are loaded)."""
    if not path.is_file():
        raise FileNotFoundError(f"{path} does not exist: run notebook 01_data_preparation first "
                                "(it writes the letter images the models learn from)")
    with np.load(path, allow_pickle=False) as data:
        names = sorted({key.rsplit("_", 1)[0] for key in data.files})
        return {name: LetterSet(data[f"{name}_images"], data[f"{name}_labels"], data[f"{name}_captcha"])
                for name in names}


@dataclass(frozen=True)
class SplitCaptchas:
    """The captchas of one split of a level, as written by notebook 01.

    ``images``: (H, W) uint8 gray arrays; ``labels``: their texts; ``names``:
    file names; ``truths``: (len(label), 4) true boxes per captcha when the
    folder has a ``boxes.json`` (generated captchas), else None.
    """

    images: list[np.ndarray]
    labels: list[str]
    names: list[str]
    truths: list[np.ndarray] | None

    def __len__(self) -> int:
        return len(self.labels)


def load_split_captchas(level_dir: Path, split: str) -> SplitCaptchas:
    """Read the captchas of one split (``train``, ``validation`` or ``test``) of a level folder.

    ``level_dir`` holds ``captchas/`` and ``split.json`` from notebook 01.
    """
    from helpers.captcha_files import MANIFEST_NAME, load_captchas

    names = load_split(level_dir / "split.json")[split]
    loaded = load_captchas(level_dir / "captchas")
    by_name = {p.name: k for k, p in enumerate(loaded.paths)}
    missing = [n for n in names if n not in by_name]
    if missing:
        raise FileNotFoundError(f"{len(missing)} captchas of the {split} split are missing from "
                                f"{level_dir / 'captchas'} (e.g. {missing[0]}); re-run notebook 01")
    picks = [by_name[n] for n in names]
    manifest = level_dir / "captchas" / MANIFEST_NAME
    truths = None
    if manifest.is_file():
        boxes = json.loads(manifest.read_text(encoding="utf-8"))
        truths = [np.array(boxes[n]["boxes"], dtype=np.int32).reshape(-1, 4) for n in names]
    return SplitCaptchas([loaded.images[k] for k in picks], [loaded.labels[k] for k in picks], list(names), truths)
