"""Readers that run without TensorFlow: export to ONNX, read with ONNX Runtime.

TensorFlow is about 2 GB installed; reading captchas needs none of it once a
network is trained. :func:`export_onnx` writes a reader's network (the letter
CNN or the CTC reader) as an ONNX file, with everything needed to read with it
(kind, alphabet, input size, preprocessing, where it came from) stored as JSON
in the file's metadata, and checks that the file gives the Keras network's
answers before it keeps it. :func:`load_onnx_reader` turns such a file back
into a :class:`helpers.reader.Reader` that prepares, cuts and decodes captchas
with the course's own NumPy and OpenCV code and runs the network with ONNX
Runtime, so ``captcha-lab solve --model FILE.onnx`` never imports TensorFlow.

An ONNX file holds a graph of standard operators and their weights, no code:
loading one runs nothing from the file.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from helpers.files import written_atomically
from helpers.models import LetterClassifier, ModelFileError
from helpers.reader import FORMAT, FORMAT_VERSION, Reader, check_new_file, manifest_of

ONNX_SUFFIX = ".onnx"
METADATA_KEY = "learning-captchas reader"
"""Key of the ONNX metadata entry holding the reader's description (JSON)."""

EXPORTABLE: tuple[str, ...] = ("cnn", "cnn-original", "ctc")
"""Reader kinds that export: the networks. The forest is not one."""

PROBABILITY_TOLERANCE = 1e-4
"""Largest difference allowed between the Keras and the ONNX network's probabilities."""

LIGHT_INSTALL = "pip install 'learning-captchas[solve]'"


@dataclass(frozen=True)
class ExportCheck:
    """How the exported file compared with the Keras network on the check captchas.

    ``captchas``: how many were read by both; ``same_texts``: how many got the
    same answer; ``max_difference``: the largest difference between any two
    probabilities the networks gave (per time step, or per letter).
    """

    captchas: int
    same_texts: int
    max_difference: float

    @property
    def passed(self) -> bool:
        """Same texts everywhere and probabilities within :data:`PROBABILITY_TOLERANCE`."""
        return self.same_texts == self.captchas and self.max_difference <= PROBABILITY_TOLERANCE


class OnnxNetwork:
    """A network in an ONNX file, run by ONNX Runtime on the CPU, called like a Keras model.

    ``predict_on_batch(x)``: (B, …) float32 in, the network's one output out,
    as float32 NumPy. ``input_shape``/``output_shape``: as Keras gives them,
    None for a dimension of any size.
    """

    def __init__(self, path: Path) -> None:
        ort = import_onnxruntime()
        options = ort.SessionOptions()
        options.log_severity_level = 3  # errors only
        self.path = path
        self.session = ort.InferenceSession(str(path), sess_options=options, providers=["CPUExecutionProvider"])
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
        network.reader_input, network.codec = how, CharCodec(alphabet)
        return Reader(kind, network, info)
    size = int(manifest["input"]["letter_size"])
    if shape[1:3] != (size, size) or network.output_shape[-1] != len(alphabet):
        raise ModelFileError(f"{path}: the network does not fit its description (letter size or classes); "
                             "export it again")
    return Reader(kind, LetterClassifier("cnn", network, tuple(alphabet), size), info)


def is_onnx_file(path: Path) -> bool:
    """Whether ``path`` names an ONNX file (by its suffix: ONNX files have no magic number)."""
    return Path(path).suffix.lower() == ONNX_SUFFIX


# --------------------------------------------------------------------------- export


def _keras_network(reader: Any) -> Any:
    return reader.model if reader.kind == "ctc" else reader.model.model


def _check_captchas(reader: Any, count: int, seed: int) -> list[np.ndarray]:
    """``count`` drawn captchas in the reader's characters (those the generator can draw), medium look."""
    from helpers.captchas import DEFAULT_ALPHABET, CaptchaDataError, generate_captchas

    lengths = reader.lengths or [4]
    alphabet = "".join(ch for ch in reader.alphabet if ch.isalnum()) or DEFAULT_ALPHABET
    size = (40 + 28 * max(lengths), 60)
    images = []
    for k, length in enumerate(lengths):
        n = count // len(lengths) + (k < count % len(lengths))
        try:
            made = generate_captchas(n, "medium", seed=seed + k, alphabet=alphabet, length=length, size=size)
        except CaptchaDataError:
            made = generate_captchas(n, "medium", seed=seed + k, alphabet=DEFAULT_ALPHABET, length=length, size=size)
        images += [c.image for c in made]
    return images


