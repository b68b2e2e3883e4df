"""Every trained model of the course behind one interface, kept in one file.

A :class:`Reader` reads whole captchas, whatever is inside it: a letter model
(the forest of chapter 2, either CNN of chapter 3) behind chapter 4's
segmentation, or chapter 5's CTC reader, which needs no cutting. Its
``info`` says what it needs to read captchas later and where it came from:
kind, alphabet, label lengths, input size, preprocessing, the training data
and the validation accuracy.

``save_reader`` writes one *reader file*: a zip archive holding ``reader.json``
(that information, with the file format's name and version) and the model in
a format that stores data, not code (``model.keras`` or ``model.skops``).
``load_reader`` reads it back, and also the files the notebooks save
(``models/forest.skops``, ``models/cnn.keras``, ``models/ctc.keras``): it looks
at what a file holds, not at its name. Keras models load in safe mode and a
forest only with the types a forest is made of, so loading never runs code
from the file.
"""

from __future__ import annotations

import json
import os
import tempfile
import zipfile
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from helpers import __version__
from helpers.models import LetterClassifier, ModelFileError, load_classifier, load_forest_safely
from helpers.solver import Solution, solve

FORMAT = "learning-captchas reader"
"""The ``format`` entry of every reader file's ``reader.json``."""

FORMAT_VERSION = 1
"""Version of the reader file format this code writes; it reads this version and older ones."""

MANIFEST = "reader.json"
KINDS: tuple[str, ...] = ("rf", "cnn", "cnn-original", "ctc")
"""Model kinds: the forest and both CNNs read cut-out letters; "ctc" reads whole captchas."""

FORBIDDEN_SUFFIXES = (".keras", ".skops", ".json", ".h5", ".onnx")
"""Names a reader file must not have: they would pass it off as a plain model file."""


@dataclass
class Reader:
    """A trained model that reads whole captchas.

    ``kind``: one of :data:`KINDS`; ``model``: a :class:`LetterClassifier`
    (letter kinds) or a Keras CTC model; ``info``: what the model needs and
    where it came from (see :func:`describe`).
    """

    kind: str
    model: Any
    info: dict[str, Any] = field(default_factory=dict)

    @property
    def alphabet(self) -> str:
        """Every character the reader can answer, sorted as the model stores them."""
        if self.kind == "ctc":
            return _ctc_parts(self.model)[1].alphabet
        return "".join(self.model.classes)

    @property
    def lengths(self) -> list[int]:
        """Label lengths the reader was trained on ([] when unknown)."""
        return [int(n) for n in self.info.get("lengths", [])]

    @property
    def channels(self) -> int:
        """The colour channels the model reads: 1 (gray) or 3 (colour; give it the captchas in colour)."""
        if self.kind == "ctc":
            return _ctc_parts(self.model)[0].channels
        return int(getattr(self.model, "channels", 1))

    def letter_count(self, length: int | None = None) -> int | list[int] | None:
        """What a letter model cuts each captcha into (:func:`helpers.solver.cut_captcha`'s ``length``):
        ``length`` if given, else the one length it was trained on, the several, or None when unknown."""
        lengths = [length] if length is not None else self.lengths
        return lengths[0] if len(lengths) == 1 else (lengths or None)

    def read(self, images: Sequence[np.ndarray], length: int | None = None, *,
             batch_size: int = 512, guided: bool = False) -> list[Solution]:
        """Read a batch of captchas ((H, W) or (H, W, 3) uint8 arrays, any sizes).

        ``length``: characters per captcha, for letter models; by default the
        lengths they were trained on (with several, the one segmentation
        finds, see :func:`helpers.solver.cut_captcha`), or, when they are
        unknown, the number of letters segmentation finds. The CTC reader
        finds the length itself. ``guided``: letter models place the cuts
        they are unsure of where they read the letters best
        (:func:`helpers.solver.solve`). Each :class:`Solution` has the text and a
        confidence per character; letter models also give the boxes.
        """
        if self.kind != "ctc":
            return solve(images, self.model, self.letter_count(length), batch_size=batch_size, guided=guided)
        from helpers import ctc_reading

        how, codec, run = _ctc_parts(self.model)
        readable, solutions = [], [None] * len(images)
        for k, image in enumerate(images):
            try:
                ctc_reading._gray(image, k)
                readable.append(k)
            except ValueError as exc:
                solutions[k] = Solution("", np.zeros(0, np.float32), np.zeros((0, 4), np.int32), False,
                                        f"not an image: {exc}")
        polarities: list[str] = []
        probs = ctc_reading.read_probabilities(run, [images[k] for k in readable], how, batch_size, polarities)
        for k, (text, confidence), polarity in zip(readable, ctc_reading.greedy_readings(probs, codec), polarities):
            ok = bool(text)
            solutions[k] = Solution(text, confidence, np.zeros((0, 4), np.int32), ok,
                                    "" if ok else "the reader saw no character", polarity)
        return solutions  # type: ignore[return-value]


