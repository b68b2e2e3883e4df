"""The letter classifiers of the course: reproducible set-up, Keras CNN builders,
features for the random forest, and saving/loading models safely.

Keras is imported inside the functions that need it, so chapters that use only
the forest never pay for starting TensorFlow.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from helpers.backend import import_keras
from helpers.errors import ModelFileError
from helpers.files import written_atomically

# Types inside a saved forest that skops may rebuild; anything else is refused.
TRUSTED_FOREST_TYPES = frozenset({"sklearn.tree._tree.Tree"})
KINDS = ("forest", "cnn")


def seed_everything(seed: int, *, deterministic_ops: bool = True) -> None:
    """Make Keras training repeatable: same seed → same weights on the same machine.

    Seeds Python's ``random``, NumPy's global generator and TensorFlow through
    ``keras.utils.set_random_seed`` (Keras 3 draws initial weights from these),
    and switches TensorFlow to deterministic kernels. Call it before building
    each model, after ``keras.backend.clear_session()``.
    """
    keras = import_keras()
    import tensorflow as tf

    keras.utils.set_random_seed(seed)
    if deterministic_ops:
        tf.config.experimental.enable_op_determinism()


def as_features(letters: np.ndarray) -> np.ndarray:
    """Letter images (N, S, S) uint8 → flat pixel rows (N, S*S) float32 in [0, 1] for the forest."""
    letters = np.asarray(letters)
    return letters.reshape(len(letters), -1).astype(np.float32) / 255.0


def as_tensor(letters: np.ndarray) -> np.ndarray:
    """Letter images (N, S, S) uint8 → (N, S, S, 1) float32 in [0, 1] for a CNN (Keras wants a channel axis);
    colour letters (N, S, S, 3) keep their three channels."""
    letters = np.asarray(letters)
    return (letters if letters.ndim == 4 else letters[..., np.newaxis]).astype(np.float32) / 255.0


def build_original_cnn(n_classes: int, size: int = 60, *, flatten: bool = True) -> Any:
    """The 2019 project's CNN: Conv 20@6×6 → pool 3 → Conv 15@3×3 → pool 3 → Dense 300 → softmax.

    Input (B, size, size, 1) float32, output (B, n_classes) probabilities.
    ``flatten=False`` rebuilds the original exactly, without the Flatten layer
    it was missing; its output then has shape (B, 6, 6, n_classes) for 60×60 letters.
    """
    keras = import_keras()
    from keras import layers

    stack = [
        keras.Input((size, size, 1)),
        layers.Conv2D(20, (6, 6), padding="same", activation="relu"),
        layers.MaxPooling2D(pool_size=(3, 3), strides=(3, 3)),
        layers.Conv2D(15, (3, 3), padding="same", activation="relu"),
        layers.MaxPooling2D(pool_size=(3, 3), strides=(3, 3)),
    ]
    if flatten:
        stack.append(layers.Flatten())
    stack += [layers.Dense(300, activation="relu"), layers.Dense(n_classes, activation="softmax")]
    return keras.Sequential(stack, name="original_cnn" if flatten else "original_cnn_without_flatten")


def augmentation(seed: int, strength: float = 1.0) -> Any:
    """Random small rotations, shifts and zooms, active only while training.

    Letters cut from captchas are never perfectly centred or upright; showing
    the network shifted and turned copies teaches it not to care.
    """
    keras = import_keras()
    from keras import layers

    return keras.Sequential([
        layers.RandomRotation(0.04 * strength, fill_mode="nearest", seed=seed),
        layers.RandomTranslation(0.08 * strength, 0.08 * strength, fill_mode="nearest", seed=seed + 1),
        layers.RandomZoom(0.1 * strength, fill_mode="nearest", seed=seed + 2),
    ], name="augmentation")


def build_improved_cnn(n_classes: int, size: int = 60, *, seed: int = 0, augment: bool = True,
                       batch_norm: bool = True, dropout: float = 0.3, shrink: int = 2,
                       filters: Sequence[int] = (32, 64, 96), channels: int = 1) -> Any:
    """A small modern CNN for letters: shrink, augment, conv blocks, batch norm, dropout.

    Input (B, size, size, channels) float32 in [0, 1] (channels 1: gray, 3: colour),
    output (B, n_classes) probabilities.
    ``shrink`` first averages shrink×shrink pixel blocks (60×60 → 30×30): a letter
    needs fewer pixels than that, and every later layer gets ``shrink²`` times cheaper.
    ``filters`` gives the channels of each conv block (3×3 conv, batch norm, ReLU,
    2×2 max pooling); one more entry adds a block. Each improvement can be
    switched off to measure what it brings.
    """
    keras = import_keras()
    from keras import layers

    def block(x: Any, filters: int) -> Any:
        x = layers.Conv2D(filters, 3, padding="same", use_bias=not batch_norm)(x)
        if batch_norm:
            x = layers.BatchNormalization(momentum=0.9)(x)
        x = layers.Activation("relu")(x)
        return layers.MaxPooling2D(2)(x)

    inputs = keras.Input((size, size, channels))
    x = layers.AveragePooling2D(shrink)(inputs) if shrink > 1 else inputs
    if augment:
        x = augmentation(seed)(x)
    for channels in filters:
        x = block(x, channels)
    x = layers.GlobalAveragePooling2D()(x)
    if dropout:
        x = layers.Dropout(dropout, seed=seed)(x)
    x = layers.Dense(128, activation="relu")(x)
    if dropout:
        x = layers.Dropout(dropout, seed=seed + 1)(x)
    outputs = layers.Dense(n_classes, activation="softmax")(x)
    return keras.Model(inputs, outputs, name="improved_cnn")


@dataclass
class LetterClassifier:
    """A trained letter model with the classes it predicts.

    ``kind`` is "forest" (scikit-learn, flat pixels) or "cnn" (Keras, images);
    ``classes[k]`` is the character of output column k; letters are
    ``letter_size`` × ``letter_size`` uint8 images, gray or (for a network
    whose input has three channels) in colour.
    """

    kind: str
    model: Any
    classes: tuple[str, ...]
    letter_size: int = 60

    @property
    def channels(self) -> int:
        """1 when the model reads gray letters (N, S, S), 3 when it reads colour ones (N, S, S, 3)."""
        shape = getattr(self.model, "input_shape", None) if self.kind == "cnn" else None
        return int(shape[-1]) if shape else 1

    def predict_proba(self, letters: np.ndarray, batch_size: int = 256) -> np.ndarray:
        """Class probabilities (N, len(classes)) float32 for letters (N, S, S) uint8 ((N, S, S, 3) in colour).

        The network reads ``batch_size`` letters per call.
        """
        letters = np.asarray(letters)
        if len(letters) == 0:
            return np.zeros((0, len(self.classes)), np.float32)
        if letters.shape[1:3] != (self.letter_size, self.letter_size):
            raise ValueError(f"this model reads {self.letter_size}x{self.letter_size} letters, "
                             f"got {letters.shape[1]}x{letters.shape[2]}")
        if (letters.ndim == 4) != (self.channels == 3):
            raise ValueError(f"this model reads {'colour' if self.channels == 3 else 'gray'} letters, got "
                             f"{'colour' if letters.ndim == 4 else 'gray'} ones of shape {letters.shape[1:]}")
        if self.kind == "forest":
            return self.model.predict_proba(as_features(letters)).astype(np.float32)
        # One compiled call per chunk: Keras' predict() builds a new input pipeline every time it is
        # called, which costs more than the network itself on a few thousand small letters.
        # Converted chunk by chunk too: tens of thousands of candidate letters (guided cutting) as
        # float32 would fill hundreds of megabytes at once.
        return np.concatenate([np.asarray(self.model.predict_on_batch(as_tensor(letters[start:start + batch_size])),
                                          dtype=np.float32) for start in range(0, len(letters), batch_size)])

    def predict(self, letters: np.ndarray) -> np.ndarray:
        """Predicted characters (N,) str for letters (N, S, S) uint8."""
        proba = self.predict_proba(letters)
        return np.array(self.classes, dtype=str)[proba.argmax(axis=1)] if len(proba) else np.array([], str)


def _metadata_path(path: Path) -> Path:
    return path.with_suffix(".json")


def save_classifier(classifier: LetterClassifier, path: Path) -> Path:
    """Save a classifier: the model file plus ``<name>.json`` with its kind, classes and letter size.

    Forests are saved with skops (``.skops``), which stores data, not code;
    CNNs in Keras' own ``.keras`` format. Files are written under temporary
    names first, so an interrupted save leaves no half-written model.
    """
    path = Path(path)
    expected = {"forest": ".skops", "cnn": ".keras"}[classifier.kind]
    if path.suffix != expected:
        raise ValueError(f"a {classifier.kind} is saved as {expected}, got {path.name}")
    path.parent.mkdir(parents=True, exist_ok=True)
    meta = {"kind": classifier.kind, "classes": list(classifier.classes), "letter_size": classifier.letter_size}
    # The model is renamed into place first, then its metadata (the inner block ends first).
    with written_atomically(_metadata_path(path)) as meta_tmp, written_atomically(path, expected) as tmp:
        if classifier.kind == "forest":
            import skops.io

            skops.io.dump(classifier.model, tmp, compression=8)  # zipfile.ZIP_DEFLATED
        else:
            classifier.model.save(tmp)
        meta_tmp.write_text(json.dumps(meta, indent=1), encoding="utf-8")
    return path


def load_forest_safely(path: Path, *, source: Path | None = None) -> Any:
    """Load a skops file only if it holds nothing but the types a random forest is made of.

    ``source``: the file to name in errors (when ``path`` was unpacked from it).
    """
    import skops.io

    untrusted = set(skops.io.get_untrusted_types(file=path))
    if untrusted - TRUSTED_FOREST_TYPES:
        raise ModelFileError(f"{source or path} contains types a random forest never needs "
                             f"({', '.join(sorted(untrusted - TRUSTED_FOREST_TYPES))}); "
                             "refusing to load it — only load models from sources you trust")
    return skops.io.load(path, trusted=sorted(untrusted))


def load_classifier(path: Path) -> LetterClassifier:
    """Load a classifier saved by :func:`save_classifier`, refusing anything unsafe.

    Keras models load in safe mode (no arbitrary code); a forest loads only if
    it contains nothing but the scikit-learn types a forest is made of.
    Raises :class:`ModelFileError` with what to do when the file is missing,
    damaged or untrusted.
    """
    path = Path(path)
    if not path.is_file():
        raise ModelFileError(f"model file {path} does not exist; train it with notebook 02 (forest) or "
                             "03 (CNN), or pass the path of a saved model")
    meta_path = _metadata_path(path)
    try:
        meta = json.loads(meta_path.read_text(encoding="utf-8"))
        kind, classes, size = meta["kind"], tuple(meta["classes"]), int(meta["letter_size"])
    except FileNotFoundError:
        raise ModelFileError(f"{meta_path.name} (the model's classes) is missing next to {path}; "
                             "save models with helpers.models.save_classifier") from None
    except (ValueError, KeyError, TypeError) as exc:
        raise ModelFileError(f"{meta_path} is damaged ({exc}); save the model again") from None
    if kind not in KINDS:
        raise ModelFileError(f"{meta_path} names an unknown model kind {kind!r}")
    if size < 1:
        raise ModelFileError(f"{meta_path} gives a letter size of {size}; save the model again")
    try:
        if kind == "forest":
            model = load_forest_safely(path)
            model_classes = tuple(str(c) for c in model.classes_)
            model_inputs = int(getattr(model, "n_features_in_", size * size))
            if model_inputs != size * size:
                raise ModelFileError(f"{path} reads {model_inputs} pixels per letter but {meta_path.name} says "
                                     f"{size}x{size}; the two files do not belong together")
        else:
            keras = import_keras()

            model = keras.models.load_model(path, safe_mode=True)
            model_classes = classes
            outputs = model.output_shape[-1]
            if tuple(model.input_shape[1:3]) != (size, size):
                raise ModelFileError(f"{path} reads {model.input_shape[1]}x{model.input_shape[2]} letters but "
                                     f"{meta_path.name} says {size}x{size}; the two files do not belong together")
            if outputs != len(classes):
                raise ModelFileError(f"{path} predicts {outputs} classes but {meta_path.name} lists "
                                     f"{len(classes)}; the two files do not belong together")
    except ModelFileError:
        raise
    except Exception as exc:  # a damaged zip, wrong format, unknown layer…
        raise ModelFileError(f"could not load {path}: {type(exc).__name__}: {exc}. "
                             "The file may be damaged or from another version; train and save it again") from None
    if model_classes != classes:
        raise ModelFileError(f"{path} predicts classes {''.join(model_classes)} but {meta_path.name} lists "
                             f"{''.join(classes)}; the two files do not belong together")
    return LetterClassifier(kind, model, classes, size)
