"""Re-running the notebook series headless, and the results each notebook reports.

A notebook ends with a cell tagged ``results`` that calls :func:`show_results`;
:func:`run_series` executes notebooks with papermill into a fresh run folder and
collects those results into ``results.json``.
"""

from __future__ import annotations

import ast
import json
import os
import time
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

from helpers.errors import RunError

RESULTS_MIME = "application/json"
INCOMPLETE_SUFFIX = ".incomplete"


class Results(dict):
    """Headline results of one notebook; shown as a small table, stored as JSON."""

    def _repr_json_(self) -> dict[str, Any]:
        return dict(self)

    def __repr__(self) -> str:
        width = max((len(k) for k in self), default=0)
        return "\n".join(f"{k:<{width}}  {_format_value(v)}" for k, v in self.items())


def _format_value(value: Any) -> str:
    if isinstance(value, float):
        return f"{value:.4f}"
    return str(value)


def show_results(results: Mapping[str, Any]) -> Results:
    """Wrap a notebook's headline numbers so ``captcha-lab run`` can collect them.

    Make it the last expression of a cell tagged ``results``. Values must be
    JSON-serialisable (numbers, strings, lists, dicts).
    """
    clean = {str(k): _to_builtin(v) for k, v in results.items()}
    json.dumps(clean)  # fail here, in the notebook, rather than in the runner
    return Results(clean)


