"""Training the course's letter classifiers with the recipes of chapters 2 and 3.

Notebooks 02 and 03 train step by step, in the open; ``captcha-lab benchmark``
calls these functions to run the same recipes on any captcha set.
"""

from __future__ import annotations

import time

import numpy as np

from helpers.backend import import_keras
from helpers.datasets import LetterSet
from helpers.models import LetterClassifier, as_features, as_tensor

MODEL_NAMES = ("rf", "cnn", "cnn-original", "ctc")
LETTER_MODELS = ("rf", "cnn", "cnn-original")  # the models that read one cut-out letter at a time
# Letter images seen per CNN training run; larger sets get fewer epochs.
CNN_SAMPLE_BUDGET = 120_000


def _epochs(n_letters: int, most: int, least: int = 3) -> int:
    return int(np.clip(round(CNN_SAMPLE_BUDGET / max(n_letters, 1)), least, most))


def train_forest(train: LetterSet, *, seed: int, trees: int = 100) -> LetterClassifier:
    """Chapter 2's random forest on flat pixels. ``train.images``: (N, S, S) uint8."""
    from sklearn.ensemble import RandomForestClassifier

    forest = RandomForestClassifier(n_estimators=trees, n_jobs=-1, random_state=seed)
    forest.fit(as_features(train.images), train.labels)
    return LetterClassifier("forest", forest, tuple(str(c) for c in forest.classes_), train.images.shape[1])


def train_cnn(train: LetterSet, validation: LetterSet | None, *, seed: int, original: bool = False,
              epochs: int | None = None) -> LetterClassifier:
    """Chapter 3's CNN (``original=True``: the 2019 architecture with Flatten added).

    The improved network uses a cosine learning-rate schedule and, when
    validation letters are given, early stopping on validation loss. Without
    ``epochs``, the count shrinks as the data grows (at least 3).
    """
    keras = import_keras()

    classes = tuple(sorted(set(train.labels.tolist())))
    index = {c: k for k, c in enumerate(classes)}
    size = train.images.shape[1]

    def onehot(labels: np.ndarray) -> np.ndarray:
        return keras.utils.to_categorical([index[c] for c in labels], len(classes)).astype(np.float32)

    keras.backend.clear_session()
    from helpers.models import build_improved_cnn, build_original_cnn, seed_everything

    seed_everything(seed)
    val_data = None
    if validation is not None and len(validation):
        known = np.isin(validation.labels, classes)
        val_data = (as_tensor(validation.images[known]), onehot(validation.labels[known]))
    if original:
        model = build_original_cnn(len(classes), size)
        epochs = epochs or _epochs(len(train), most=10)
        model.compile(optimizer="adam", loss="categorical_crossentropy", metrics=["accuracy"])
        model.fit(as_tensor(train.images), onehot(train.labels), epochs=epochs, batch_size=32,
                  validation_data=val_data, verbose=0)
    else:
        model = build_improved_cnn(len(classes), size, seed=seed, dropout=0.2, augment=False)
        epochs = epochs or _epochs(len(train), most=12)
        steps = int(np.ceil(len(train) / 64)) * epochs
        schedule = keras.optimizers.schedules.CosineDecay(initial_learning_rate=0.003, decay_steps=steps)
        model.compile(optimizer=keras.optimizers.Adam(schedule), loss="categorical_crossentropy",
                      metrics=["accuracy"])
        callbacks = []
        if val_data is not None:
            callbacks.append(keras.callbacks.EarlyStopping(monitor="val_loss", patience=3, restore_best_weights=True))
        model.fit(as_tensor(train.images), onehot(train.labels), epochs=epochs, batch_size=64,
                  validation_data=val_data, callbacks=callbacks, verbose=0)
    return LetterClassifier("cnn", model, classes, size)


def train_named(name: str, train: LetterSet, validation: LetterSet | None, *, seed: int) -> tuple[LetterClassifier, float]:
    """Train the model called ``name`` (one of MODEL_NAMES); returns it and the seconds it took."""
    start = time.perf_counter()
    if name == "rf":
        model = train_forest(train, seed=seed)
    elif name in ("cnn", "cnn-original"):
        model = train_cnn(train, validation, seed=seed, original=name == "cnn-original")
    else:
        raise ValueError(f"unknown model {name!r}; choose from {', '.join(MODEL_NAMES)}")
    return model, time.perf_counter() - start
