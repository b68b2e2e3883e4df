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


# --------------------------------------------------------------------------- reader files (test_readers, test_portable, test_colour, test_picking, test_calibration)


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
GROUPS = {"notebooks/0[1-5]_*.ipynb": "chapters 1-5",  # each chapter reads what the ones before it saved
          "notebooks/solutions/0[2-4]_*.ipynb": "solutions 02-04",
          "notebooks/06_few_labels.ipynb": "chapter 6",  # its solutions read the reader it saves
          "notebooks/solutions/06_few_labels_solutions.ipynb": "chapter 6",
          "tests/test_readers.py": "reader files",  # these use the session's `trained` readers
          "tests/test_portable.py": "reader files",
          "tests/test_colour.py": "reader files",
          "tests/test_picking.py": "reader files",
          "tests/test_calibration.py": "reader files"}
# Notebooks that read what others save: before their first cell, they wait until those have run, when
# those are part of the same test session (in the other process, say).
NEEDS = {"notebooks/solutions/0[2-4]_*.ipynb": "notebooks/0[1-3]_*.ipynb"}  # letters, forest and CNNs


def _matching(path: str, table: dict[str, str]) -> str | None:
    from fnmatch import fnmatch

    return next((value for pattern, value in table.items() if fnmatch(path, pattern)), None)


def group_of(path: str) -> str:
    """The group a test file runs in: a notebook's cells stay together (one kernel), chapters that read
    each other's files run in course order, other files each on their own."""
    return _matching(path, GROUPS) or path


@pytest.hookimpl(optionalhook=True)  # called only when pytest-xdist is installed
def pytest_xdist_make_scheduler(config: pytest.Config, log):
    """pytest-xdist's scheduler that hands out whole scopes, with :func:`group_of` as the scope."""
    from xdist.scheduler import LoadScopeScheduling

    class CourseGroups(LoadScopeScheduling):
        def _split_scope(self, nodeid: str) -> str:
            return group_of(nodeid.split("::", 1)[0])

    return CourseGroups(config, log)


class NotebookOrder:
    """Makes a notebook listed in NEEDS wait, before its first cell, until the notebooks it reads have run.

    Registered as a plugin of its own (a conftest's run hooks reach only the tests in its folder)."""

    def __init__(self, done_dir: Path) -> None:
        self.done_dir = done_dir
        self.first: dict[str, str] = {}  # first cell's node id -> its notebook
        self.last: dict[str, str] = {}  # last cell's node id -> its notebook
        self.notebooks: list[str] = []  # the notebooks this session runs

    def done_flag(self, notebook: str) -> Path:
        return self.done_dir / (notebook.replace("/", "__") + ".done")

    def pytest_collection_finish(self, session: pytest.Session) -> None:
        cells: dict[str, list[str]] = {}
        for item in session.items:
            if item.path.suffix == ".ipynb":
                cells.setdefault(item.path.relative_to(session.config.rootpath).as_posix(), []).append(item.nodeid)
        self.first = {ids[0]: notebook for notebook, ids in cells.items()}
        self.last = {ids[-1]: notebook for notebook, ids in cells.items()}
        self.notebooks = list(cells)

    @pytest.hookimpl(tryfirst=True)  # before nbval starts the notebook's kernel
    def pytest_runtest_setup(self, item: pytest.Item) -> None:
        import time
        from fnmatch import fnmatch

        notebook = self.first.get(item.nodeid)
        needed = notebook and _matching(notebook, NEEDS)
        if not needed:
            return
        waiting_for = [other for other in self.notebooks if fnmatch(other, needed)]
        deadline = time.monotonic() + 3600
        while not all(self.done_flag(other).exists() for other in waiting_for):
            if time.monotonic() > deadline:
                pytest.fail(f"{notebook} waited an hour for {', '.join(waiting_for)} to run first")
            time.sleep(1)

    @pytest.hookimpl(trylast=True)  # after nbval has shut the notebook's kernel down
    def pytest_runtest_teardown(self, item: pytest.Item) -> None:
        notebook = self.last.get(item.nodeid)
        if notebook:  # its last cell has run, passed or not
            self.done_flag(notebook).touch()


_MADE_DONE_DIR = pytest.StashKey[str]()


def pytest_configure(config: pytest.Config) -> None:
    """Registers NotebookOrder, with a folder where notebooks leave word that they have run, made by the
    first pytest process (the test processes it starts inherit it)."""
    import os
    import tempfile

    if "COURSE_TEST_DONE_DIR" not in os.environ:
        os.environ["COURSE_TEST_DONE_DIR"] = config.stash[_MADE_DONE_DIR] = tempfile.mkdtemp(prefix="course-tests-")
    config.pluginmanager.register(NotebookOrder(Path(os.environ["COURSE_TEST_DONE_DIR"])), "course-notebook-order")


def pytest_unconfigure(config: pytest.Config) -> None:
    import os
    import shutil

    made = config.stash.get(_MADE_DONE_DIR, None)
    if made:
        shutil.rmtree(made, ignore_errors=True)
        del os.environ["COURSE_TEST_DONE_DIR"]
