"""Every chapter has a solutions notebook that answers each of its exercises, in order.

For ``notebooks/NN_topic.ipynb`` the solutions live in
``notebooks/solutions/NN_topic_solutions.ipynb``: its first markdown cell is titled
``# Solutions · NN · …`` and links back to the chapter, it has one ``## Exercise K`` heading per
numbered exercise of the chapter's "## Exercises" cell, in order, and exactly one cell tagged
``parameters`` that reads its settings with ``os.environ.get``.
"""

from __future__ import annotations

import re
from pathlib import Path

import nbformat
import pytest

ROOT = Path(__file__).resolve().parents[1]
CHAPTERS = sorted((ROOT / "notebooks").glob("[0-9][0-9]_*.ipynb"))
EXERCISE_ITEM = re.compile(r"^(\d+)\.\s")
EXERCISE_HEADING = re.compile(r"^## Exercise (\d+)\b", re.M)


def solutions_path(chapter: Path) -> Path:
    """Where the solutions of a chapter notebook live."""
    return chapter.parent / "solutions" / f"{chapter.stem}_solutions.ipynb"


def exercise_numbers(chapter: nbformat.NotebookNode) -> list[int]:
    """The numbers of the exercises listed in a chapter's "## Exercises" markdown cell, in order.

    An exercise is a line starting with its number and a dot (``1. …``); indented lines continue it.
    """
    cells = [c.source for c in chapter.cells if c.cell_type == "markdown" and "## Exercises" in c.source]
    if not cells:
        return []
    section = cells[-1].split("## Exercises", 1)[1]
    section = re.split(r"^(?:#|---)", section, flags=re.M)[0]  # up to the next heading or rule
    return [int(m.group(1)) for line in section.splitlines() if (m := EXERCISE_ITEM.match(line))]


def exercise_headings(solutions: nbformat.NotebookNode) -> list[int]:
    """K of every "## Exercise K" heading in a solutions notebook, in order."""
    return [int(k) for c in solutions.cells if c.cell_type == "markdown"
            for k in EXERCISE_HEADING.findall(c.source)]


def problems(chapter: nbformat.NotebookNode, solutions: nbformat.NotebookNode, chapter_file: str) -> list[str]:
    """What is wrong with a solutions notebook for the chapter saved as ``chapter_file`` ([] when nothing)."""
    found = []
    numbers = exercise_numbers(chapter)
    if not numbers:
        found.append("the chapter lists no numbered exercises under '## Exercises'")
    elif numbers != list(range(1, len(numbers) + 1)):
        found.append(f"the chapter's exercises are numbered {numbers}, expected 1 to {len(numbers)}")
    headings = exercise_headings(solutions)
    if headings != numbers:
        found.append(f"'## Exercise K' headings {headings} do not match the chapter's exercises {numbers}")
    tagged = [c for c in solutions.cells if "parameters" in c.get("metadata", {}).get("tags", [])]
    if len(tagged) != 1:
        found.append(f"{len(tagged)} cells are tagged 'parameters', expected exactly one")
    elif "os.environ.get" not in tagged[0].source:
        found.append("the 'parameters' cell does not read its values with os.environ.get")
    intro = next((c.source for c in solutions.cells if c.cell_type == "markdown"), "")
    number = chapter_file[:2]
    if not intro.startswith(f"# Solutions · {number} · "):
        found.append(f"the first markdown cell should start with '# Solutions · {number} · <chapter title>'")
    if f"](../{chapter_file})" not in intro:
        found.append(f"the first markdown cell should link back to ../{chapter_file}")
    return found


def test_there_are_chapters() -> None:
    assert CHAPTERS, "no chapter notebooks found"


@pytest.mark.parametrize("chapter", CHAPTERS, ids=lambda p: p.name)
def test_chapter_has_solutions(chapter: Path) -> None:
    path = solutions_path(chapter)
    assert path.is_file(), f"{chapter.name} has no solutions notebook: create notebooks/solutions/{path.name}"
    found = problems(nbformat.read(chapter, as_version=4), nbformat.read(path, as_version=4), chapter.name)
    assert not found, f"{path.name}: " + "; ".join(found)


