"""Training the course's readers with the recipes of its chapters.

Notebooks 02 and 03 train the letter classifiers step by step, in the open;
these functions run the same recipes on any captcha set. :func:`train_reader`
trains any reader from labelled captchas (``captcha-lab train`` and
``benchmark`` call it): a letter classifier on cut letters, or a CTC reader
of whole captchas as chapter 5 builds one (``ctc.build_crnn``, from scratch, or
fine-tuned from a pretrained one with :func:`helpers.transfer.fine_tune`).
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

import numpy as np

from helpers.backend import import_keras
from helpers.datasets import LetterSet
from helpers.models import LetterClassifier, as_features, as_tensor
from helpers.reader import KINDS, LETTER_KINDS

if TYPE_CHECKING:
    from helpers.readers import Reader

MODEL_NAMES = KINDS  # every kind of reader train_reader trains
LETTER_MODELS = LETTER_KINDS  # the models that read one cut-out letter at a time
COLOUR_MODELS = ("cnn", "ctc")  # the models that can read captchas in colour (``colour=True``)
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


def compile_letter_model(model: Any, optimizer: Any) -> None:
    """Compile a letter CNN for training, with the optimizer's variables created now.

    As for the CTC reader (:func:`helpers.ctc.compile_reader`), variables created
    inside the first traced training step make TensorFlow trace it twice. That
    includes a metric's counters, so none is compiled: nothing here reads them.
    """
    model.compile(optimizer=optimizer, loss="categorical_crossentropy")
    model.optimizer.build(model.trainable_variables)


def train_cnn(train: LetterSet, validation: LetterSet | None, *, seed: int, original: bool = False,
              epochs: int | None = None) -> LetterClassifier:
    """Chapter 3's CNN (``original=True``: the 2019 architecture with Flatten added).

    ``train.images``: (N, S, S) gray letters, or (N, S, S, 3) colour ones for a
    network that reads colour (the improved one only).

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
        compile_letter_model(model, "adam")
        model.fit(as_tensor(train.images), onehot(train.labels), epochs=epochs, batch_size=32,
                  validation_data=val_data, verbose=0)
    else:
        model = build_improved_cnn(len(classes), size, seed=seed, dropout=0.2, augment=False,
                                   channels=3 if train.images.ndim == 4 else 1)
        epochs = epochs or _epochs(len(train), most=12)
        steps = int(np.ceil(len(train) / 64)) * epochs
        schedule = keras.optimizers.schedules.CosineDecay(initial_learning_rate=0.003, decay_steps=steps)
        compile_letter_model(model, keras.optimizers.Adam(schedule))
        callbacks = []
        if val_data is not None:
            callbacks.append(keras.callbacks.EarlyStopping(monitor="val_loss", patience=3, restore_best_weights=True))
        model.fit(as_tensor(train.images), onehot(train.labels), epochs=epochs, batch_size=64,
                  validation_data=val_data, callbacks=callbacks, verbose=0)
    return LetterClassifier("cnn", model, classes, size)


def train_named(name: str, train: LetterSet, validation: LetterSet | None, *, seed: int,
                epochs: int | None = None) -> tuple[LetterClassifier, float]:
    """Train the model called ``name`` (one of MODEL_NAMES); returns it and the seconds it took.

    ``epochs``: the most epochs for the CNNs (default: chosen from the number of letters).
    """
    start = time.perf_counter()
    if name == "rf":
        model = train_forest(train, seed=seed)
    elif name in ("cnn", "cnn-original"):
        model = train_cnn(train, validation, seed=seed, original=name == "cnn-original", epochs=epochs)
    else:
        raise ValueError(f"unknown model {name!r}; choose from {', '.join(MODEL_NAMES)}")
    return model, time.perf_counter() - start


# --------------------------------------------------------------------------- whole readers

# The CTC reader's recipe (input height, pixels per time step, schedule, epochs) lives beside the
# model in helpers.ctc; train_reader below applies it.
LETTER_SIZE = 60


def several_lengths_note(kind: str, labels: "Sequence[str]") -> str:
    """What a letter model does with labels of several lengths ("" for one length or the CTC reader)."""
    lengths = sorted({len(label) for label in labels})
    if kind not in LETTER_MODELS or len(lengths) < 2:
        return ""
    return (f"labels of {', '.join(map(str, lengths))} characters: the {kind} model cuts each captcha into as "
            "many letters as segmentation finds, when that is one of these lengths (letters that touch are "
            "split only towards one of them); --model ctc reads any length without cutting")


