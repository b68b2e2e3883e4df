"""Picking the captchas worth labelling: least sure first, no near-copies; ``captcha-lab pick``."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import numpy as np
import pytest

from helpers.captchas import generate_captchas
from helpers.cli import main
from helpers.picking import answer_confidence, near_copy, pick_to_label, thumbnail
from helpers.solver import Solution


class SureOf:
    """A stand-in reader whose confidence in captcha k is ``sureness[k]`` (its guess: "k")."""

    def __init__(self, sureness: list[float]) -> None:
        self.sureness = sureness

    def read(self, images):
        return [Solution(str(k), np.array([1.0, s], np.float32), np.zeros((2, 4), np.int32), ok=s >= 0)
                for k, s in enumerate(self.sureness)]


def test_the_least_sure_come_first_and_a_near_copy_is_skipped() -> None:
    images = [c.image for c in generate_captchas(5, "medium", seed=4)]
    images.append(images[1].copy())  # the same captcha twice: only one of them is worth a label
    reader = SureOf([0.9, 0.3, 0.8, -1.0, 0.5, 0.2])  # captcha 3 is not read at all (confidence 0)
    picks = pick_to_label(reader, images, 4)
    assert [(p.index, p.guess) for p in picks] == [(3, "3"), (5, "5"), (4, "4"), (2, "2")]  # 1 is a copy of 5
    assert [p.confidence for p in picks] == [0.0, 0.2, 0.5, 0.8]
    assert len(pick_to_label(reader, images, 99)) == 5  # every captcha but the copy
    with pytest.raises(ValueError, match="at least 1"):
        pick_to_label(reader, images, 0)


def test_near_copies_are_copies_and_different_captchas_are_not() -> None:
    import io

    from PIL import Image

    made = [c.image for c in generate_captchas(40, "hard", seed=5)]
    buffer = io.BytesIO()
    Image.fromarray(made[0]).save(buffer, "JPEG", quality=60)
    again = np.array(Image.open(buffer))
    assert thumbnail(made[0]).shape == (16, 64) and near_copy(thumbnail(made[0]), thumbnail(again))
    small = [thumbnail(image) for image in made]
    assert not any(near_copy(small[i], small[j]) for i in range(len(small)) for j in range(i))
    assert answer_confidence(Solution("", np.zeros(0, np.float32), np.zeros((0, 4), np.int32), ok=False)) == 0.0


def test_pick_lists_a_folder_least_sure_first(trained: dict[str, Path], folders: dict[str, Path], tmp_path: Path,
                                              capsys: pytest.CaptureFixture[str]) -> None:
    unlabelled = tmp_path / "unlabelled"
    unlabelled.mkdir()
    files = sorted(folders["fresh"].glob("*.png"))[:12]
    for k, path in enumerate(files):
        shutil.copy(path, unlabelled / f"site{k:02d}.png")  # names that are not labels
    shutil.copy(files[0], unlabelled / "site99.png")  # a copy
    assert main(["pick", "--model", str(trained["rf"]), "--from", str(unlabelled), "--count", "5"]) == 0
    lines = [line.split("\t") for line in capsys.readouterr().out.splitlines()]
    assert len(lines) == 5 and all(Path(path).parent == unlabelled for path, _, _ in lines)
    sureness = [float(value) for _, _, value in lines]
    assert sureness == sorted(sureness)
    assert main(["pick", "--model", str(trained["rf"]), "--from", str(unlabelled), "--count", "20", "--json"]) == 0
    captured = capsys.readouterr()
    every = [json.loads(line) for line in captured.out.splitlines()]
    assert len(every) == 12 and not {"site00.png", "site99.png"} <= {Path(a["path"]).name for a in every}
    assert set(every[0]) == {"path", "guess", "confidence"}
    assert "12 of the 20 asked for" in captured.err


def test_pick_refuses_what_it_cannot_use(trained: dict[str, Path], tmp_path: Path,
                                         capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["pick", "--model", str(trained["rf"]), "--from", str(tmp_path / "missing")]) == 2
    assert "not a folder" in capsys.readouterr().err
    assert main(["pick", "--model", str(trained["rf"]), "--from", str(tmp_path), "--count", "0"]) == 2
    assert "--count must be at least 1" in capsys.readouterr().err
    assert main(["pick", "--model", str(tmp_path / "none.model"), "--from", str(tmp_path)]) == 2
    with pytest.raises(SystemExit):
        main(["pick", "--help"])
    assert "least sure first" in capsys.readouterr().out


def test_an_answer_of_a_length_never_learned_comes_first() -> None:
    images = [c.image for c in generate_captchas(3, "medium", seed=6)]
    reader = SureOf([0.9, 0.8, 0.95])
    reader.lengths = [3]  # it learned labels of 3 characters
    reader.read = lambda batch: [Solution(text, np.array([0.99, s], np.float32), np.zeros((2, 4), np.int32), ok=True)
                                 for text, s in zip(["ab3", "cd", "ef4"], reader.sureness)]
    assert [p.index for p in pick_to_label(reader, images, 3)] == [1, 0, 2]  # "cd" has 2 characters, not 3
    assert pick_to_label(reader, images, 1)[0].confidence == 0.0
