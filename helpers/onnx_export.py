"""Exporting a trained reader's network to ONNX, checked before it is kept.

:func:`export_onnx` writes the letter CNN or the CTC reader of a
:class:`helpers.reader.Reader` as an ONNX file that :mod:`helpers.portable`
reads without TensorFlow, with the reader's description in the file's metadata.
Before the file is kept, the Keras reader and the exported file read the same
check captchas: the texts must agree and every probability must be within
:data:`PROBABILITY_TOLERANCE` (:func:`compare`). Exporting needs TensorFlow and
tf2onnx; reading the file needs neither.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from helpers.errors import ModelFileError
from helpers.files import written_atomically
from helpers.portable import EXPORTABLE, METADATA_KEY, ONNX_SUFFIX, load_onnx_reader
from helpers.reader import check_new_file, manifest_of

PROBABILITY_TOLERANCE = 1e-4
"""Largest difference allowed between the Keras and the ONNX network's probabilities."""


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



def _check_captchas(reader: Any, count: int, seed: int) -> list[np.ndarray]:
    """``count`` drawn captchas in the reader's characters (those the generator can draw), medium look."""
    from helpers.captchas import DEFAULT_ALPHABET, generate_captchas
    from helpers.errors import CaptchaDataError

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
    if not reader.cuts_letters:
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
        _write_onnx(reader.network, tmp, manifest)
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


__all__ = ["ExportCheck", "PROBABILITY_TOLERANCE", "compare", "export_onnx"]