def _to_builtin(value: Any) -> Any:
    if hasattr(value, "item") and callable(value.item):  # numpy scalars
        return value.item()
    if isinstance(value, Mapping):
        return {str(k): _to_builtin(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_to_builtin(v) for v in value]
    return value


def parse_overrides(items: Sequence[str]) -> dict[str, Any]:
    """Turn ``["EPOCHS=3", "LEVEL=hard"]`` into ``{"EPOCHS": 3, "LEVEL": "hard"}``.

    Values that read as Python literals (numbers, booleans, lists) become them;
    anything else stays a string.
    """
    out: dict[str, Any] = {}
    for item in items:
        name, sep, raw = item.partition("=")
        name = name.strip()
        if not sep or not name.isidentifier():
            raise RunError(f"parameter {item!r} is not NAME=VALUE (e.g. -p EPOCHS=3)")
        try:
            out[name] = ast.literal_eval(raw)
        except (ValueError, SyntaxError):
            out[name] = raw
    return out


def find_notebooks(notebooks_dir: Path, chapters: Sequence[str] | None = None) -> list[Path]:
    """The course notebooks ``NN_*.ipynb`` in order, optionally only some chapters.

    ``chapters`` holds chapter numbers such as ``["01", "3"]``.
    """
    if not notebooks_dir.is_dir():
        raise RunError(f"notebook folder {notebooks_dir} does not exist; run from the project root or give "
                       "the folder of the notebooks", argument="notebooks_dir")
    found = sorted(p for p in notebooks_dir.glob("[0-9][0-9]_*.ipynb"))
    if chapters is None:
        if not found:
            raise RunError(f"no notebooks named NN_*.ipynb in {notebooks_dir}")
        return found
    by_number = {p.name[:2]: p for p in found}
    wanted = []
    for chapter in chapters:
        key = chapter.strip().zfill(2)
        if key not in by_number:
            raise RunError(f"no notebook {key}_*.ipynb in {notebooks_dir}; "
                           f"available: {', '.join(sorted(by_number)) or 'none'}")
        wanted.append(by_number[key])
    return wanted


def notebook_parameters(path: Path) -> dict[str, Any]:
    """Names and default values declared in a notebook's ``parameters`` cell."""
    import papermill

    return {name: info.get("default") for name, info in papermill.inspect_notebook(str(path)).items()}


def read_results(notebook: Mapping[str, Any]) -> dict[str, Any]:
    """Collect the JSON results shown by cells tagged ``results`` in an executed notebook."""
    results: dict[str, Any] = {}
    for cell in notebook.get("cells", []):
        if "results" not in cell.get("metadata", {}).get("tags", []):
            continue
        for output in cell.get("outputs", []):
            data = output.get("data", {})
            if RESULTS_MIME in data:
                results.update(data[RESULTS_MIME])
    return results


def new_run_folder(parent: Path, now: datetime | None = None) -> Path:
    """Create and return an empty ``<parent>/<timestamp>.incomplete`` folder.

    The timestamp is UTC to the second; a clash (two runs in one second, or an
    earlier run of that name) gets a ``-2``, ``-3``… suffix, so runs never collide.
    """
    stamp = (now or datetime.now(timezone.utc)).strftime("%Y%m%d-%H%M%S")
    if parent.exists() and not parent.is_dir():
        raise RunError(f"{parent} is a file, not a folder; choose another folder for runs", argument="out_parent")
    parent.mkdir(parents=True, exist_ok=True)
    for k in range(1, 1000):
        name = stamp if k == 1 else f"{stamp}-{k}"
        final, partial = parent / name, parent / (name + INCOMPLETE_SUFFIX)
        if final.exists():
            continue
        try:
            partial.mkdir()
        except FileExistsError:
            continue
        return partial
    raise RunError(f"could not find a free run folder name in {parent}")


@contextmanager
def _environment(values: Mapping[str, str]) -> Iterator[None]:
    saved = {k: os.environ.get(k) for k in values}
    os.environ.update(values)
    try:
        yield
    finally:
        for k, v in saved.items():
            if v is None:
                os.environ.pop(k, None)
            else:
                os.environ[k] = v


@dataclass
class Run:
    """A finished run: its folder and what ``results.json`` holds."""

    folder: Path
    results: dict[str, Any] = field(default_factory=dict)


def run_series(
    notebooks_dir: Path,
    out_parent: Path,
    *,
    notebooks: Sequence[str] | None = None,
    parameters: Mapping[str, Any] | None = None,
    progress: bool = True,
) -> Run:
    """Execute notebooks in order with papermill into a new folder under ``out_parent``.

    Each notebook receives the overrides it declares in its ``parameters`` cell;
    an override no selected notebook declares is an error. Data and models are
    written inside the run folder (``data/``, ``models/``), never elsewhere.
    The folder is named ``<timestamp>.incomplete`` until every notebook has
    finished, then renamed to ``<timestamp>``.
    """
    import papermill

    parameters = dict(parameters or {})
    paths = find_notebooks(notebooks_dir, notebooks)
    declared = {p: notebook_parameters(p) for p in paths}
    unknown = sorted(set(parameters) - set().union(*map(set, declared.values())))
    if unknown:
        known = sorted(set().union(*map(set, declared.values())))
        raise RunError(f"unknown parameter(s) {', '.join(unknown)}; "
                       f"these notebooks take: {', '.join(known)}")

    folder = new_run_folder(out_parent)
    summary: dict[str, Any] = {
        "started": datetime.now(timezone.utc).isoformat(timespec="seconds"),
        "parameters": parameters,
        "notebooks": {},
    }
    env = {
        "CAPTCHA_DATA_DIR": str((folder / "data").resolve()),
        "CAPTCHA_MODELS_DIR": str((folder / "models").resolve()),
        "CAPTCHA_WIDGETS": "0",  # nobody moves sliders in a headless run: draw static figures
    }
    with _environment(env):
        for path in paths:
            own = {k: v for k, v in parameters.items() if k in declared[path]}
            target = folder / path.name
            start = time.perf_counter()
            papermill.execute_notebook(
                str(path), str(target), parameters=own, cwd=str(path.parent),
                progress_bar=progress, kernel_name="python3",
            )
            seconds = time.perf_counter() - start
            executed = json.loads(target.read_text(encoding="utf-8"))
            summary["notebooks"][path.stem] = {
                "parameters": own,
                "seconds": round(seconds, 1),
                "results": read_results(executed),
            }
            (folder / "results.json").write_text(json.dumps(summary, indent=2), encoding="utf-8")
    final = folder.with_name(folder.name[: -len(INCOMPLETE_SUFFIX)])
    folder.rename(final)
    return Run(final, summary)


def format_results_table(summary: Mapping[str, Any]) -> str:
    """A plain-text table (notebook, seconds, result, value) of a run's results."""
    import pandas as pd

    rows = []
    for name, info in summary.get("notebooks", {}).items():
        results = info.get("results") or {"(no results cell)": ""}
        for key, value in results.items():
            rows.append({"notebook": name, "seconds": info.get("seconds"), "result": key,
                         "value": _format_value(value)})
    if not rows:
        return "(no notebooks were run)"
    return pd.DataFrame(rows).to_string(index=False)


def list_runs(parent: Path) -> "pd.DataFrame":
    """Earlier runs under ``parent`` side by side: one column per run, rows for status,
    parameters and every result the notebooks reported. Unfinished runs are marked."""
    import pandas as pd

    columns = {}
    for folder in sorted(p for p in parent.iterdir() if p.is_dir()) if parent.is_dir() else []:
        summary_path = folder / "results.json"
        if not summary_path.is_file():
            continue
        try:
            summary = json.loads(summary_path.read_text(encoding="utf-8"))
        except ValueError:
            continue
        finished = not folder.name.endswith(INCOMPLETE_SUFFIX)
        column: dict[str, Any] = {
            "status": "finished" if finished else "incomplete",
            "parameters": ", ".join(f"{k}={v}" for k, v in summary.get("parameters", {}).items()) or "(defaults)",
        }
        for info in summary.get("notebooks", {}).values():
            column.update({k: _format_value(v) for k, v in (info.get("results") or {}).items()})
        columns[folder.name.removesuffix(INCOMPLETE_SUFFIX)] = column
    return pd.DataFrame(columns)