def _epoch_printer(report, epochs: int):
    keras = import_keras()

    class EpochLine(keras.callbacks.Callback):
        done = 0  # counted here: fine-tuning calls fit twice with the same printer

        def on_epoch_begin(self, epoch, logs=None):
            self.start = time.perf_counter()

        def on_epoch_end(self, epoch, logs=None):
            logs = logs or {}
            self.done += 1
            exact = logs.get("val_exact")
            report(f"epoch {self.done}/{epochs}: loss {logs.get('loss', float('nan')):.3f}, validation loss "
                   f"{logs.get('val_loss', float('nan')):.3f}"
                   + (f", {100 * exact:.1f} % exact" if exact is not None else "")
                   + f" ({time.perf_counter() - self.start:.0f} s)")

    return EpochLine()


def train_reader(kind: str, train: "tuple[list[np.ndarray], list[str]]",
                 validation: "tuple[list[np.ndarray], list[str]]", *, seed: int, alphabet: str | None = None,
                 epochs: int | None = None, letters: "tuple[LetterSet, LetterSet] | None" = None,
                 report=lambda _: None, init: "Reader | None" = None, height: int | None = None,
                 step_width: int | None = None, colour: bool = False) -> "Reader":
    """Train a whole-captcha reader of ``kind`` (rf, cnn, cnn-original or ctc) and score it on ``validation``.

    ``train``/``validation``: (images, labels) with (H, W) or (H, W, 3) uint8
    images. Letter models cut the training captchas into letters (with
    labels of several lengths, reading lets segmentation count the letters:
    :func:`several_lengths_note`); the CTC reader learns from whole captchas of any
    lengths and widths. ``validation`` decides early stopping, its exact
    and character accuracy go into the reader's ``info["validation"]``, and the
    map from the reader's confidence to the chance an answer is right is
    learned on it (``info["calibration"]``, :mod:`helpers.calibration`).
    ``letters``: (balanced training letters, validation letters) already cut
    from these captchas, for letter models (the benchmark cuts once for all).
    ``report`` receives progress lines (one per epoch for the networks).
    ``init``: a pretrained CTC reader (``kind`` "ctc" only) to fine-tune
    (:func:`helpers.transfer.fine_tune`; ``epochs`` then counts the epochs
    after the frozen ones) instead of training from scratch.
    ``height``, ``step_width``: input height and pixels per time step of a CTC
    reader trained from scratch (default ``ctc.CTC_HEIGHT`` and ``ctc.CTC_STEP_WIDTH``;
    a fine-tuned reader keeps those of ``init``). ``colour``: the network reads
    RGB instead of gray (pass the captchas in colour, e.g.
    ``load_captchas(colour=True)``); the saved reader remembers it. A gray
    ``init`` then learns colour input (:func:`helpers.transfer.to_colour`).
    """
    from helpers.errors import CaptchaDataError
    from helpers.evaluation import exact_match, letter_accuracy
    from helpers.readers import Reader

    if kind not in MODEL_NAMES:
        raise CaptchaDataError(f"unknown model kind {kind!r}; choose from {', '.join(MODEL_NAMES)}")
    if colour and kind not in COLOUR_MODELS:
        raise CaptchaDataError(f"the {kind} model reads gray letters only; colour input is for "
                               f"{' and '.join(COLOUR_MODELS)}")
    if init is not None and init.channels == 3 and not colour:
        raise CaptchaDataError("the pretrained reader reads colour captchas: fine-tune it on colour input "
                               "(load the captchas in colour and pass colour=True)")
    labels = list(train[1]) + list(validation[1])
    alphabet = alphabet or "".join(sorted(set("".join(labels))))
    start = time.perf_counter()
    exact_per_epoch: list[float] = []  # a CTC reader's validation exact match, epochs up to the first above 0
    if init is not None:
        if kind != "ctc" or init.cuts_letters:
            raise CaptchaDataError(f"only a CTC reader can start from a pretrained one (asked: {kind} from {init.kind})")
        from helpers.transfer import FINE_TUNE_EPOCHS, FROZEN_EPOCHS, fine_tune, map_alphabets, to_colour

        epochs = epochs or FINE_TUNE_EPOCHS
        planned = map_alphabets(init.alphabet, alphabet)
        report(f"alphabet: {len(planned.kept)} characters the pretrained reader knows"
               + (f", {len(planned.new)} new ({planned.new})" if planned.new else "")
               + (f"; {len(planned.dropped)} of its characters dropped" if planned.dropped else ""))
        start_model = init.model
        if colour and init.channels == 1:
            start_model = to_colour(init.model)
            report("colour: the gray pretrained reader now sees red, green and blue, weighted as in gray; "
                   "fine-tuning learns from the colours")
        model, history, mapping = fine_tune(start_model, train, validation, alphabet=alphabet, seed=seed,
                                            epochs=epochs,
                                            callbacks=[_epoch_printer(report, FROZEN_EPOCHS + epochs)])
        reader = Reader("ctc", model, {"init": {
            "pretraining": init.info.get("pretraining"), "kept": mapping.kept, "new": mapping.new,
            "dropped": mapping.dropped}})
        trained_epochs = len(history["loss"])
        exact_per_epoch = history["val_exact"]
    elif kind == "ctc":
        from helpers import ctc
        from helpers.models import seed_everything

        keras = import_keras()
        keras.backend.clear_session()
        seed_everything(seed)
        epochs = epochs or ctc.ctc_epochs(len(train[1]))
        # The schedule needs its whole length to settle: patience is long, early stopping rare.
        model, history = ctc.train_crnn(*train, *validation, alphabet=alphabet, seed=seed, epochs=epochs,
                                        patience=max(6, epochs // 4), height=height or ctc.CTC_HEIGHT,
                                        keep_aspect=True, crop_text=True, step_width=step_width or ctc.CTC_STEP_WIDTH,
                                        schedule=ctc.CTC_SCHEDULE, learning_rate=ctc.CTC_LEARNING_RATE,
                                        channels=3 if colour else 1,
                                        callbacks=[_epoch_printer(report, epochs)])
        reader = Reader("ctc", model)
        trained_epochs = len(history.history["loss"])
        exact_per_epoch = history.history.get("val_exact", [])
    else:
        if letters is None:
            letters = cut_letters(train, validation, seed=seed, report=report, colour=colour)
        balanced, val_letters = letters
        classifier, _ = train_named(kind, balanced, val_letters, seed=seed, epochs=epochs)
        reader = Reader(kind, classifier, {"lengths": sorted({len(label) for label in labels})})
        trained_epochs = None
    seconds = time.perf_counter() - start
    if exact_per_epoch:
        from helpers.ctc import plateau_note

        note = plateau_note(exact_per_epoch)
        if note:
            report(note)
    from helpers.calibration import calibrate_reader

    solutions = reader.read(validation[0])
    texts = [s.text for s in solutions]
    reader.info.update({
        "lengths": sorted({len(label) for label in labels}),
        "training": {"seconds": round(seconds, 1), "epochs": trained_epochs, "seed": seed,
                     **({"left_plateau": next((k + 1 for k, share in enumerate(exact_per_epoch) if share > 0), None)}
                        if exact_per_epoch else {})},
        "validation": {"captchas": len(texts), "exact": round(exact_match(texts, validation[1]), 4),
                       "characters": round(letter_accuracy(texts, validation[1]), 4)},
    })
    calibrate_reader(reader, solutions, validation[1])  # on the lengths just stored
    return reader


def cut_letters(train: "tuple[list[np.ndarray], list[str]]", validation: "tuple[list[np.ndarray], list[str]]", *,
                seed: int, report=lambda _: None, colour: bool = False) -> "tuple[LetterSet, LetterSet]":
    """Cut training and validation captchas into letters: (balanced training letters, validation letters),
    in colour with ``colour``."""
    from helpers.errors import CaptchaDataError
    from helpers.datasets import balance, extract_letters

    train_letters, cuts = extract_letters(*train, size=LETTER_SIZE, colour=colour)
    val_letters, _ = extract_letters(*validation, size=LETTER_SIZE, colour=colour)
    if len(train_letters) == 0:
        raise CaptchaDataError("no training captcha could be cut into letters; segmentation does not work "
                               "on this captcha style, but a CTC reader (kind ctc) reads without cutting")
    balanced = balance(train_letters, seed=seed)
    report(f"training letters: {len(train_letters)} from {sum(c.ok for c in cuts)} captchas "
           f"({len(balanced)} after balancing)")
    return balanced, val_letters
