"""The course's table of contents, read from the notebooks themselves.

``python -m helpers.course`` rewrites the notebook table in README.md; a test
fails when the README's table no longer matches the notebooks.
"""

from __future__ import annotations

import json
import re
import sys
from pathlib import Path

START, END = "<!-- notebook-table:start -->", "<!-- notebook-table:end -->"
TITLE = re.compile(r"^#\s+(\d\d)\s*·\s*(.+?)\s*$", re.M)
RUN_TIME = re.compile(r"runs in ([^*\n]+?)\s*(?:on a|\*|$)", re.M)


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


if __name__ == "__main__":
    root = Path(__file__).resolve().parents[1]
    changed = update_readme(root / "README.md", root / "notebooks")
    print("README.md table updated" if changed else "README.md table already current")
    sys.exit(0)
