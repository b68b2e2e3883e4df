"""Self-training on unlabelled captchas: which readings become labels, the rounds, and train --unlabelled."""

from __future__ import annotations

from pathlib import Path
from types import SimpleNamespace

import numpy as np
import pytest

from helpers import selftraining
from helpers.captcha_files import save_captchas
from helpers.captchas import generate_captchas
from helpers.cli import main
from helpers.solver import Solution


class _FixedReader:
    """Stands in for a trained reader: reads image k as ``readings[k]`` (text, per-character confidence)."""

    def __init__(self, readings: list[tuple[str, list[float]]], name: str = "fixed") -> None:
        self.readings, self.name = readings, name
        self.info = {"validation": {"exact": 0.5}, "training": {"seconds": 1.0}}

    def read(self, images: list[np.ndarray]) -> list[Solution]:
        return [Solution(text, np.asarray(conf, np.float32), np.zeros((0, 4), np.int32), True)
                for text, conf in (self.readings[int(image[0, 0])] for image in images)]


def _images(count: int) -> list[np.ndarray]:
    """Images whose first pixel is their index (what :class:`_FixedReader` reads by)."""
    return [np.full((8, 8), k, np.uint8) for k in range(count)]


def test_only_sure_readings_of_the_right_alphabet_and_length_become_labels() -> None:
    reader = _FixedReader([("abcd", [0.99, 0.95, 0.97, 0.99]),   # kept
                           ("abce", [0.99, 0.5, 0.99, 0.99]),    # one unsure character
                           ("abcz", [0.99, 0.99, 0.99, 0.99]),   # z is not in the alphabet
                           ("ab", [0.99, 0.99]),                 # too short
                           ("bbbbb", [0.95, 0.91, 0.93, 0.99, 0.92])])  # kept
    kept = selftraining.confident_readings(reader, _images(5), keep_above=0.9, alphabet="abcde", lengths=(4, 5))
    assert kept == [(0, "abcd"), (4, "bbbbb")]


def test_each_round_trains_on_the_labelled_captchas_and_the_kept_readings(monkeypatch: pytest.MonkeyPatch) -> None:
    calls = []
    readings = [("abcd", [0.99] * 4), ("dcba", [0.99] * 4), ("aaaa", [0.2] * 4)]

    def fake_train_reader(kind, train, validation, *, seed, alphabet, epochs, init, report, colour):
        calls.append(SimpleNamespace(labels=list(train[1]), seed=seed, epochs=epochs, init=init, colour=colour))
        reader = _FixedReader(readings, name=f"round {len(calls) - 1}")
        reader.info["init"] = {"from": "start"} if len(calls) == 1 else {"from": "previous round"}
        return reader

    import helpers.training

    monkeypatch.setattr(helpers.training, "train_reader", fake_train_reader)
    lines: list[str] = []
    train = ([np.zeros((8, 8), np.uint8)] * 2, ["bbbb", "cccc"])
    reader, history = selftraining.self_train(train, train, _images(3), seed=7, alphabet="abcd", init=None,
                                              rounds=2, round_epochs=4, truth=["abcd", "dcbb", "aaaa"],
                                              colour=True, report=lines.append)
    assert [c.labels for c in calls] == [["bbbb", "cccc"], ["bbbb", "cccc", "abcd", "dcba"]] + \
        [["bbbb", "cccc", "abcd", "dcba"]]
    assert [c.seed for c in calls] == [7, 8, 9] and [c.epochs for c in calls] == [None, 4, 4]
    assert [c.colour for c in calls] == [True] * 3  # every round reads in colour
    assert calls[1].init.name == "round 0" and calls[2].init.name == "round 1"
    assert [(h.round, h.kept, h.precision) for h in history] == [(0, 0, None), (1, 2, 0.5), (2, 2, 0.5)]
    assert "kept 2 of 3 unlabelled captchas" in lines[0] and "50.0 % of them right" in lines[0]
    assert reader.name == "round 2" and reader.info["init"] == {"from": "start"}
    assert [r["kept"] for r in reader.info["self_training"]["rounds"]] == [0, 2, 2]


@pytest.mark.parametrize("look", ["easy", "colour"])
def test_train_unlabelled_from_the_command_line(look: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """A reader trained one epoch reads nothing surely: self-training says so and keeps the first round's reader.
    The unlabelled files are named by their labels, so the command says it can measure the precision. With
    --colour, the reader reads the captchas (labelled or not) in colour."""
    save_captchas(generate_captchas(30, look, seed=3, size=(120, 45)), tmp_path / "site")
    save_captchas(generate_captchas(12, look, seed=4, size=(120, 45)), tmp_path / "more")
    out = tmp_path / "site.model"
    colour = ["--colour"] if look == "colour" else []
    assert main(["train", "--data", str(tmp_path / "site"), "--model", "ctc", "--from-scratch", "--epochs", "1",
                 "--unlabelled", str(tmp_path / "more"), "--out", str(out)] + colour) == 0
    err = capsys.readouterr().err
    assert "--unlabelled: 12 captchas; their file names look like labels" in err
    assert "self-training round 1: kept 0 of 12" in err and "self-training stops here" in err
    from helpers.readers import load_reader

    reader = load_reader(out)
    assert reader.info["self_training"]["rounds"][0]["round"] == 0 and reader.channels == (3 if colour else 1)
    if colour:
        return  # the refusals below do not depend on the look
    common = ["train", "--data", str(tmp_path / "site"), "--out", str(tmp_path / "x.model")]
    assert main(common + ["--model", "rf", "--unlabelled", str(tmp_path / "more")]) == 2
    assert "--unlabelled is for --model ctc" in capsys.readouterr().err
    assert main(common + ["--model", "ctc", "--unlabelled", str(tmp_path / "missing")]) == 2
    assert "is not a folder" in capsys.readouterr().err
    assert main(common + ["--model", "ctc", "--unlabelled", str(tmp_path / "more"), "--keep-above", "0"]) == 2
    assert "--keep-above must be in (0, 1]" in capsys.readouterr().err
    assert not (tmp_path / "x.model").exists()
