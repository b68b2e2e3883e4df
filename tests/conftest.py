"""Fixtures shared by several test modules."""

from __future__ import annotations

from pathlib import Path

import pytest

from helpers.captcha_files import save_captchas
from helpers.captchas import generate_captchas
from helpers.cli import main


@pytest.fixture
def step_traces(monkeypatch: pytest.MonkeyPatch) -> list[int]:
    """How often the training step of each network the helpers compile is traced, in order of compiling.

    One trace per compile is what :func:`helpers.ctc.compile_reader` and
    :func:`helpers.training.compile_letter_model` promise.
    """
    from helpers import ctc, training

    traces: list[int] = []

    def counting(compile_for_training):
        def compile_and_count(model, *args, **kwargs) -> None:
            compile_for_training(model, *args, **kwargs)
            k = len(traces)
            traces.append(0)

            def train_step(batch):
                traces[k] += 1  # runs only while TensorFlow traces the step
                return type(model).train_step(model, batch)

            model.train_step = train_step

        return compile_and_count

    monkeypatch.setattr(ctc, "compile_reader", counting(ctc.compile_reader))
    monkeypatch.setattr(training, "compile_letter_model", counting(training.compile_letter_model))
    return traces


# --------------------------------------------------------------------------- reader files (test_readers, test_portable)


@pytest.fixture(scope="session")
def folders(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    """A training folder, a fresh folder drawn with another seed, and a mixed-length folder."""
    root = tmp_path_factory.mktemp("own")
    save_captchas(generate_captchas(160, "easy", seed=31, size=(120, 45)), root / "train")
    save_captchas(generate_captchas(40, "easy", seed=32, size=(120, 45)), root / "fresh")
    mixed = generate_captchas(40, "easy", seed=33, size=(120, 45), length=4) + \
        generate_captchas(40, "easy", seed=34, size=(180, 45), length=6)
    save_captchas(mixed, root / "mixed")
    return {"train": root / "train", "fresh": root / "fresh", "mixed": root / "mixed", "root": root}


@pytest.fixture(scope="session")
def trained(folders: dict[str, Path]) -> dict[str, Path]:
    """A reader file of every kind, trained by the command line (networks: 1–2 epochs)."""
    out = {}
    for kind, epochs in (("rf", None), ("cnn", 2), ("cnn-original", 1), ("ctc", 2)):
        path = folders["root"] / f"{kind}.model"
        argv = ["train", "--data", str(folders["train"]), "--model", kind, "--out", str(path), "--quiet"]
        argv += ["--from-scratch"] if kind == "ctc" else []  # the pretrained start has a test of its own
        assert main(argv + (["--epochs", str(epochs)] if epochs else [])) == 0
        out[kind] = path
    return out


# --------------------------------------------------------------------------- two test processes (make test)

# `make test` runs pytest-xdist with two processes. Each group below runs in one process, in the order
# pytest collected it; the processes take the groups in that order as they become free.
CHAPTER_CHAIN = "chapters 1-5"  # each chapter reads what the ones before it saved; solutions 02-04 read them too
CHAINED = ("notebooks/0[1-5]_*.ipynb", "notebooks/solutions/0[2-4]_*.ipynb")
SHARED = {"notebooks/06_few_labels.ipynb": "chapter 6",  # its solutions read the reader it saves
          "notebooks/solutions/06_few_labels_solutions.ipynb": "chapter 6",
          "tests/test_readers.py": "reader files",  # both use the session's `trained` readers
          "tests/test_portable.py": "reader files"}


def group_of(path: str) -> str:
    """The group a test file runs in: a notebook's cells stay together (one kernel), chapters 1-5 and
    the solutions that read their files run in course order, other files each on their own."""
    from fnmatch import fnmatch

    if any(fnmatch(path, pattern) for pattern in CHAINED):
        return CHAPTER_CHAIN
    return SHARED.get(path, path)


@pytest.hookimpl(optionalhook=True)  # called only when pytest-xdist is installed
def pytest_xdist_make_scheduler(config: pytest.Config, log):
    """pytest-xdist's scheduler that hands out whole scopes, with :func:`group_of` as the scope."""
    from xdist.scheduler import LoadScopeScheduling

    class CourseGroups(LoadScopeScheduling):
        def _split_scope(self, nodeid: str) -> str:
            return group_of(nodeid.split("::", 1)[0])

    return CourseGroups(config, log)