def _chapter(exercises: str) -> nbformat.NotebookNode:
    notebook = nbformat.v4.new_notebook()
    notebook.cells = [nbformat.v4.new_markdown_cell("# 07 · Something new"),
                      nbformat.v4.new_markdown_cell(f"## Summary\n\n- a point\n\n## Exercises\n\n{exercises}"
                                                    "\n---\nPrevious: [06](06_x.ipynb)")]
    return notebook


def _solutions(headings: list[int], parameter_cells: int = 1, title: str = "# Solutions · 07 · Something new",
               link: str = "[../07_new.ipynb](../07_new.ipynb)") -> nbformat.NotebookNode:
    notebook = nbformat.v4.new_notebook()
    notebook.cells = [nbformat.v4.new_markdown_cell(f"{title}\n\nSolutions to {link}.")]
    for _ in range(parameter_cells):
        cell = nbformat.v4.new_code_cell('SEED = int(os.environ.get("CAPTCHA_SEED", 0))')
        cell.metadata["tags"] = ["parameters"]
        notebook.cells.append(cell)
    for k in headings:
        notebook.cells += [nbformat.v4.new_markdown_cell(f"## Exercise {k} · Part {k}\n\nRestated."),
                           nbformat.v4.new_code_cell("print(1)")]
    return notebook


EXERCISES = "1. First, over\n   two lines with 2. inside.\n2. Second.\n3. Third:\n   - a bullet\n"


def test_counting_on_made_up_notebooks(tmp_path: Path) -> None:
    chapter_file, solutions_file = tmp_path / "07_new.ipynb", tmp_path / "07_new_solutions.ipynb"
    nbformat.write(_chapter(EXERCISES), chapter_file)
    nbformat.write(_solutions([1, 2, 3]), solutions_file)
    chapter, solutions = nbformat.read(chapter_file, as_version=4), nbformat.read(solutions_file, as_version=4)
    assert exercise_numbers(chapter) == [1, 2, 3]
    assert exercise_headings(solutions) == [1, 2, 3]
    assert problems(chapter, solutions, "07_new.ipynb") == []
    assert solutions_path(tmp_path / "07_new.ipynb") == tmp_path / "solutions" / "07_new_solutions.ipynb"


@pytest.mark.parametrize("broken, complaint", [
    (_solutions([1, 2]), "headings [1, 2] do not match"),
    (_solutions([1, 3, 2]), "headings [1, 3, 2] do not match"),
    (_solutions([1, 2, 3, 4]), "headings [1, 2, 3, 4] do not match"),
    (_solutions([1, 2, 3], parameter_cells=0), "0 cells are tagged 'parameters'"),
    (_solutions([1, 2, 3], parameter_cells=2), "2 cells are tagged 'parameters'"),
    (_solutions([1, 2, 3], title="# Solutions to chapter 7"), "should start with '# Solutions · 07 · "),
    (_solutions([1, 2, 3], link="the chapter"), "should link back to ../07_new.ipynb"),
], ids=["missing", "out of order", "extra", "no parameters", "two parameter cells", "title", "link"])
def test_broken_solutions_are_reported(broken: nbformat.NotebookNode, complaint: str) -> None:
    found = problems(_chapter(EXERCISES), broken, "07_new.ipynb")
    assert any(complaint in problem for problem in found), found


def test_parameters_must_read_the_environment() -> None:
    solutions = _solutions([1, 2, 3])
    solutions.cells[1].source = "SEED = 0"
    assert problems(_chapter(EXERCISES), solutions, "07_new.ipynb") == [
        "the 'parameters' cell does not read its values with os.environ.get"]


def test_a_chapter_without_exercises_is_reported() -> None:
    assert "no numbered exercises" in problems(_chapter("Nothing to do."), _solutions([]), "07_new.ipynb")[0]