def _ctc_parts(model: Any) -> tuple[Any, Any, Any]:
    """How a CTC network reads, its codec, and the function that runs one batch through it.

    A Keras model (:mod:`helpers.ctc`) or an exported one (:mod:`helpers.portable`,
    which carries the first two itself and never needs TensorFlow).
    """
    if hasattr(model, "reader_input"):
        return model.reader_input, model.codec, model.predict_on_batch
    from helpers import ctc

    return ctc.reader_input(model), ctc.codec_from_model(model), model.predict_on_batch


def describe(kind: str, model: Any) -> dict[str, Any]:
    """The part of ``info`` a model itself tells: kind, alphabet, input size and preprocessing."""
    if kind == "ctc":
        from helpers import ctc

        height, width = ctc.input_size(model)
        channels = ctc.channels_of(model)
        return {"kind": kind, "alphabet": ctc.codec_from_model(model).alphabet,
                "input": {"height": height, "width": width, "channels": channels},
                "preprocessing": {"gray": channels == 1, "polarity": "text made dark on light",
                                  "contrast_stretch": True,
                                  "resize": "stretch to the input size" if width else
                                  "keep the aspect ratio, pad with white to the batch's widest",
                                  "step_width": ctc.step_width_of(model), "crop_text": ctc.crops_text(model)}}
    return {"kind": kind, "alphabet": "".join(model.classes),
            "input": {"letter_size": model.letter_size, "channels": model.channels},
            "preprocessing": {"gray": model.channels == 1, "polarity": "text made dark on light", "segmentation": "otsu",
                              "letter_size": model.letter_size}}


def _kind_of_keras_letter_model(model: Any) -> str:
    return "cnn-original" if str(getattr(model, "name", "")).startswith("original_cnn") else "cnn"


# --------------------------------------------------------------------------- saving


def check_output(path: Path, *, overwrite: bool) -> Path:
    """Refuse a reader file name that exists (unless ``overwrite``), is a folder, or has a model file's suffix."""
    path = Path(path)
    if path.suffix.lower() in FORBIDDEN_SUFFIXES:
        raise ModelFileError(f"{path.name}: a reader file is not a plain {path.suffix} file; "
                             f"give it another name, such as {path.with_suffix('.model').name}")
    return check_new_file(path, overwrite=overwrite, example="reader.model")


def check_new_file(path: Path, *, overwrite: bool, example: str) -> Path:
    """Refuse to write a file at ``path`` if it is a folder, its folder is missing, or it exists (unless ``overwrite``)."""
    if path.is_dir():
        raise ModelFileError(f"{path} is a folder; give a file name such as {path / example}")
    if not path.parent.is_dir():
        raise ModelFileError(f"the folder of {path} does not exist; create it first")
    if path.exists() and not overwrite:
        raise ModelFileError(f"{path} already exists; choose another name or pass --overwrite to replace it")
    return path


def manifest_of(reader: Reader) -> dict[str, Any]:
    """What a saved reader says about itself: file format, course version, ``info`` and :func:`describe`."""
    return {"format": FORMAT, "format_version": FORMAT_VERSION, "course_version": __version__,
            **reader.info, **describe(reader.kind, reader.model)}


