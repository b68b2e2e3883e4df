"""environment.yml (conda, Binder) and pyproject.toml (pip) must ask for the same packages."""

from __future__ import annotations

import re
import tomllib
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
REQUIREMENT = re.compile(r"^\s*([A-Za-z0-9][A-Za-z0-9._-]*)\s*(.*?)\s*$")


def _split(requirement: str) -> tuple[str, str]:
    """'numpy >=1.26, <3' -> ('numpy', '<3,>=1.26'): normalised name and sorted specifier.

    An environment marker (after ';') is kept, normalised, after the specifier.
    """
    requirement, _, marker = requirement.partition(";")
    match = REQUIREMENT.match(requirement)
    assert match, f"cannot read requirement {requirement!r}"
    name = re.sub(r"[-_.]+", "-", match.group(1)).lower()
    spec = ",".join(sorted(s.strip() for s in match.group(2).replace(" ", "").split(",") if s))
    marker = " ".join(marker.replace('"', "'").split())
    return name, f"{spec};{marker}" if marker else spec


def pyproject_requirements(path: Path = ROOT / "pyproject.toml") -> dict[str, str]:
    project = tomllib.loads(path.read_text())["project"]
    reqs = list(project["dependencies"])
    for extra in project.get("optional-dependencies", {}).values():
        reqs.extend(extra)
    return dict(_split(r) for r in reqs)


def environment_requirements(path: Path = ROOT / "environment.yml") -> dict[str, str]:
    """Package specs of environment.yml, conda and pip sections together.

    A tiny reader for the flat list format this file uses, so the test needs no YAML library.
    """
    reqs: dict[str, str] = {}
    in_deps = False
    for line in path.read_text().splitlines():
        stripped = line.split("#", 1)[0].rstrip()
        if not stripped:
            continue
        if not line.startswith(" "):
            in_deps = stripped == "dependencies:"
            continue
        item = stripped.strip()
        if not in_deps or not item.startswith("- ") or item.endswith(":"):
            continue
        entry = item[2:].strip()
        if entry.startswith("-"):  # pip options such as --editable .
            continue
        name, spec = _split(entry)
        reqs[name] = spec
    return reqs


CONDA_ONLY = {"python", "pip"}


def test_environment_yml_matches_pyproject() -> None:
    pip_side = pyproject_requirements()
    conda_side = {k: v for k, v in environment_requirements().items() if k not in CONDA_ONLY}
    assert sorted(conda_side) == sorted(pip_side), (
        "packages differ: only in environment.yml "
        f"{sorted(set(conda_side) - set(pip_side))}, only in pyproject.toml "
        f"{sorted(set(pip_side) - set(conda_side))}"
    )
    differing = {k: (pip_side[k], conda_side[k]) for k in pip_side if pip_side[k] != conda_side[k]}
    assert not differing, f"version ranges differ (pyproject, environment.yml): {differing}"


def test_python_floor_agrees() -> None:
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    env = environment_requirements()
    assert env["python"] == project["requires-python"]


def test_reader_sees_a_disagreement(tmp_path: Path) -> None:
    """The comparison above would notice a changed range (guards against a vacuous test)."""
    text = (ROOT / "environment.yml").read_text().replace("numpy>=1.26,<3", "numpy>=1.20")
    changed = tmp_path / "environment.yml"
    changed.write_text(text)
    assert environment_requirements(changed)["numpy"] != pyproject_requirements()["numpy"]


@pytest.mark.parametrize("requirement, expected", [
    ("numpy>=1.26,<3", ("numpy", "<3,>=1.26")),
    ("opencv_python.Headless >= 4.9, <6", ("opencv-python-headless", "<6,>=4.9")),
    ("tqdm", ("tqdm", "")),
    ('tf-cpu>=2; sys_platform == "linux"', ("tf-cpu", ">=2;sys_platform == 'linux'")),
])
def test_split_normalises(requirement: str, expected: tuple[str, str]) -> None:
    assert _split(requirement) == expected
