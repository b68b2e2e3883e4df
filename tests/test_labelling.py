"""Labelling picked captchas: files named by their answer in the user's folder, never over another file."""

from __future__ import annotations

from pathlib import Path

import pytest

from helpers.captcha_files import load_captchas, save_captchas
from helpers.captchas import generate_captchas
from helpers.errors import CaptchaDataError
from helpers.labelling import Labeller, save_labelled


@pytest.fixture
def unlabelled(tmp_path: Path) -> list[Path]:
    """Three captcha files with names that are not their labels."""
    captchas = generate_captchas(3, "easy", seed=8)
    save_captchas(captchas, tmp_path / "drawn")
    files = []
    for k, path in enumerate(sorted((tmp_path / "drawn").glob("*.png"))):
        files.append(path.rename(tmp_path / f"site{k}.png"))
    return files


def test_saved_labels_never_replace_a_file(unlabelled: list[Path], tmp_path: Path) -> None:
    folder = tmp_path / "labels"
    folder.mkdir()
    (folder / "AB12.png").write_bytes(b"someone else's file")
    first = save_labelled(unlabelled[0], " AB12 ", folder)  # the answer typed with spaces around it
    second = save_labelled(unlabelled[1], "ab12", folder)  # the same answer but for case: another file still
    assert [first.name, second.name] == ["AB12_1.png", "ab12_2.png"]
    assert (folder / "AB12.png").read_bytes() == b"someone else's file"
    assert first.read_bytes() == unlabelled[0].read_bytes() and unlabelled[0].exists()
    assert sorted(load_captchas(folder, skip_bad=True).labels) == ["AB12", "ab12"]  # the loader reads them back
    assert not [p for p in folder.iterdir() if p.name.startswith(".")]  # no temporary file left


def test_a_bad_label_or_place_is_refused_and_writes_nothing(unlabelled: list[Path], tmp_path: Path) -> None:
    folder = tmp_path / "labels"
    folder.mkdir()
    for label in ("", "a/b", "..x"):
        with pytest.raises(CaptchaDataError, match="cannot use label"):
            save_labelled(unlabelled[0], label, folder)
    with pytest.raises(CaptchaDataError, match="not a folder"):
        save_labelled(unlabelled[0], "AB12", tmp_path / "missing")
    with pytest.raises(CaptchaDataError, match="not a file"):
        save_labelled(tmp_path / "none.png", "AB12", folder)
    assert list(folder.iterdir()) == []


def test_the_widget_keeps_a_guess_takes_a_correction_and_skips(unlabelled: list[Path], tmp_path: Path) -> None:
    folder = tmp_path / "labels"
    folder.mkdir()
    labeller = Labeller([(unlabelled[0], "AB12"), (unlabelled[1], "CD34"), (unlabelled[2], "EF56")], folder)
    assert labeller.text.value == "AB12" and bytes(labeller.picture.value).startswith(b"\x89PNG")
    assert labeller.answer().name == "AB12.png"  # Enter on the guess as it is
    labeller.text.value = "CD35"  # corrected
    assert labeller.answer().name == "CD35.png"
    labeller.skip()
    assert labeller.answer() is None and labeller.status.value.startswith("done: 2 saved")
    assert sorted(p.name for p in folder.iterdir()) == ["AB12.png", "CD35.png"]
    bad = Labeller([(unlabelled[0], "a/b")], folder)
    assert bad.answer() is None and "cannot use label" in bad.status.value and bad.position == 0