def save_reader(reader: Reader, path: str | Path, *, overwrite: bool = False) -> Path:
    """Write ``reader`` to one reader file; returns its path.

    The file is written under a temporary name in the same folder and renamed
    at the end, so an interrupted save leaves no half-written file (and an
    existing file, with ``overwrite``, stays whole until the new one is done).
    """
    if reader.kind not in KINDS:
        raise ValueError(f"unknown reader kind {reader.kind!r}; choose from {', '.join(KINDS)}")
    path = check_output(Path(path), overwrite=overwrite)
    manifest = manifest_of(reader)
    tmp = path.with_name(f".{path.name}.partial")
    try:
        with tempfile.TemporaryDirectory() as work:
            if reader.kind == "rf":
                import skops.io

                inner, name = Path(work) / "model.skops", "model.skops"
                skops.io.dump(reader.model.model, inner, compression=zipfile.ZIP_DEFLATED)
            else:
                keras_model = reader.model if reader.kind == "ctc" else reader.model.model
                inner, name = Path(work) / "model.keras", "model.keras"
                keras_model.save(inner)
            with zipfile.ZipFile(tmp, "w", compression=zipfile.ZIP_DEFLATED) as archive:
                archive.writestr(MANIFEST, json.dumps(manifest, indent=1))
                archive.write(inner, name, compress_type=zipfile.ZIP_STORED)
        os.replace(tmp, path)
    finally:
        tmp.unlink(missing_ok=True)
    return path


# --------------------------------------------------------------------------- loading


def _read_manifest(archive: zipfile.ZipFile, path: Path) -> dict[str, Any]:
    try:
        manifest = json.loads(archive.read(MANIFEST).decode("utf-8"))
    except (ValueError, UnicodeDecodeError, zipfile.BadZipFile) as exc:
        raise ModelFileError(f"{path} is damaged: its {MANIFEST} cannot be read ({exc}); train and save it again") from None
    if not isinstance(manifest, dict) or manifest.get("format") != FORMAT:
        raise ModelFileError(f"{path} is not a reader file of this course; train one with captcha-lab train")
    version = manifest.get("format_version")
    if not isinstance(version, int) or version < 1:
        raise ModelFileError(f"{path} gives no valid format version; train and save it again")
    if version > FORMAT_VERSION:
        raise ModelFileError(f"{path} was saved by a newer version of the course (reader format {version}, "
                             f"this one reads up to {FORMAT_VERSION}); update learning-captchas to read it")
    if manifest.get("kind") not in KINDS:
        raise ModelFileError(f"{path} holds a model of unknown kind {manifest.get('kind')!r}; "
                             f"this version of the course knows {', '.join(KINDS)}")
    return manifest


def _load_keras(path: Path) -> Any:
    from helpers.backend import import_keras

    keras = import_keras()
    import helpers.ctc  # noqa: F401  registers the CTC layer and loss with Keras
    # compile=False: reading needs no optimizer state (a reader that trains again is compiled anew)
    return keras.models.load_model(path, safe_mode=True, compile=False)


def _check_ctc(model: Any, path: Path) -> None:
    from helpers import ctc

    try:
        ctc.codec_from_model(model)
        ctc.input_size(model)
    except ValueError as exc:
        raise ModelFileError(f"{path} is a Keras model but not one of the course's CTC readers ({exc})") from None


def _from_archive(path: Path, archive: zipfile.ZipFile) -> Reader:
    manifest = _read_manifest(archive, path)
    kind = manifest["kind"]
    inner_name = "model.skops" if kind == "rf" else "model.keras"
    if inner_name not in archive.namelist():
        raise ModelFileError(f"{path} is damaged: it holds no {inner_name}; train and save it again")
    try:
        with tempfile.TemporaryDirectory() as work:
            inner = Path(work) / inner_name
            inner.write_bytes(archive.read(inner_name))
            if kind == "rf":
                forest = load_forest_safely(inner, source=path)
                model: Any = LetterClassifier("forest", forest, tuple(str(c) for c in forest.classes_),
                                              int(manifest["input"]["letter_size"]))
            else:
                keras_model = _load_keras(inner)
                if kind == "ctc":
                    _check_ctc(keras_model, path)
                    model = keras_model
                else:
                    size = int(manifest["input"]["letter_size"])
                    model = LetterClassifier("cnn", keras_model, tuple(manifest["alphabet"]), size)
                    if tuple(keras_model.input_shape[1:3]) != (size, size) or \
                            keras_model.output_shape[-1] != len(model.classes):
                        raise ModelFileError(f"{path}: the network inside does not fit its {MANIFEST} "
                                             "(letter size or classes); train and save it again")
    except ModelFileError:
        raise
    except Exception as exc:  # a damaged inner archive, an unknown layer, …
        raise ModelFileError(f"could not load {path}: {type(exc).__name__}: {exc}. The file may be damaged "
                             "or from another version; train and save it again") from None
    reader = Reader(kind, model, {k: v for k, v in manifest.items() if k not in ("format", "format_version")})
    if reader.alphabet != manifest.get("alphabet"):
        raise ModelFileError(f"{path}: the model inside reads {reader.alphabet!r} but {MANIFEST} says "
                             f"{manifest.get('alphabet')!r}; the file is damaged, train and save it again")
    return reader