def compare(reader: Any, portable: Any, images: list[np.ndarray], batch_size: int = 64) -> ExportCheck:
    """Read ``images`` with both readers; compare their texts and their network's probabilities."""
    if reader.kind == "ctc":
        from helpers import ctc

        how = ctc.reader_input(reader.model)
        ours = ctc.read_probabilities(reader.model.predict_on_batch, images, how, batch_size)
        theirs = ctc.read_probabilities(portable.model.predict_on_batch, images, portable.model.reader_input,
                                        batch_size)
    else:
        from helpers.solver import cut_captcha

        cuts = [cut_captcha(image, reader.letter_count(), size=reader.model.letter_size,
                            colour=reader.channels == 3) for image in images]
        letters = np.concatenate([cut.letters for cut in cuts if cut.ok] or [np.zeros((0,), np.uint8)])
        ours, theirs = reader.model.predict_proba(letters), portable.model.predict_proba(letters)
    difference = float(np.abs(ours - theirs).max()) if ours.size else 0.0
    texts = [s.text for s in reader.read(images, batch_size=batch_size)]
    portable_texts = [s.text for s in portable.read(images, batch_size=batch_size)]
    return ExportCheck(len(images), sum(a == b for a, b in zip(texts, portable_texts)), difference)


def _write_onnx(network: Any, path: Path, manifest: dict[str, Any]) -> None:
    """Convert a Keras network, as it reads (augmentation and dropout off), to ONNX with ``manifest`` in its metadata."""
    import logging
    import warnings

    import onnx

    from helpers.backend import import_keras, native_logs_discarded

    keras = import_keras()
    # Called with training=False inside a model of its own, the network's random layers (augmentation,
    # dropout) are left out of the traced graph instead of becoming operators ONNX does not have.
    inputs = keras.Input(tuple(network.input_shape[1:]), name="image")
    reading = keras.Model(inputs, network(inputs, training=False), name=f"{network.name}_reading")
    spec = keras.InputSpec(shape=(None,) + tuple(network.input_shape[1:]), dtype="float32")
    logging.getLogger("tf2onnx").setLevel(logging.ERROR)
    with native_logs_discarded(), warnings.catch_warnings():
        warnings.simplefilter("ignore")
        reading.export(str(path), format="onnx", input_signature=[spec], verbose=False)
    model = onnx.load(str(path))
    entry = model.metadata_props.add()
    entry.key, entry.value = METADATA_KEY, json.dumps(manifest)
    model.producer_name = "learning-captchas"
    onnx.save(model, str(path))


def export_onnx(reader: Any, path: str | Path, *, overwrite: bool = False, check_images: list[np.ndarray] | None = None,
                check_count: int = 200, seed: int = 0) -> ExportCheck:
    """Write ``reader``'s network to ``path`` as ONNX, check it, and keep it only if it agrees.

    The file gets the reader's description (as ``reader.json`` holds it) in its
    metadata. Before it is kept, ``check_images`` (default: ``check_count``
    drawn captchas) are read by the Keras reader and by the exported file: the
    texts must be the same and every probability within
    :data:`PROBABILITY_TOLERANCE`. Otherwise nothing is written and a
    :class:`ModelFileError` says by how much they differed. The file is written
    under a temporary name and renamed when it passed.
    """

    path = Path(path)
    if reader.kind not in EXPORTABLE:
        raise ModelFileError(f"export writes the networks ({', '.join(EXPORTABLE)}); this is a {reader.kind} "
                             "reader. The random forest is not a network: train a cnn or ctc reader to export")
    if path.suffix.lower() != ONNX_SUFFIX:
        raise ModelFileError(f"give the ONNX file a name ending in {ONNX_SUFFIX}, such as "
                             f"{path.with_suffix(ONNX_SUFFIX).name}")
    check_new_file(path, overwrite=overwrite, example="reader.onnx")
    manifest = manifest_of(reader)
    with written_atomically(path) as tmp:  # nothing is written unless the check passes
        _write_onnx(_keras_network(reader), tmp, manifest)
        images = check_images if check_images is not None else _check_captchas(reader, check_count, seed)
        try:
            result = compare(reader, load_onnx_reader(tmp), images)
        except ModelFileError as exc:
            raise ModelFileError(f"the exported network cannot be read back ({exc}); nothing was written") from None
        if not result.passed:
            raise ModelFileError(
                f"the exported network does not give the Keras network's answers: {result.same_texts} of "
                f"{result.captchas} check captchas read the same, probabilities differ by up to "
                f"{result.max_difference:.2g} (allowed {PROBABILITY_TOLERANCE:g}); nothing was written")
    return result


__all__ = ["EXPORTABLE", "ExportCheck", "METADATA_KEY", "OnnxNetwork", "PROBABILITY_TOLERANCE", "compare",
           "export_onnx", "installed_megabytes", "is_onnx_file", "load_onnx_reader"]
