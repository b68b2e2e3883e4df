"""Readers that run without TensorFlow: an exported ONNX file, read with ONNX Runtime.

TensorFlow is about 2 GB installed; reading captchas needs none of it once a
network is trained. :mod:`helpers.onnx_export` writes a reader's network as an
ONNX file, with everything needed to read with it (kind, alphabet, input size,
preprocessing, where it came from) stored as JSON in the file's metadata.
:func:`load_onnx_reader` turns such a file back into a
:class:`helpers.reader.Reader` that prepares, cuts and decodes captchas with
the course's own NumPy and OpenCV code and runs the network with ONNX Runtime,
so ``captcha-lab solve --model FILE.onnx`` never imports TensorFlow (nor the
exporter).

An ONNX file holds a graph of standard operators and their weights, no code:
loading one runs nothing from the file.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import numpy as np

from helpers.models import LetterClassifier, ModelFileError
from helpers.reader import FORMAT, FORMAT_VERSION, Reader

ONNX_SUFFIX = ".onnx"
METADATA_KEY = "learning-captchas reader"
"""Key of the ONNX metadata entry holding the reader's description (JSON)."""

EXPORTABLE: tuple[str, ...] = ("cnn", "cnn-original", "ctc")
"""Reader kinds that export: the networks. The forest is not one."""

LIGHT_INSTALL = "pip install 'learning-captchas[solve]'"


class OnnxNetwork:
    """A network in an ONNX file, run by ONNX Runtime on the CPU, called like a Keras model.

    ``predict_on_batch(x)``: (B, …) float32 in, the network's one output out,
    as float32 NumPy. ``input_shape``/``output_shape``: as Keras gives them,
    None for a dimension of any size. A CTC network also carries how its
    captchas are prepared (``reader_input``, a :class:`helpers.ctc_reading.ReaderInput`)
    and decoded (``codec``), which a Keras model keeps in its layers; both are
    None for a letter network (:meth:`reading_ctc` gives the CTC view).
    """

    def __init__(self, path: Path, *, reader_input: Any = None, codec: Any = None, session: Any = None) -> None:
        self.path = path
        self.reader_input, self.codec = reader_input, codec
        if session is None:
            ort = import_onnxruntime()
            options = ort.SessionOptions()
            options.log_severity_level = 3  # errors only
            session = ort.InferenceSession(str(path), sess_options=options, providers=["CPUExecutionProvider"])
        self.session = session
        inputs, outputs = self.session.get_inputs(), self.session.get_outputs()
        if len(inputs) != 1 or len(outputs) != 1:
            raise ModelFileError(f"{path}: the network has {len(inputs)} inputs and {len(outputs)} outputs; "
                                 "a course reader has one of each")
        self.input_name = inputs[0].name
        self.input_shape = tuple(d if isinstance(d, int) else None for d in inputs[0].shape)
        self.output_shape = tuple(d if isinstance(d, int) else None for d in outputs[0].shape)
        self.metadata = dict(self.session.get_modelmeta().custom_metadata_map)

    def predict_on_batch(self, x: np.ndarray) -> np.ndarray:
        """Outputs for one batch ``x`` (B, …) float32."""
        return np.asarray(self.session.run(None, {self.input_name: np.asarray(x, np.float32)})[0], np.float32)

    def reading_ctc(self, reader_input: Any, codec: Any) -> OnnxNetwork:
        """The same network (the same ONNX Runtime session) as a CTC reader that prepares its input as
        ``reader_input`` says and decodes with ``codec``."""
        return OnnxNetwork(self.path, reader_input=reader_input, codec=codec, session=self.session)


def import_onnxruntime() -> Any:
    """``onnxruntime``, or a :class:`ModelFileError` saying how to install it."""
    try:
        import onnxruntime
    except ImportError:
        raise ModelFileError(f"reading an ONNX reader needs ONNX Runtime: {LIGHT_INSTALL}") from None
    return onnxruntime


def installed_megabytes(*names: str) -> float:
    """Disk space (MB) of the installed files of the first of ``names`` (distribution names) that is installed."""
    from importlib import metadata

    for name in names:
        try:
            files = metadata.distribution(name).files or []
        except metadata.PackageNotFoundError:
            continue
        return sum(f.locate().stat().st_size for f in files if Path(f.locate()).is_file()) / 1e6
    raise metadata.PackageNotFoundError(names[0])


