"""A trained model that reads whole captchas: the :class:`Reader` interface, its kinds, and what a reader file says.

Every reader of the course, whatever is inside, reads a batch of captchas
into texts with a confidence per character: a letter model (the forest of
chapter 2, either CNN of chapter 3) behind chapter 4's segmentation, or
chapter 5's CTC reader, Keras or exported to ONNX. This module is the bottom
of that: it knows the kinds and the description a reader file carries
(:func:`manifest_of`); it starts TensorFlow only to run or describe a Keras
CTC model, and knows nothing of file formats.
Saving and loading reader files is :mod:`helpers.readers`; ONNX is
:mod:`helpers.portable`.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, ClassVar

import numpy as np

from helpers import __version__
from helpers.models import ModelFileError
from helpers.solver import Solution, solve

FORMAT = "learning-captchas reader"
"""The ``format`` entry of every reader file's ``reader.json``."""

FORMAT_VERSION = 1
"""Version of the reader file format this code writes; it reads this version and older ones."""

MANIFEST = "reader.json"
LETTER_KINDS: tuple[str, ...] = ("rf", "cnn", "cnn-original")
"""Kinds that read cut-out letters (:class:`LetterReader`): the forest and both CNNs."""

KINDS: tuple[str, ...] = (*LETTER_KINDS, "ctc")
"""Every model kind: the letter kinds, and "ctc", which reads whole captchas (:class:`CtcReader`)."""

FORBIDDEN_SUFFIXES = (".keras", ".skops", ".json", ".h5", ".onnx")
"""Names a reader file must not have: they would pass it off as a plain model file."""


@dataclass
class Reader:
    """A trained model that reads whole captchas.

    ``kind``: one of :data:`KINDS`; ``model``: a :class:`LetterClassifier`
    (letter kinds) or a CTC network (Keras, or ONNX from :mod:`helpers.portable`);
    ``info``: what the model needs and where it came from (see :func:`describe`).
    ``Reader(kind, model, info)`` gives a :class:`CtcReader` for "ctc" and a
    :class:`LetterReader` otherwise: what differs between the two lives in
    them, so the rest of the package asks a reader (``cuts_letters``,
    ``network``) instead of comparing kinds.
    """

    kind: str
    model: Any
    info: dict[str, Any] = field(default_factory=dict)

    cuts_letters: ClassVar[bool] = True
    """Whether the reader cuts captchas into letters (so a length can be asked of it)."""

    def __new__(cls, *args: Any, **kwargs: Any) -> Reader:
        if cls is Reader:
            kind = args[0] if args else kwargs.get("kind")
            cls = CtcReader if kind == "ctc" else LetterReader
        return super().__new__(cls)

    @property
    def alphabet(self) -> str:
        """Every character the reader can answer, sorted as the model stores them."""
        raise NotImplementedError

    @property
    def channels(self) -> int:
        """The colour channels the model reads: 1 (gray) or 3 (colour; give it the captchas in colour)."""
        raise NotImplementedError

    @property
    def network(self) -> Any:
        """The neural network inside (Keras or ONNX), as saved and exported; None for the forest."""
        raise NotImplementedError

    @property
    def lengths(self) -> list[int]:
        """Label lengths the reader was trained on ([] when unknown)."""
        return [int(n) for n in self.info.get("lengths", [])]

    def check_alphabet(self, alphabet: str, where: str = "") -> None:
        """Refuse captchas whose ``alphabet`` (their characters) uses one this reader never learned.

        Raises:
            ModelFileError: naming the unknown characters; ``where`` (" in FOLDER", say) says whose they are.
        """
        unknown = sorted(set(alphabet) - set(self.alphabet))
        if unknown:
            raise ModelFileError(f"the captchas{where} use {''.join(unknown)}, which this model never learned "
                                 f"(it reads {self.alphabet}); train a model on captchas with these characters")

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
        raise NotImplementedError


class LetterReader(Reader):
    """A letter model (forest or CNN, a :class:`LetterClassifier`) behind chapter 4's segmentation."""

    cuts_letters: ClassVar[bool] = True

    @property
    def alphabet(self) -> str:
        return "".join(self.model.classes)

    @property
    def channels(self) -> int:
        return int(getattr(self.model, "channels", 1))

    @property
    def network(self) -> Any:
        return None if self.model.kind == "forest" else self.model.model

    def read(self, images: Sequence[np.ndarray], length: int | None = None, *,
             batch_size: int = 512, guided: bool = False) -> list[Solution]:
        return solve(images, self.model, self.letter_count(length), batch_size=batch_size, guided=guided)


class CtcReader(Reader):
    """Chapter 5's CTC reader: the whole captcha in, the text out, no cutting (``length`` is not used)."""

    cuts_letters: ClassVar[bool] = False

    @property
    def alphabet(self) -> str:
        return _ctc_parts(self.model)[1].alphabet

    @property
    def channels(self) -> int:
        return _ctc_parts(self.model)[0].channels

    @property
    def network(self) -> Any:
        return self.model

    def read(self, images: Sequence[np.ndarray], length: int | None = None, *,
             batch_size: int = 512, guided: bool = False) -> list[Solution]:
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
    if getattr(model, "reader_input", None) is not None:
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
        raise ModelFileError(f"{path} already exists; choose another name or allow replacing it", argument="overwrite",
                             value=True)
    return path


def manifest_of(reader: Reader) -> dict[str, Any]:
    """What a saved reader says about itself: file format, course version, ``info`` and :func:`describe`."""
    return {"format": FORMAT, "format_version": FORMAT_VERSION, "course_version": __version__,
            **reader.info, **describe(reader.kind, reader.model)}


__all__ = ["FORBIDDEN_SUFFIXES", "FORMAT", "FORMAT_VERSION", "KINDS", "LETTER_KINDS", "MANIFEST", "CtcReader",
           "LetterReader", "Reader", "check_new_file", "check_output", "describe", "manifest_of"]
