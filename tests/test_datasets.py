"""Splits by captcha, letter extraction, balancing and the saved files."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from helpers.datasets import (
    LetterSet, balance, class_counts, extract_letters, load_letters, load_split, save_letters,
    save_split, split_by_captcha,
)
from tests.test_segmentation import FOUR, blocks


def test_split_is_a_partition_and_seeded() -> None:
    split = split_by_captcha(103, seed=1)
    together = np.concatenate(list(split.values()))
    assert sorted(together.tolist()) == list(range(103))
    assert [len(split[k]) for k in ("train", "validation", "test")] == [63, 20, 20]
    again = split_by_captcha(103, seed=1)
    other = split_by_captcha(103, seed=2)
    assert all(np.array_equal(split[k], again[k]) for k in split)
    assert not np.array_equal(split["test"], other["test"])


def test_split_rejects_bad_fractions() -> None:
    with pytest.raises(ValueError, match="adding up to 1"):
        split_by_captcha(10, seed=0, fractions=(0.5, 0.5, 0.5))


def test_split_round_trip_and_missing_file(tmp_path: Path) -> None:
    split = {"train": ["b.png", "a.png"], "validation": ["c.png"], "test": ["d.png"]}
    save_split(split, tmp_path / "split.json")
    assert load_split(tmp_path / "split.json") == {"train": ["a.png", "b.png"], "validation": ["c.png"],
                                                   "test": ["d.png"]}
    with pytest.raises(FileNotFoundError, match="01_data_preparation"):
        load_split(tmp_path / "nothing.json")


def test_extract_letters_keeps_only_clean_captchas() -> None:
    images = [blocks(FOUR), blocks(FOUR[:3]), blocks(FOUR)]
    letters, results = extract_letters(images, ["ABCD", "EFGH", "JKLM"], size=32)
    assert [r.ok for r in results] == [True, False, True]
    assert letters.images.shape == (8, 32, 32)
    assert "".join(letters.labels) == "ABCDJKLM"
    assert letters.captcha.tolist() == [0, 0, 0, 0, 2, 2, 2, 2]


def test_extract_letters_drops_miscut_letters_when_truth_is_known() -> None:
    truth = np.array(FOUR)
    wrong = truth.copy()
    wrong[1] += np.array([30, 0, 0, 0])  # the second letter is really elsewhere
    letters, _ = extract_letters([blocks(FOUR), blocks(FOUR)], ["ABCD", "EFGH"], truths=[truth, wrong])
    assert "".join(letters.labels) == "ABCDEGH"


def _letters(labels: str) -> LetterSet:
    n = len(labels)
    images = np.arange(n, dtype=np.uint8)[:, None, None] * np.ones((1, 4, 4), np.uint8)
    return LetterSet(images, np.array(list(labels)), np.arange(n))


def test_balance_evens_out_classes_reproducibly() -> None:
    letters = _letters("AAAAAABBC")
    balanced = balance(letters, seed=3)
    assert class_counts(balanced) == {"A": 6, "B": 6, "C": 6}
    assert np.array_equal(balanced.images, balance(letters, seed=3).images)
    # every image still carries its own label
    for image, label in zip(balanced.images, balanced.labels):
        assert letters.labels[image[0, 0]] == label
    assert class_counts(balance(letters, seed=0, per_class=2)) == {"A": 2, "B": 2, "C": 2}


def test_balance_keeps_every_letter_of_a_small_class() -> None:
    letters = _letters("AAAAAABBC")
    balanced = balance(letters, seed=3)
    # B and C are topped up with copies: none of their letters is left out on the way
    assert set(balanced.images[:, 0, 0].tolist()) == set(range(len(letters)))


def test_letters_round_trip(tmp_path: Path) -> None:
    sets = {"train": _letters("ABC"), "test": _letters("DE")}
    save_letters(sets, tmp_path / "letters.npz")
    loaded = load_letters(tmp_path / "letters.npz")
    assert sorted(loaded) == ["test", "train"]
    assert np.array_equal(loaded["train"].images, sets["train"].images)
    assert loaded["test"].labels.tolist() == ["D", "E"]
    assert not list(tmp_path.glob(".*tmp"))  # no temporary file left behind
    with pytest.raises(FileNotFoundError, match="01_data_preparation"):
        load_letters(tmp_path / "missing.npz")
