"""Readers without TensorFlow: captcha-lab export writes ONNX, and solve reads it with ONNX Runtime alone.

The readers come from ``trained`` (``conftest.py``): networks trained for an epoch or two, so these
tests check that an exported file reads as its Keras network does, not how well either reads.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from helpers.captchas import generate_captchas
from helpers.cli import main
from helpers.errors import ModelFileError
from helpers.readers import load_reader


# --------------------------------------------------------------------------- ONNX: a reader without TensorFlow

BLOCK_TENSORFLOW = """
import sys
class NoTensorFlow:
    def find_spec(self, name, path=None, target=None):
        if name.split(".")[0] in ("tensorflow", "keras", "tf2onnx"):
            raise ModuleNotFoundError(f"No module named {name!r} (blocked in this test)", name=name)
sys.meta_path.insert(0, NoTensorFlow())
from helpers.cli import main
code = main(sys.argv[1:])
assert not any(m.split(".")[0] in ("tensorflow", "keras") for m in sys.modules), "TensorFlow was imported"
sys.exit(code)
"""


@pytest.fixture(scope="module")
def exported(trained: dict[str, Path]) -> dict[str, Path]:
    """The CNN and CTC readers of ``trained``, exported by the command line (checked on 200 drawn captchas)."""
    out = {}
    for kind in ("cnn", "ctc"):
        out[kind] = trained[kind].with_suffix(".onnx")
        assert main(["export", "--model", str(trained[kind]), "--out", str(out[kind]), "--quiet"]) == 0
    return out


@pytest.mark.parametrize("kind", ["cnn", "ctc"])
def test_an_exported_reader_gives_the_keras_readers_answers(kind: str, trained: dict[str, Path],
                                                            exported: dict[str, Path]) -> None:
    """Same texts on 200 captchas, and the networks' probabilities within 1e-4, computed here afresh."""
    from helpers import ctc
    from helpers.ctc_reading import read_probabilities
    from helpers.solver import cut_captcha

    keras_reader, onnx_reader = load_reader(trained[kind]), load_reader(exported[kind])
    assert onnx_reader.kind == kind and onnx_reader.alphabet == keras_reader.alphabet
    assert onnx_reader.info["data"] == keras_reader.info["data"]
    images = [c.image for c in generate_captchas(200, "easy", seed=77, size=(120, 45))]
    if kind == "ctc":
        ours = ctc.predict_probabilities(keras_reader.model, images)
        theirs = read_probabilities(onnx_reader.model.predict_on_batch, images, onnx_reader.model.reader_input)
    else:
        letters = np.concatenate([cut_captcha(image, 4).letters for image in images])
        ours, theirs = keras_reader.model.predict_proba(letters), onnx_reader.model.predict_proba(letters)
        assert len(letters) >= 600
    assert ours.shape == theirs.shape and np.abs(ours - theirs).max() <= 1e-4
    # not a vacuous comparison: the (barely trained) network's outputs change from captcha to captcha
    assert np.abs(ours - ours.mean(axis=0)).max() > 0.01
    assert [s.text for s in onnx_reader.read(images)] == [s.text for s in keras_reader.read(images)]


def test_solve_with_an_onnx_file_never_imports_tensorflow(trained: dict[str, Path], exported: dict[str, Path],
                                                          folders: dict[str, Path],
                                                          capsys: pytest.CaptureFixture[str]) -> None:
    for kind in ("cnn", "ctc"):
        assert main(["solve", "--model", str(trained[kind]), str(folders["fresh"])]) in (0, 1)
        keras_lines = capsys.readouterr().out
        done = subprocess.run([sys.executable, "-c", BLOCK_TENSORFLOW, "solve", "--model", str(exported[kind]),
                               str(folders["fresh"])], capture_output=True, text=True, check=False)
        assert done.returncode in (0, 1), done.stderr
        assert done.stderr == "" and done.stdout == keras_lines
    # the block works: training, which needs TensorFlow, stops in such a process and says what to install
    done = subprocess.run([sys.executable, "-c", BLOCK_TENSORFLOW, "train", "--data", str(folders["train"]),
                           "--model", "ctc", "--out", str(folders["root"] / "never.model")],
                          capture_output=True, text=True, check=False)
    assert done.returncode == 2 and "pip install 'learning-captchas[course]'" in done.stderr, done.stderr
    assert not (folders["root"] / "never.model").exists()


def test_export_refuses_what_it_cannot_write(trained: dict[str, Path], tmp_path: Path,
                                             capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["export", "--model", str(trained["rf"]), "--out", str(tmp_path / "f.onnx")]) == 2
    assert "not a network" in capsys.readouterr().err
    assert main(["export", "--model", str(trained["ctc"]), "--out", str(tmp_path / "r.model")]) == 2
    assert "ending in .onnx" in capsys.readouterr().err
    taken = tmp_path / "taken.onnx"
    taken.write_bytes(b"keep me")
    assert main(["export", "--model", str(trained["ctc"]), "--out", str(taken)]) == 2
    assert "already exists" in capsys.readouterr().err and taken.read_bytes() == b"keep me"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["taken.onnx"]


def test_an_onnx_file_that_is_not_a_course_reader_is_refused(tmp_path: Path, exported: dict[str, Path]) -> None:
    import onnx

    junk = tmp_path / "junk.onnx"
    junk.write_bytes(b"not an onnx file")
    with pytest.raises(ModelFileError, match="junk.onnx"):
        load_reader(junk)
    foreign = onnx.load(str(exported["ctc"]))
    del foreign.metadata_props[:]
    onnx.save(foreign, str(tmp_path / "foreign.onnx"))
    with pytest.raises(ModelFileError, match="not one written by captcha-lab export"):
        load_reader(tmp_path / "foreign.onnx")
    with pytest.raises(ModelFileError, match="holds a ctc model, not a cnn model"):
        load_reader(exported["ctc"], kind="cnn")
    incomplete = onnx.load(str(exported["ctc"]))
    entry = next(e for e in incomplete.metadata_props if e.key == "learning-captchas reader")
    described = json.loads(entry.value)
    del described["preprocessing"]
    entry.value = json.dumps(described)
    onnx.save(incomplete, str(tmp_path / "incomplete.onnx"))
    with pytest.raises(ModelFileError, match="incomplete"):
        load_reader(tmp_path / "incomplete.onnx")


def test_an_exported_ctc_network_carries_how_it_reads_and_a_letter_network_does_not(
        exported: dict[str, Path]) -> None:
    from helpers.portable import OnnxNetwork

    ctc_reader, cnn_reader = load_reader(exported["ctc"]), load_reader(exported["cnn"])
    network = ctc_reader.model
    assert network.codec.alphabet == ctc_reader.alphabet
    assert network.reader_input.n_classes == len(ctc_reader.alphabet) + 1 == network.output_shape[-1]
    assert cnn_reader.model.model.reader_input is None and cnn_reader.model.model.codec is None
    plain = OnnxNetwork(exported["ctc"])
    assert plain.reader_input is None and plain.codec is None
    again = plain.reading_ctc(network.reader_input, network.codec)
    assert again.session is plain.session and (again.reader_input, again.codec) == (network.reader_input, network.codec)
