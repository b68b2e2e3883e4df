"""The course's table of contents, read from the notebooks themselves, and its upkeep.

``python -m helpers.course`` rewrites the notebook table in README.md; a test
fails when the README's table no longer matches the notebooks.
``python -m helpers.course --execute [NOTEBOOK ...]`` re-executes notebooks in
place, in order, with the settings the tests use (``make notebooks`` does this
for every notebook), so the stored outputs are the ones nbval compares; it
prints how long each took beside the run time its first cell states.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import sys
import time
from collections.abc import Sequence
from pathlib import Path

START, END = "<!-- notebook-table:start -->", "<!-- notebook-table:end -->"
TITLE = re.compile(r"^#\s+(\d\d)\s*·\s*(.+?)\s*$", re.M)
RUN_TIME = re.compile(r"runs in ([^*\n]+?)\s*(?:on a|\*|$)", re.M)
NUMBER_WORDS = {"a": 1, "an": 1, "one": 1, "two": 2, "three": 3, "four": 4, "five": 5, "ten": 10}


def describe(path: Path) -> dict[str, str]:
    """Number, title, run time and learning goals of one notebook, from its first markdown cell."""
    cells = json.loads(path.read_text(encoding="utf-8"))["cells"]
    intro = "".join(next(c["source"] for c in cells if c["cell_type"] == "markdown"))
    title = TITLE.search(intro)
    if title is None:
        raise ValueError(f"{path.name}: the first markdown cell must start with '# NN · Title'")
    run_time = RUN_TIME.search(intro)
    goals_text = intro.split("In this notebook you will", 1)[-1]
    goals: list[str] = []
    for line in goals_text.splitlines():
        if line.startswith("- "):
            goals.append(line[2:].strip())
        elif goals and line.startswith("  ") and line.strip():  # a bullet continued on the next line
            goals[-1] += " " + line.strip()
    goals = [goal.rstrip(";.") for goal in goals]
    return {"number": title.group(1), "title": title.group(2), "file": path.name,
            "run_time": run_time.group(1) if run_time else "?", "goals": "; ".join(goals)}


def stated_seconds(run_time: str) -> float | None:
    """Seconds a notebook's stated run time means ("about 6 minutes" -> 360); None when it gives no number."""
    match = re.search(r"(\d+(?:\.\d+)?|\b(?:an?|one|two|three|four|five|ten)\b)\s+(minute|second)s?",
                      run_time)
    if match is None:
        return None
    count = float(NUMBER_WORDS.get(match.group(1), match.group(1)))
    return count * (60 if match.group(2) == "minute" else 1)


def timing_line(path: Path, seconds: float) -> str:
    """One line saying how long executing ``path`` took, against the run time its first cell states."""
    stated = describe(path)["run_time"] if path.parent.name != "solutions" else "?"
    line = f"{path.name}: {seconds / 60:.1f} minutes"
    limit = stated_seconds(stated)
    if limit is not None:
        line += f" (it says it runs in {stated})"
        if seconds > 1.5 * limit:
            line += ": slower than it says, update the first cell"
    return line


def notebook_table(notebooks_dir: Path) -> str:
    """The README's markdown table of notebooks (title, what you learn, run time)."""
    rows = ["| # | notebook | what you learn | run time |", "|---|---|---|---|"]
    for path in sorted(notebooks_dir.glob("[0-9][0-9]_*.ipynb")):
        info = describe(path)
        rows.append(f"| {info['number']} | [{info['title']}](notebooks/{info['file']}) | {info['goals']} "
                    f"| {info['run_time']} |")
    return "\n".join(rows)


def update_readme(readme: Path, notebooks_dir: Path) -> bool:
    """Rewrite the table between the README's markers; returns True when it changed."""
    text = readme.read_text(encoding="utf-8")
    if START not in text or END not in text:
        raise ValueError(f"{readme} has no {START} … {END} markers")
    before, rest = text.split(START, 1)
    _, after = rest.split(END, 1)
    new = f"{before}{START}\n{notebook_table(notebooks_dir)}\n{END}{after}"
    readme.write_text(new, encoding="utf-8")
    return new != text


def execute_in_place(path: Path, timeout: int = 1800) -> None:
    """Run a notebook top to bottom on a fresh kernel, in its own folder, and store its outputs.

    Uses the environment ``make test`` runs nbval with (static figures
    instead of widgets, chapter 6's stream drawn in the kernel) and records
    no timing metadata nor widget state, so the file changes only where outputs do.
    """
    import nbformat
    from nbclient import NotebookClient

    for name, value in {"PYTHONHASHSEED": "0", "CAPTCHA_WIDGETS": "0", "CAPTCHA_PRETRAIN_WORKERS": "0"}.items():
        os.environ.setdefault(name, value)
    notebook = nbformat.read(path, as_version=4)
    # no widget state either: a headless run shows no widget, and the state would only weigh on the file
    NotebookClient(notebook, timeout=timeout, kernel_name="python3", record_timing=False, store_widget_state=False,
                   resources={"metadata": {"path": str(path.parent)}}).execute()
    for cell in notebook.cells:
        cell.metadata.pop("execution", None)
    nbformat.write(notebook, path)


def main(argv: Sequence[str] | None = None) -> int:
    """Update the README's table, or (``--execute``) re-execute notebooks in place."""
    root = Path(__file__).resolve().parents[1]
    parser = argparse.ArgumentParser(prog="python -m helpers.course", description=__doc__.splitlines()[0])
    parser.add_argument("--execute", nargs="*", metavar="NOTEBOOK", type=Path,
                        help="re-execute these notebooks in place (none named: every notebook and solution)")
    args = parser.parse_args(argv)
    if args.execute is not None:
        notebooks = root / "notebooks"
        paths = args.execute or [*sorted(notebooks.glob("[0-9][0-9]_*.ipynb")),
                                 *sorted((notebooks / "solutions").glob("[0-9][0-9]_*.ipynb"))]
        for path in paths:
            print(f"executing {path.name} ...", flush=True)
            start = time.perf_counter()
            execute_in_place(path)
            print(timing_line(path, time.perf_counter() - start), flush=True)
    changed = update_readme(root / "README.md", root / "notebooks")
    print("README.md table updated" if changed else "README.md table already current")
    return 0


if __name__ == "__main__":
    sys.exit(main())
