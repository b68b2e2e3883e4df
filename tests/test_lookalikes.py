"""The look-alike "site" of chapter 6: repeatable pictures in the public set's shape, written without overwriting."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from helpers.captcha_files import load_captchas
from helpers.lookalikes import (
    LOOKALIKE_ALPHABET, LOOKALIKE_LENGTH, LOOKALIKE_SIZE, STYLES, noisy_lookalikes, write_new_folder,
)


@pytest.mark.parametrize("style", sorted(STYLES))
def test_the_same_seed_draws_the_same_captchas_and_another_seed_others(style: str) -> None:
    images, labels = noisy_lookalikes(6, seed=3, style=style)
    again, same_labels = noisy_lookalikes(6, seed=3, style=style)
    other, other_labels = noisy_lookalikes(6, seed=4, style=style)
    assert labels == same_labels and all(np.array_equal(a, b) for a, b in zip(images, again))
    assert labels != other_labels and not np.array_equal(images[0], other[0])
    width, height = LOOKALIKE_SIZE
    assert all(image.shape == (height, width, 3) and image.dtype == np.uint8 for image in images)
    assert len(set(labels)) == 6
    assert all(len(label) == LOOKALIKE_LENGTH and set(label) <= set(LOOKALIKE_ALPHABET) for label in labels)
    # dark text on a light background, not a blank or black picture
    assert all(image.min() < 100 < 180 < np.median(image) for image in images)


def test_write_new_folder_writes_loadable_captchas_and_refuses_a_folder_with_files(tmp_path: Path) -> None:
    images, labels = noisy_lookalikes(4, seed=0)
    folder = tmp_path / "site"
    paths = write_new_folder(folder, images, labels)
    assert sorted(p.name for p in paths) == sorted(f"{label}.png" for label in labels)
    loaded = load_captchas(folder, colour=True)
    assert sorted(loaded.labels) == sorted(labels)
    before = {p: p.read_bytes() for p in folder.iterdir()}
    with pytest.raises(ValueError, match="not an empty folder"):
        write_new_folder(folder, images[:1], ["other"])
    assert {p: p.read_bytes() for p in folder.iterdir()} == before
