"""The README's table of notebooks must match the notebooks, and every notebook follows the anatomy."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from helpers.course import END, START, describe, notebook_table, stated_seconds, timing_line

ROOT = Path(__file__).resolve().parents[1]
NOTEBOOKS = sorted((ROOT / "notebooks").glob("[0-9][0-9]_*.ipynb"))
SOLUTIONS = sorted((ROOT / "notebooks" / "solutions").glob("[0-9][0-9]_*.ipynb"))


def test_readme_table_is_current() -> None:
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    table = readme.split(START, 1)[1].split(END, 1)[0].strip()
    assert table == notebook_table(ROOT / "notebooks"), \
        "README.md's notebook table is stale: run `.venv/bin/python -m helpers.course`"


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.name)
def test_notebook_anatomy(path: Path) -> None:
    info = describe(path)
    assert info["goals"] and info["run_time"] != "?"
    cells = json.loads(path.read_text(encoding="utf-8"))["cells"]
    tagged = [c for c in cells if "parameters" in c.get("metadata", {}).get("tags", [])]
    assert len(tagged) == 1, "exactly one cell tagged `parameters`"
    assert "os.environ.get" in "".join(tagged[0]["source"])
    last = "".join(cells[-1]["source"])
    assert "## Exercises" in last and ("Next:" in last or "Previous:" in last)
    assert not any("papermill" in c.get("metadata", {}) for c in cells)


def test_describe_reads_title_time_and_goals(tmp_path: Path) -> None:
    import nbformat

    nb = nbformat.v4.new_notebook()
    nb.cells = [nbformat.v4.new_markdown_cell(
        "# 07 · Something new\n\n*chapter 7 · runs in about 2 minutes on a laptop CPU*\n\n"
        "**In this notebook you will**\n- learn one thing;\n- learn another,\n  over two lines.\n")]
    path = tmp_path / "07_new.ipynb"
    nbformat.write(nb, path)
    assert describe(path) == {"number": "07", "title": "Something new", "file": "07_new.ipynb",
                              "run_time": "about 2 minutes", "goals": "learn one thing; learn another, over two lines"}


def test_stated_run_times_become_seconds() -> None:
    assert stated_seconds("about a minute") == 60
    assert stated_seconds("about 6 minutes") == 360
    assert stated_seconds("about 15 seconds") == 15
    assert stated_seconds("well under a second") == 1
    assert stated_seconds("seconds") is None
    for path in NOTEBOOKS:  # every chapter states a time `make notebooks` can check
        assert stated_seconds(describe(path)["run_time"]) is not None, path.name


def test_timing_line_flags_a_notebook_slower_than_it_says() -> None:
    chapter = NOTEBOOKS[0]
    limit = stated_seconds(describe(chapter)["run_time"])
    assert "slower than it says" not in timing_line(chapter, limit)
    assert "slower than it says" in timing_line(chapter, 2 * limit)
    assert timing_line(SOLUTIONS[0], 90.0) == f"{SOLUTIONS[0].name}: 1.5 minutes"


def test_execute_in_place_stores_outputs_without_timing(tmp_path: Path) -> None:
    import nbformat

    from helpers.course import execute_in_place

    nb = nbformat.v4.new_notebook()
    nb.cells = [nbformat.v4.new_code_cell("import os\nprint(os.path.basename(os.getcwd()), 6 * 7)")]
    path = tmp_path / "tiny.ipynb"
    nbformat.write(nb, path)
    execute_in_place(path)
    cell = nbformat.read(path, as_version=4).cells[0]
    assert cell.outputs[0]["text"] == f"{tmp_path.name} 42\n"  # ran in the notebook's own folder
    assert cell.execution_count == 1
    assert "execution" not in cell.metadata


@pytest.mark.parametrize("path", NOTEBOOKS + SOLUTIONS, ids=lambda p: p.name)
def test_papermill_reads_every_parameter(path: Path) -> None:
    """`captcha-lab run -p NAME=VALUE` accepts only the names papermill finds in this cell."""
    from papermill.translators import PythonTranslator

    cells = json.loads(path.read_text(encoding="utf-8"))["cells"]
    cell = next(c for c in cells if "parameters" in c.get("metadata", {}).get("tags", []))
    assigned = [line.split("=", 1)[0].strip() for line in "".join(cell["source"]).splitlines()
                if line and not line.startswith(("#", " ")) and "=" in line]
    found = [p.name for p in PythonTranslator.inspect({"source": "".join(cell["source"])})]
    assert found == assigned, "papermill cannot parse a line of the parameters cell (an `=` in a comment?)"
