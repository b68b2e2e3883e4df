"""Reader files: every trained model of the course kept in one file, and read back.

A :class:`helpers.reader.Reader` reads whole captchas, whatever is inside it
(a letter model behind segmentation, or the CTC reader); its ``info`` says what
it needs to read captchas later and where it came from: kind, alphabet, label
lengths, input size, preprocessing, the training data and the validation
accuracy. The interface lives in :mod:`helpers.reader`; its names can be
imported from here too.

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
import tempfile
import zipfile
from pathlib import Path
from typing import Any

from helpers.files import written_atomically
from helpers.models import LetterClassifier, ModelFileError, load_classifier, load_forest_safely
from helpers.reader import (  # noqa: F401  (the interface, also importable from here)
    FORBIDDEN_SUFFIXES, FORMAT, FORMAT_VERSION, KINDS, LETTER_KINDS, MANIFEST, CtcReader, LetterReader, Reader,
    check_new_file, check_output, describe, manifest_of,
)


def _kind_of_keras_letter_model(model: Any) -> str:
    return "cnn-original" if str(getattr(model, "name", "")).startswith("original_cnn") else "cnn"


# --------------------------------------------------------------------------- saving


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
    with written_atomically(path) as tmp:
        with tempfile.TemporaryDirectory() as work:
            if reader.network is None:  # the forest
                import skops.io

                inner, name = Path(work) / "model.skops", "model.skops"
                skops.io.dump(reader.model.model, inner, compression=zipfile.ZIP_DEFLATED)
            else:
                inner, name = Path(work) / "model.keras", "model.keras"
                reader.network.save(inner)
            with zipfile.ZipFile(tmp, "w", compression=zipfile.ZIP_DEFLATED) as archive:
                archive.writestr(MANIFEST, json.dumps(manifest, indent=1))
                archive.write(inner, name, compress_type=zipfile.ZIP_STORED)
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
    if kind is not None and reader.kind != kind and not (kind == "letters" and reader.cuts_letters):
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


__all__ = ["FORMAT", "FORMAT_VERSION", "KINDS", "LETTER_KINDS", "CtcReader", "LetterReader", "Reader", "check_new_file",
           "check_output", "describe", "load_reader", "manifest_of", "reader_summary", "save_reader"]
