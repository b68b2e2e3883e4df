"""The captcha-lab command line: help, version and subcommand wiring."""

from __future__ import annotations

import subprocess
import sys

import numpy as np
import pytest

from helpers import __version__
from helpers.cli import main


def test_help_lists_subcommands(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as exc:
        main(["--help"])
    assert exc.value.code == 0
    out = capsys.readouterr().out
    for command in ("generate", "run"):
        assert command in out


def test_version(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as exc:
        main(["--version"])
    assert exc.value.code == 0
    assert capsys.readouterr().out.strip() == f"captcha-lab {__version__}"


def test_no_command_prints_help_and_fails(capsys: pytest.CaptureFixture[str]) -> None:
    assert main([]) == 2
    assert "usage: captcha-lab" in capsys.readouterr().out


def test_console_script_is_installed() -> None:
    """The entry point in pyproject.toml resolves to helpers.cli:main."""
    from importlib.metadata import entry_points

    (ep,) = [e for e in entry_points(group="console_scripts") if e.name == "captcha-lab"]
    assert ep.value == "helpers.cli:main"


def test_module_runs_as_a_program() -> None:
    done = subprocess.run([sys.executable, "-m", "helpers.cli", "--version"],
                          capture_output=True, text=True, check=False)
    assert done.returncode == 0
    assert __version__ in done.stdout


def test_generate_writes_labelled_captchas(tmp_path, capsys: pytest.CaptureFixture[str]) -> None:
    from helpers.captcha_files import load_captchas

    out = tmp_path / "caps"
    assert main(["generate", "--level", "medium", "--count", "12", "--seed", "3", "--out", str(out)]) == 0
    assert "wrote 12 medium captchas" in capsys.readouterr().out
    loaded = load_captchas(out)
    assert len(loaded) == 12 and loaded.lengths == {4: 12}


def test_generate_refuses_a_non_empty_folder(tmp_path, capsys: pytest.CaptureFixture[str]) -> None:
    keep = tmp_path / "notes.txt"
    keep.write_text("mine")
    assert main(["generate", "--count", "3", "--out", str(tmp_path)]) == 2
    err = capsys.readouterr().err
    assert "already contains files" in err and "(--overwrite)" in err and "overwrite=True" not in err
    assert keep.read_text() == "mine"
    assert main(["generate", "--count", "3", "--out", str(tmp_path), "--overwrite"]) == 0
    assert keep.read_text() == "mine" and len(list(tmp_path.glob("*.png"))) == 3


def test_generate_is_reproducible(tmp_path) -> None:
    for name in ("a", "b"):
        assert main(["generate", "--count", "5", "--seed", "9", "--out", str(tmp_path / name), "--quiet"]) == 0
    first = sorted((p.name, p.read_bytes()) for p in (tmp_path / "a").iterdir())
    second = sorted((p.name, p.read_bytes()) for p in (tmp_path / "b").iterdir())
    assert first == second


def test_generate_rejects_bad_input(capsys: pytest.CaptureFixture[str], tmp_path) -> None:
    assert main(["generate", "--count", "2", "--length", "0", "--out", str(tmp_path / "x")]) == 2
    assert "length" in capsys.readouterr().err
    assert main(["generate", "--count", "2", "--jpeg-quality", "0", "--out", str(tmp_path / "q")]) == 2
    err = capsys.readouterr().err
    assert "must be a whole number from 1 to 95" in err and err.rstrip().endswith("(--jpeg-quality)")
    assert not (tmp_path / "q").exists()
    with pytest.raises(SystemExit):
        main(["generate", "--level", "impossible", "--count", "2", "--out", str(tmp_path / "y")])


def test_generate_draws_colour_looks_with_jpeg_artefacts(tmp_path, capsys: pytest.CaptureFixture[str]) -> None:
    from helpers.captcha_files import load_captchas
    from helpers.captchas import generate_captchas

    out = tmp_path / "dark"
    assert main(["generate", "--level", "dark", "--count", "4", "--seed", "2", "--jpeg-quality", "40",
                 "--out", str(out)]) == 0
    assert "wrote 4 dark captchas" in capsys.readouterr().out
    loaded = load_captchas(out, colour=True)
    drawn = {c.label: c.image for c in generate_captchas(4, "dark", seed=2, jpeg_quality=40)}
    assert all(np.array_equal(image, drawn[label]) for image, label in zip(loaded.images, loaded.labels))


def test_generate_writes_the_original_jpg_and_txt_format(tmp_path, capsys: pytest.CaptureFixture[str]) -> None:
    out = tmp_path / "set"
    assert main(["generate", "--count", "3", "--seed", "1", "--out", str(out), "--format", "jpg+txt"]) == 0
    assert sorted(p.name for p in out.iterdir()) == [
        "00001.jpg", "00001.txt", "00002.jpg", "00002.txt", "00003.jpg", "00003.txt", "boxes.json"]
    assert "wrote 3 easy captchas" in capsys.readouterr().out
