"""Re-running notebooks with papermill: run folders, parameters and collected results."""

from __future__ import annotations

import json
from datetime import datetime, timezone
from pathlib import Path

import nbformat
import pytest

from helpers.cli import main
from helpers.runs import (
    INCOMPLETE_SUFFIX, RunError, find_notebooks, format_results_table, new_run_folder,
    parse_overrides, run_series, show_results,
)


def write_notebook(folder: Path, name: str = "01_tiny.ipynb") -> Path:
    """A two-cell notebook: a parameters cell and a results cell."""
    nb = nbformat.v4.new_notebook()
    params = nbformat.v4.new_code_cell("import os\nX = int(os.environ.get('TINY_X', 1))")
    params.metadata["tags"] = ["parameters"]
    results = nbformat.v4.new_code_cell(
        "from helpers.runs import show_results\n"
        "show_results({'twice_x': 2 * X, 'data_dir': os.environ['CAPTCHA_DATA_DIR'].endswith('data')})")
    results.metadata["tags"] = ["results"]
    nb.cells = [params, results]
    nb.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3", "language": "python"}
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / name
    nbformat.write(nb, path)
    return path


def test_parse_overrides() -> None:
    assert parse_overrides(["EPOCHS=3", "LEVEL=hard", "RATE=0.5", "LEVELS=['easy']"]) == {
        "EPOCHS": 3, "LEVEL": "hard", "RATE": 0.5, "LEVELS": ["easy"]}
    with pytest.raises(RunError, match="NAME=VALUE"):
        parse_overrides(["EPOCHS"])


def test_run_folders_never_collide(tmp_path: Path) -> None:
    now = datetime(2026, 1, 2, 3, 4, 5, tzinfo=timezone.utc)
    first = new_run_folder(tmp_path, now)
    second = new_run_folder(tmp_path, now)
    assert first.name == "20260102-030405" + INCOMPLETE_SUFFIX
    assert second.name == "20260102-030405-2" + INCOMPLETE_SUFFIX
    first.rename(tmp_path / "20260102-030405")
    assert new_run_folder(tmp_path, now).name == "20260102-030405-3" + INCOMPLETE_SUFFIX


def test_find_notebooks_by_chapter(tmp_path: Path) -> None:
    write_notebook(tmp_path, "01_a.ipynb")
    write_notebook(tmp_path, "02_b.ipynb")
    assert [p.name for p in find_notebooks(tmp_path, ["2"])] == ["02_b.ipynb"]
    with pytest.raises(RunError, match="available: 01, 02"):
        find_notebooks(tmp_path, ["07"])


def test_results_are_shown_as_text_and_json() -> None:
    import numpy as np

    shown = show_results({"accuracy": np.float64(0.5), "count": np.int64(3)})
    assert shown._repr_json_() == {"accuracy": 0.5, "count": 3}
    assert "accuracy  0.5000" in repr(shown)
    with pytest.raises(TypeError):
        show_results({"bad": object()})


def test_run_series_executes_with_overrides(tmp_path: Path) -> None:
    notebooks = tmp_path / "notebooks"
    write_notebook(notebooks)
    run = run_series(notebooks, tmp_path / "runs", parameters={"X": 21}, progress=False)
    assert run.folder.parent == tmp_path / "runs"
    assert not run.folder.name.endswith(INCOMPLETE_SUFFIX)
    saved = json.loads((run.folder / "results.json").read_text())
    assert saved["notebooks"]["01_tiny"]["results"] == {"twice_x": 42, "data_dir": True}
    assert saved["parameters"] == {"X": 21}
    assert (run.folder / "01_tiny.ipynb").is_file()
    assert "twice_x" in format_results_table(saved)
    with pytest.raises(RunError, match="unknown parameter"):
        run_series(notebooks, tmp_path / "runs", parameters={"Y": 1}, progress=False)


def test_cli_run_reports_bad_parameter(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    write_notebook(tmp_path / "nb")
    code = main(["run", "--notebooks-dir", str(tmp_path / "nb"), "--out", str(tmp_path / "runs"),
                 "-p", "NOPE=1", "--quiet"])
    assert code == 2
    assert "unknown parameter" in capsys.readouterr().err
    assert not (tmp_path / "runs").exists() or not any((tmp_path / "runs").iterdir())


def test_runs_lists_earlier_runs_side_by_side(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    notebooks = tmp_path / "notebooks"
    write_notebook(notebooks)
    run_series(notebooks, tmp_path / "runs", parameters={"X": 2}, progress=False)
    run_series(notebooks, tmp_path / "runs", parameters={"X": 5}, progress=False)
    assert main(["runs", "--out", str(tmp_path / "runs")]) == 0
    out = capsys.readouterr().out
    assert "X=2" in out and "X=5" in out
    assert "twice_x" in out and "10" in out
    assert main(["runs", "--out", str(tmp_path / "none")]) == 0
    assert "no runs" in capsys.readouterr().out
