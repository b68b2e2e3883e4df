"""Atomic writing: a file appears whole or not at all, and no temporary file is left behind."""

from __future__ import annotations

from pathlib import Path

import pytest

from helpers.files import write_bytes_atomically, write_text_atomically, written_atomically


def test_a_finished_write_replaces_the_file_and_leaves_nothing_else(tmp_path: Path) -> None:
    target = tmp_path / "scores.json"
    target.write_text("old", encoding="utf-8")
    write_text_atomically(target, "new é")
    assert target.read_text(encoding="utf-8") == "new é"
    write_bytes_atomically(tmp_path / "raw.bin", b"\x00\x01")
    assert (tmp_path / "raw.bin").read_bytes() == b"\x00\x01"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["raw.bin", "scores.json"]


def test_a_failed_write_keeps_the_old_file_and_removes_the_temporary_one(tmp_path: Path) -> None:
    target = tmp_path / "reader.model"
    target.write_bytes(b"the previous reader")
    with pytest.raises(RuntimeError, match="check failed"):
        with written_atomically(target) as tmp:
            tmp.write_bytes(b"half a reader")
            raise RuntimeError("check failed")
    assert target.read_bytes() == b"the previous reader"
    assert [p.name for p in tmp_path.iterdir()] == ["reader.model"]


def test_the_temporary_file_is_hidden_beside_the_target_and_keeps_a_given_extension(tmp_path: Path) -> None:
    target = tmp_path / "cnn.keras"
    with written_atomically(target, ".keras") as tmp:
        assert tmp.parent == tmp_path and tmp.name.startswith(".") and tmp.suffix == ".keras"
        assert not target.exists()  # nothing at the target until the block ends
        tmp.write_bytes(b"weights")
    assert target.read_bytes() == b"weights" and not tmp.exists()