def load_reader(path: str | Path, *, kind: str | None = None) -> Reader:
    """Load any model the course saves as a :class:`Reader`, refusing anything unsafe.

    Reads reader files (``captcha-lab train``, ``benchmark --save-models``,
    :func:`save_reader`) and the notebooks' model files: a forest ``.skops``
    or CNN ``.keras`` with its ``.json`` beside it, or chapter 5's CTC
    ``.keras``; and an ``.onnx`` file from ``captcha-lab export``, read with ONNX
    Runtime, without TensorFlow (:mod:`helpers.portable`). ``kind``: refuse a
    reader of another kind. Raises
    :class:`ModelFileError` with what to do when the file is missing,
    damaged, from a newer version, of another kind or untrusted.
    """
    path = Path(path)
    if not path.is_file():
        raise ModelFileError(f"model file {path} does not exist; train one with captcha-lab train "
                             "(or the notebooks) and pass its path")
    from helpers import portable

    reader = portable.load_onnx_reader(path) if portable.is_onnx_file(path) else _load_course_file(path)
    if kind is not None and reader.kind != kind and not (kind == "letters" and reader.kind != "ctc"):
        raise ModelFileError(f"{path} holds a {reader.kind} model, not a {kind} model")
    return reader


def _load_course_file(path: Path) -> Reader:
    """A reader file (zip with ``reader.json``) or a model file as the notebooks save it."""
    is_zip = path.stat().st_size >= 4 and path.read_bytes()[:4] == b"PK\x03\x04"
    reader = None
    if is_zip:
        try:
            with zipfile.ZipFile(path) as archive:
                if MANIFEST in archive.namelist():
                    reader = _from_archive(path, archive)
        except zipfile.BadZipFile as exc:
            if not (path.suffix == ".skops" or path.with_suffix(".json").is_file()):
                raise ModelFileError(f"could not load {path}: it is damaged ({exc}); train and save it again") from None
    return reader if reader is not None else _load_notebook_file(path, is_zip)


def _load_notebook_file(path: Path, is_zip: bool) -> Reader:
    """A model file as the notebooks save it: with a ``.json`` beside it (letters) or a CTC ``.keras``."""
    if path.with_suffix(".json").is_file() or path.suffix == ".skops":
        classifier = load_classifier(path)  # its errors say what is wrong with such a pair of files
        kind = "rf" if classifier.kind == "forest" else _kind_of_keras_letter_model(classifier.model)
        return Reader(kind, classifier, {"saved_by": "a notebook"})
    if path.suffix != ".keras":
        raise ModelFileError(f"{path} is not a model file of this course; pass a file saved by "
                             "captcha-lab train or by the notebooks")
    try:
        model = _load_keras(path)
    except Exception as exc:
        raise ModelFileError(f"could not load {path}: {type(exc).__name__}: {exc}. The file may be damaged, "
                             "from another version or not a model of this course; train and save it again") from None
    try:
        _check_ctc(model, path)
    except ModelFileError:
        raise ModelFileError(f"{path} is a Keras model but not a CTC reader; if it is a letter model of "
                             f"chapter 3, {path.with_suffix('.json').name} (its classes) is missing next to it") from None
    return Reader("ctc", model, {"saved_by": "a notebook"})


def reader_summary(reader: Reader) -> str:
    """One line on what a reader is and how it was trained, for the command line."""
    info = reader.info
    parts = [f"{reader.kind} reader", f"alphabet {reader.alphabet}"]
    if reader.lengths:
        parts.append("length " + ("/".join(map(str, reader.lengths))))
    data = info.get("data")
    if data:
        parts.append(f"trained on {data.get('captchas')} captchas of {data.get('folder')} (seed {data.get('seed')})")
    validation = info.get("validation")
    if validation:
        parts.append(f"validation {100 * validation['exact']:.2f} % exact on {validation['captchas']} captchas")
    return "; ".join(parts)


__all__ = ["FORMAT", "FORMAT_VERSION", "KINDS", "Reader", "check_new_file", "check_output", "describe",
           "load_reader", "manifest_of", "reader_summary", "save_reader"]
