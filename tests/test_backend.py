"""Starting TensorFlow: the course's settings, a quiet start, and the error output given back."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
SCRIPT = """
import os, sys
from helpers.backend import import_keras
keras = import_keras()
print(keras.__version__.split(".")[0], os.environ["TF_ENABLE_ONEDNN_OPTS"], os.environ["TF_CPP_MIN_LOG_LEVEL"])
os.write(2, b"native stderr still works\\n")
print("python stderr still works", file=sys.stderr)
"""


def _run(**env: str) -> subprocess.CompletedProcess:
    clean = {k: v for k, v in os.environ.items() if not k.startswith("TF_")}
    return subprocess.run([sys.executable, "-c", SCRIPT], cwd=ROOT, env={**clean, **env},
                          capture_output=True, text=True, timeout=300, check=True)


def test_import_keras_applies_the_settings_and_keeps_the_start_up_note_out() -> None:
    done = _run()
    assert done.stdout.split() == ["3", "1", "3"]
    assert "oneDNN" not in done.stderr and "absl" not in done.stderr
    assert "native stderr still works" in done.stderr and "python stderr still works" in done.stderr


def test_a_setting_of_your_own_wins() -> None:
    done = _run(TF_ENABLE_ONEDNN_OPTS="0", TF_CPP_MIN_LOG_LEVEL="2")
    assert done.stdout.split() == ["3", "0", "2"]


def test_native_logs_hidden_silences_descriptor_2_only_inside(capfd: pytest.CaptureFixture[str]) -> None:
    from helpers.backend import native_logs_hidden

    with native_logs_hidden():
        os.write(2, b"compiler note\n")
    os.write(2, b"after\n")
    err = capfd.readouterr().err
    assert "compiler note" not in err and "after" in err