# --------------------------------------------------------------------------- reading


def _manifest(network: OnnxNetwork, path: Path) -> dict[str, Any]:
    text = network.metadata.get(METADATA_KEY)
    if text is None:
        raise ModelFileError(f"{path} is an ONNX file but not one written by captcha-lab export "
                             "(it says nothing about how to read captchas with it)")
    try:
        manifest = json.loads(text)
    except ValueError as exc:
        raise ModelFileError(f"{path} is damaged: its reader description cannot be read ({exc}); "
                             "export it again") from None
    if not isinstance(manifest, dict) or manifest.get("format") != FORMAT:
        raise ModelFileError(f"{path} is not a reader of this course; export one with captcha-lab export")
    version = manifest.get("format_version")
    if not isinstance(version, int) or version > FORMAT_VERSION:
        raise ModelFileError(f"{path} was written by a newer version of the course; update learning-captchas")
    if manifest.get("kind") not in EXPORTABLE:
        raise ModelFileError(f"{path} holds a reader of unknown kind {manifest.get('kind')!r}")
    return manifest


def load_onnx_reader(path: str | Path) -> Any:
    """Read an ONNX file written by :func:`export_onnx` as a :class:`helpers.reader.Reader`.

    Needs ONNX Runtime, NumPy, OpenCV and Pillow only. Raises
    :class:`ModelFileError` when ONNX Runtime is missing or the file is not
    such a reader (or does not fit its own description).
    """
    path = Path(path)
    try:
        network = OnnxNetwork(path)
    except ModelFileError:
        raise
    except Exception as exc:  # ONNX Runtime's own errors for a file it cannot parse
        raise ModelFileError(f"could not load {path}: {type(exc).__name__}: {str(exc).splitlines()[0]}. "
                             "It may be damaged or not an ONNX file; export it again") from None
    manifest = _manifest(network, path)
    try:
        return _reader_from(network, manifest)
    except (KeyError, TypeError, ValueError) as exc:
        raise ModelFileError(f"{path}: its reader description is incomplete ({type(exc).__name__}: {exc}); "
                             "export it again") from None


def _reader_from(network: OnnxNetwork, manifest: dict[str, Any]) -> Any:
    """The :class:`helpers.reader.Reader` for ``network`` as ``manifest`` describes it (checked against it)."""
    from helpers.ctc_reading import CharCodec, ReaderInput

    path = network.path
    kind, alphabet = manifest["kind"], str(manifest.get("alphabet", ""))
    info = {k: v for k, v in manifest.items() if k not in ("format", "format_version")}
    shape = network.input_shape
    channels = int(manifest["input"].get("channels", 1))
    if len(shape) != 4 or shape[3] != channels or channels not in (1, 3) or not alphabet:
        raise ModelFileError(f"{path}: the network's input {shape} does not fit a course reader; export it again")
    if kind == "ctc":
        pre = manifest.get("preprocessing", {})
        how = ReaderInput(int(manifest["input"]["height"]), manifest["input"]["width"],
                          int(pre["step_width"]), bool(pre.get("crop_text", False)), len(alphabet) + 1, channels)
        if network.output_shape[-1] != how.n_classes or shape[1] != how.height:
            raise ModelFileError(f"{path}: the network does not fit its description (height or alphabet); "
                                 "export it again")
        return Reader(kind, network.reading_ctc(how, CharCodec(alphabet)), info)
    size = int(manifest["input"]["letter_size"])
    if shape[1:3] != (size, size) or network.output_shape[-1] != len(alphabet):
        raise ModelFileError(f"{path}: the network does not fit its description (letter size or classes); "
                             "export it again")
    return Reader(kind, LetterClassifier("cnn", network, tuple(alphabet), size), info)


def is_onnx_file(path: Path) -> bool:
    """Whether ``path`` names an ONNX file (by its suffix: ONNX files have no magic number)."""
    return Path(path).suffix.lower() == ONNX_SUFFIX


__all__ = ["EXPORTABLE", "LIGHT_INSTALL", "METADATA_KEY", "ONNX_SUFFIX", "OnnxNetwork", "import_onnxruntime",
           "installed_megabytes", "is_onnx_file", "load_onnx_reader"]
