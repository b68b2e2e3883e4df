"""Read a whole captcha at once: a CNN + RNN trained with CTC, no segmentation.

The model looks at the captcha as a sequence of narrow vertical slices
("time steps", left to right). For every slice it outputs the probability of
each character and of an extra *blank* symbol. CTC (Connectionist Temporal
Classification) trains this without telling the model where each character
is: it sums over every way of spreading the label over the slices. Reading
the answer back ("greedy decoding") takes the most likely symbol per slice,
merges repeats and drops the blanks: ``A A - A B B`` -> ``AAB`` (``-`` = blank).

Conventions used throughout this module:

* class index 0 is the CTC blank; character ``alphabet[k]`` has index k + 1,
  so a model for an alphabet of n characters has n + 1 outputs per time step;
* encoded labels are padded with 0 (the blank, never a real character), so a
  label's length is the number of non-zero entries in its row;
* model input: (B, height, width, 1) float32 gray in [0, 1] (white = 1);
  output: (B, T, n + 1) float32 probabilities with T = ``time_steps(width)``.

The alphabet travels inside the saved model (in the config of the final
``CTCSoftmax`` layer), so a loaded model decodes without extra arguments.
Import this module before ``keras.models.load_model`` so Keras knows the
custom layer and loss, or use :func:`load_crnn`.

What needs no Keras (the codec, preparing images, reading in groups of equal
width, greedy decoding with confidences) lives in :mod:`helpers.ctc_reading`,
so a reader exported to ONNX reads without TensorFlow; this module imports
those names too (``ctc.CharCodec``, ``ctc.prepare_images``, …).

Reproducibility: call ``keras.utils.set_random_seed(seed)`` and
``tf.config.experimental.enable_op_determinism()`` before building a model;
everything random here (augmentation, dropout, shuffling) is then seeded.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from helpers.backend import import_keras
from helpers.ctc_reading import (  # noqa: F401  (re-exported: ctc.CharCodec, ctc.prepare_images, …)
    BLANK, PAD, POOLED_WIDTH_FACTOR, WIDTH_QUANTUM, CharCodec, ReaderInput, _gray, _scale, crop_to_text,
    greedy_readings, kept_width, prepare_images, read_probabilities, steps_needed, suggest_width, time_steps,
)
from helpers.evaluation import exact_match  # noqa: F401  (re-exported as ctc.exact_match, as chapter 5 uses it)

keras = import_keras()  # before anything else imports TensorFlow: quiet, with oneDNN kernels
from keras import layers, ops  # noqa: E402

__all__ = [
    "CTC_HEIGHT",
    "CTC_LEARNING_RATE",
    "CTC_MOST_EPOCHS",
    "CTC_SAMPLE_BUDGET",
    "CTC_SCHEDULE",
    "CTC_STEP_WIDTH",
    "ctc_epochs",
    "BLANK",
    "PAD",
    "POOLED_WIDTH_FACTOR",
    "CTCLoss",
    "CTCSoftmax",
    "CharCodec",
    "build_crnn",
    "codec_from_model",
    "decode_predictions",
    "greedy_readings",
    "kept_width",
    "learning_rate_schedule",
    "step_width_of",
    "steps_needed",
    "augmentation",
    "exact_match",
    "crop_to_text",
    "crops_text",
    "input_size",
    "load_crnn",
    "predict_labels",
    "predict_probabilities",
    "reader_input",
    "ReaderInput",
    "read_probabilities",
    "prepare_images",
    "save_crnn",
    "suggest_width",
    "time_steps",
    "train_crnn",
    "training_data",
    "TrainingData",
]

PACKAGE = "learning_captchas"
"""Name under which the custom layer and loss are registered with Keras."""

_EPSILON = 1e-7

SCHEDULES: tuple[str, ...] = ("steps", "cosine", "warmup-cosine", "plateau", "constant")
"""Learning-rate schedules ``train_crnn`` knows."""

WARMUP_SHARE: float = 0.08
"""Share of the training steps over which "warmup-cosine" raises the learning rate to its peak."""

# The CTC reader as captcha-lab trains it (helpers.training.train_reader) and pretrains it
# (helpers.transfer.pretrain): every captcha cut down to its text, resized to CTC_HEIGHT pixels with
# its aspect ratio kept, CTC_STEP_WIDTH px per time step (room for doubled letters); the learning
# rate warms up to CTC_LEARNING_RATE, then falls along a cosine (CTC_SCHEDULE). Small sets get more
# epochs (at most CTC_MOST_EPOCHS), large ones fewer: about CTC_SAMPLE_BUDGET captchas seen.
CTC_HEIGHT: int = 48
CTC_STEP_WIDTH: int = 4
CTC_LEARNING_RATE: float = 2e-3
CTC_SCHEDULE: str = "warmup-cosine"
CTC_SAMPLE_BUDGET: int = 48_000
CTC_MOST_EPOCHS: int = 120


def ctc_epochs(n_train: int) -> int:
    """Most epochs for a CTC reader trained on ``n_train`` captchas (12 to CTC_MOST_EPOCHS)."""
    return int(np.clip(round(CTC_SAMPLE_BUDGET / max(n_train, 1)), 12, CTC_MOST_EPOCHS))


# --------------------------------------------------------------------------- custom layer and loss


@keras.saving.register_keras_serializable(package=PACKAGE)
class CTCSoftmax(layers.Layer):
    """Softmax over the last axis that also remembers how the model reads.

    Input (B, T, len(alphabet) + 1) logits, output the same shape of
    probabilities (class 0 = blank). ``alphabet`` and ``crop_text`` (whether
    captchas are cut down to their text before they are resized, see
    :func:`crop_to_text`) are saved in the layer config, so a loaded model
    decodes and prepares its input on its own (:func:`codec_from_model`,
    :func:`crops_text`).
    """

    def __init__(self, alphabet: str = "", crop_text: bool = False, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.alphabet = str(alphabet)
        self.crop_text = bool(crop_text)

    def call(self, inputs: Any) -> Any:
        return ops.softmax(inputs, axis=-1)

    def compute_output_shape(self, input_shape: tuple) -> tuple:
        return input_shape

    def get_config(self) -> dict[str, Any]:
        return {**super().get_config(), "alphabet": self.alphabet, "crop_text": self.crop_text}


@keras.saving.register_keras_serializable(package=PACKAGE)
class CTCLoss(keras.losses.Loss):
    """CTC loss for models that output per-time-step *probabilities* (blank = class 0).

    ``y_true``: (B, L) integer labels padded with ``PAD`` (0); the length of
    each label is its count of non-zero entries, so one batch may mix lengths.
    ``y_pred``: (B, T, C) softmax output. Returns the mean negative
    log-likelihood of the labels over the batch.
    """

    def __init__(self, name: str = "ctc_loss", **kwargs: Any) -> None:
        super().__init__(name=name, **kwargs)

    def call(self, y_true: Any, y_pred: Any) -> Any:
        labels = ops.cast(y_true, "int32")
        label_length = ops.sum(ops.cast(ops.not_equal(labels, PAD), "int32"), axis=-1)
        shape = ops.shape(y_pred)
        logit_length = ops.full((shape[0],), shape[1], dtype="int32")
        # log(p) works as logits: log-softmax(log p) = log p when p sums to 1.
        log_probs = ops.log(ops.clip(y_pred, _EPSILON, 1.0))
        return ops.ctc_loss(labels, log_probs, label_length, logit_length, mask_index=BLANK)


# --------------------------------------------------------------------------- model


def augmentation(seed: int, strength: float = 1.0) -> keras.Sequential:
    """Small random changes of whole captchas, active only during ``fit``.

    Shifts of up to 4 % of the width / 8 % of the height, rotations of up to
    about 2.5 degrees, zooms of up to 8 % and contrast changes of up to 30 %;
    empty borders repeat the nearest pixel. Input and output (B, H, W, 1)
    float32 in [0, 1].
    """
    s = float(strength)
    return keras.Sequential([
        layers.RandomTranslation(0.08 * s, 0.04 * s, fill_mode="nearest", seed=seed),
        layers.RandomRotation(0.007 * s, fill_mode="nearest", seed=seed + 1),
        layers.RandomZoom(0.08 * s, 0.08 * s, fill_mode="nearest", seed=seed + 2),
        layers.RandomContrast(0.3 * s, value_range=(0.0, 1.0), seed=seed + 3),
    ], name="augmentation")


def build_crnn(height: int, width: int | None, n_symbols: int, *, alphabet: str | None = None,
               filters: Sequence[int] = (16, 32, 64), rnn_units: Sequence[int] = (128, 128),
               rnn: str = "gru", dense_units: int = 256, dropout: float = 0.2, step_width: int = POOLED_WIDTH_FACTOR,
               augment: bool = True, augment_strength: float = 1.0, seed: int = 0, crop_text: bool = False,
               shortcut: bool = False, clipnorm: float | None = None, channels: int = 1,
               learning_rate: float | keras.optimizers.schedules.LearningRateSchedule = 1e-3) -> keras.Model:
    """A compiled CNN + bidirectional RNN for CTC.

    Layout: optional augmentation -> conv blocks (3x3 conv, ReLU, max
    pooling that halves the height, and the width too until it has shrunk by
    ``step_width``; from the second block on with batch norm) -> each column
    of the feature map becomes one of T = width // step_width time steps ->
    dense + dropout -> one bidirectional GRU or LSTM per entry of
    ``rnn_units`` -> dense logits -> ``CTCSoftmax``.

    Args:
        height, width: input size in pixels (at least 16 high and 8 per
            time step wide). ``width=None`` builds a model for images of any
            width (resized to ``height`` with their aspect ratio kept, see
            :func:`prepare_images`); its number of time steps follows the width.
        n_symbols: characters in the alphabet (without the blank).
        alphabet: stored in the model so that it decodes on its own; must have
            ``n_symbols`` characters. Without it, pass a codec to the predict
            functions.
        filters: channels of each conv block (at least three blocks).
        rnn_units: units per direction of each recurrent layer.
        rnn: "gru" or "lstm".
        dense_units: features per time step fed to the recurrent layers.
        dropout: dropout rate before the recurrent layers (0 = none).
        step_width: pixels of input width per time step: 8, or 4 for twice as
            many steps (helps with doubled letters such as "77", which CTC
            must separate by a blank).
        augment: add the ``augmentation`` layers (they do nothing at inference).
        augment_strength: scales every augmentation range.
        seed: seeds augmentation and dropout.
        crop_text: remember that this model reads captchas cut down to their
            text (:func:`crop_to_text`); the predict functions then cut them.
        channels: 1 reads gray captchas, 3 reads them in colour (RGB).
        learning_rate: Adam's learning rate (a number or a Keras schedule).

    Returns:
        A model compiled with ``CTCLoss``; input (B, height, width, channels) float32
        in [0, 1], output (B, width // step_width, n_symbols + 1) probabilities.
    """
    if alphabet is not None and len(alphabet) != n_symbols:
        raise ValueError(f"alphabet {alphabet!r} has {len(alphabet)} characters but n_symbols={n_symbols}")
    if n_symbols < 1:
        raise ValueError(f"n_symbols must be at least 1, got {n_symbols}")
    if len(filters) < 3:
        raise ValueError(f"filters needs at least three conv blocks, got {tuple(filters)}")
    if rnn not in ("gru", "lstm"):
        raise ValueError(f"rnn must be 'gru' or 'lstm', got {rnn!r}")
    width_pools = {2: 1, 4: 2, 8: 3}.get(int(step_width))
    if width_pools is None:
        raise ValueError(f"step_width must be 2, 4 or 8 pixels, got {step_width}")
    min_height = max(16, 2 ** len(filters))
    if height < min_height or (width is not None and width < 2 * step_width):
        raise ValueError(f"input {width}x{height} is too small: use at least {min_height} pixels high and "
                         f"{2 * step_width} wide (e.g. 32 high)")

    if channels not in (1, 3):
        raise ValueError(f"channels must be 1 (gray) or 3 (colour), got {channels}")
    inputs = keras.Input((height, width, channels), name="image")
    x = augmentation(seed, augment_strength)(inputs) if augment else inputs
    for i, n in enumerate(filters):
        if i == 0:
            # No batch norm at full resolution: there it costs as much as the convolution.
            x = layers.Conv2D(n, 3, padding="same", activation="relu", name="conv1")(x)
        else:
            x = layers.Conv2D(n, 3, padding="same", use_bias=False, name=f"conv{i + 1}")(x)
            # momentum 0.9: the running statistics keep up with the fast early training steps,
            # so the validation loss (computed with them) is meaningful from the first epochs.
            x = layers.BatchNormalization(momentum=0.9, name=f"bn{i + 1}")(x)
            x = layers.Activation("relu", name=f"relu{i + 1}")(x)
        x = layers.MaxPooling2D((2, 2) if i < width_pools else (2, 1), name=f"pool{i + 1}")(x)
    # (B, H', W', C) -> (B, W', H' * C): each column of the feature map is one time step.
    _, h, w, c = x.shape  # w is None for a model of any width
    x = layers.Permute((2, 1, 3), name="columns_first")(x)
    x = layers.Reshape((-1 if w is None else w, h * c), name="to_sequence")(x)
    x = layers.Dense(dense_units, activation="relu", name="column_features")(x)
    if dropout:
        x = layers.Dropout(dropout, seed=seed + 10, name="dropout")(x)
    features = x
    cell = layers.GRU if rnn == "gru" else layers.LSTM
    for i, units in enumerate(rnn_units):
        x = layers.Bidirectional(cell(units, return_sequences=True, seed=seed + 20 + i),
                                 name=f"bi_{rnn}{i + 1}")(x)
    if shortcut:
        x = layers.Concatenate(name="shortcut")([features, x])
    logits = layers.Dense(n_symbols + 1, name="logits")(x)
    outputs = CTCSoftmax(alphabet or "", crop_text=crop_text, name="ctc_softmax")(logits)
    model = keras.Model(inputs, outputs, name="crnn_ctc")
    compile_reader(model, learning_rate, clipnorm=clipnorm)
    return model


def compile_reader(model: keras.Model, learning_rate: float | keras.optimizers.schedules.LearningRateSchedule,
                   *, clipnorm: float | None = None) -> None:
    """Compile a CTC model for training with Adam and ``CTCLoss``, and create Adam's variables now.

    Left to Keras, Adam's running averages are created inside the first traced
    training step, and TensorFlow then traces that step a second time, without
    creating them. Created here, for the weights that are trainable now, the
    step is traced once: the same computation, a few seconds sooner at the start
    of every training run. Compile again after changing which layers train.
    """
    model.compile(optimizer=keras.optimizers.Adam(learning_rate, clipnorm=clipnorm), loss=CTCLoss())
    model.optimizer.build(model.trainable_variables)


def codec_from_model(model: keras.Model) -> CharCodec:
    """The ``CharCodec`` stored in a model built by ``build_crnn`` (its ``CTCSoftmax`` layer)."""
    for layer in reversed(model.layers):
        if isinstance(layer, CTCSoftmax):
            if not layer.alphabet:
                raise ValueError("this model was built without an alphabet; pass codec=CharCodec(alphabet) "
                                 "or rebuild it with build_crnn(..., alphabet=...)")
            return CharCodec(layer.alphabet)
    raise ValueError(f"model {model.name!r} has no CTCSoftmax layer, so it stores no alphabet; "
                     "pass codec=CharCodec(alphabet) explicitly")


def crops_text(model: keras.Model) -> bool:
    """Whether a model built by ``build_crnn`` reads captchas cut down to their text (:func:`crop_to_text`)."""
    return any(isinstance(layer, CTCSoftmax) and layer.crop_text for layer in model.layers)


def input_size(model: keras.Model) -> tuple[int, int | None]:
    """(height, width) of the images a model reads; width is None for a model of any width."""
    shape = model.input_shape
    if len(shape) != 4 or shape[1] is None or shape[3] not in (1, 3):
        raise ValueError(f"expected a model with input (B, height, width, 1 or 3), got {shape}")
    return int(shape[1]), None if shape[2] is None else int(shape[2])


def channels_of(model: keras.Model) -> int:
    """Input channels of a model built by ``build_crnn``: 1 (gray) or 3 (colour)."""
    return int(model.input_shape[3])


def step_width_of(model: keras.Model) -> int:
    """Pixels of input width per time step of a model built by ``build_crnn``."""
    pools = [layer for layer in model.layers if isinstance(layer, layers.MaxPooling2D)]
    return int(np.prod([layer.pool_size[1] for layer in pools])) if pools else POOLED_WIDTH_FACTOR


# --------------------------------------------------------------------------- decoding


def decode_predictions(probs: np.ndarray, codec: CharCodec) -> list[str]:
    """Greedy CTC decoding: best class per time step, merge repeats, drop blanks.

    Args:
        probs: (B, T, codec.n_classes) float probabilities (or logits: only the
            arg-max matters), class 0 = blank.
        codec: maps class indices to characters.

    Returns:
        B strings.
    """
    probs = np.asarray(probs, dtype=np.float32)
    if probs.ndim != 3 or probs.shape[2] != codec.n_classes:
        raise ValueError(f"expected probabilities of shape (B, T, {codec.n_classes}) for the "
                         f"{codec.n_symbols}-character alphabet, got {probs.shape}")
    if probs.shape[0] == 0:
        return []
    lengths = np.full((probs.shape[0],), probs.shape[1], dtype=np.int32)
    decoded, _ = ops.ctc_decode(probs, lengths, strategy="greedy", merge_repeated=True, mask_index=BLANK)
    best = ops.convert_to_numpy(decoded)[0]  # (B, T), -1 after the end of each text
    return [codec.decode(row) for row in best]


# --------------------------------------------------------------------------- training and use


def _width_buckets(widths: np.ndarray, batch_size: int, buckets: int = 6) -> list[int]:
    """Boundaries that share the kept widths (N,) between at most ``buckets`` groups of similar width."""
    if len(widths) < 2 * batch_size:
        return []
    edges = np.unique(np.quantile(widths, np.linspace(0, 1, buckets + 1)[1:-1]).astype(int) + 1)
    return [int(e) for e in edges if widths.min() < e <= widths.max()]


def _dataset(x: Sequence[np.ndarray], y: np.ndarray, batch_size: int, *, shuffle_seed: int | None) -> Any:
    """A ``tf.data`` pipeline of (images, labels) batches for ``fit``.

    ``x``: N float32 (height, W_i, C) images whose widths may differ; ``y``: (N, L)
    int32 padded labels. Images of similar width are batched together and
    padded with white to the widest of their batch, so a 140 px captcha is
    not padded to the 780 px of the widest one. With ``shuffle_seed``, the
    order is shuffled (seeded) on every pass.
    """
    import tensorflow as tf

    widths = np.array([image.shape[1] for image in x])
    if len(set(widths.tolist())) == 1:  # one width: plain batches of a fixed shape
        ds = tf.data.Dataset.from_tensor_slices((np.stack(x), y))
        if shuffle_seed is not None:
            ds = ds.shuffle(len(widths), seed=shuffle_seed, reshuffle_each_iteration=True)
        return ds.batch(batch_size).prefetch(2)
    columns = np.concatenate([image.transpose(1, 0, 2) for image in x])  # each image as W_i rows of (height, C)
    images = tf.RaggedTensor.from_row_lengths(columns, widths)
    ds = tf.data.Dataset.from_tensor_slices((images, y))
    if shuffle_seed is not None:
        ds = ds.shuffle(len(widths), seed=shuffle_seed, reshuffle_each_iteration=True)
    ds = ds.map(lambda image, label: (tf.transpose(image, (1, 0, 2)), label))
    boundaries = _width_buckets(widths, batch_size)
    if not boundaries:
        return ds.padded_batch(batch_size, padding_values=(1.0, PAD)).prefetch(2)
    if shuffle_seed is not None:
        # How many batches the buckets make changes from pass to pass: training repeats the
        # captchas endlessly and counts an epoch as len(x) / batch_size batches instead.
        ds = ds.repeat()
    ds = ds.bucket_by_sequence_length(
        lambda image, _: tf.shape(image)[1], boundaries, [batch_size] * (len(boundaries) + 1),
        padding_values=(1.0, PAD), drop_remainder=False)
    if shuffle_seed is None:  # the same batches on every pass: say how many, so Keras knows when a pass ends
        ds = ds.apply(tf.data.experimental.assert_cardinality(sum(1 for _ in ds)))
    return ds.prefetch(2)


class PlateauAwareStopping(keras.callbacks.EarlyStopping):
    """Early stopping on the validation loss that never gives up while the reader is still on the CTC plateau.

    A CTC reader starts by answering blank everywhere, and its loss can sit on
    that plateau for many epochs before it reads its first captcha; plain early
    stopping then ends training just before it would have learned. Here
    patience counts only from the first epoch in which at least one validation
    captcha is read exactly (``left_plateau``, counted from 0; None while on the
    plateau). The weights of the epoch with the lowest validation loss are kept.
    Until then, each epoch's exact-match share is added to the logs as ``val_exact``
    (reading the validation captchas once more costs time, so it stops there).

    Args:
        validation: the ``tf.data`` validation batches of (images, padded labels) that ``fit`` scores.
        codec: the model's alphabet.
        patience: epochs without a lower validation loss, after the plateau, before training stops.
    """

    def __init__(self, validation: Any, codec: CharCodec, patience: int) -> None:
        super().__init__(monitor="val_loss", patience=patience, restore_best_weights=True)
        self.validation, self.codec = validation, codec
        self.left_plateau: int | None = None

    def exact_share(self) -> float:
        """Share of the validation captchas the model reads exactly now (greedy decoding)."""
        right = total = 0
        for x, y in self.validation:
            # predict_on_batch runs the compiled graph; calling the model itself would run the recurrent
            # layers op by op in Python, several times slower than the training step it follows.
            texts = decode_predictions(np.asarray(self.model.predict_on_batch(x)), self.codec)
            truths = [self.codec.decode(row) for row in np.asarray(y)]
            right += sum(t == u for t, u in zip(texts, truths))
            total += len(truths)
        return right / max(total, 1)

    def on_train_begin(self, logs: dict | None = None) -> None:
        super().on_train_begin(logs)
        self.left_plateau = None

    def on_epoch_end(self, epoch: int, logs: dict | None = None) -> None:
        if self.left_plateau is None:  # once the reader reads, the validation loss alone decides
            exact = self.exact_share()
            if logs is not None:
                logs["val_exact"] = exact
            if exact > 0:
                self.left_plateau = epoch
        super().on_epoch_end(epoch, logs)
        if self.left_plateau is None:  # still on the plateau: patience has not started
            self.wait, self.stopped_epoch = 0, 0
            self.model.stop_training = False


def plateau_note(val_exact: Sequence[float]) -> str:
    """A line for the user when training ended on the plateau, from the ``val_exact`` of its epochs
    ("" when the reader read a validation captcha exactly in some epoch)."""
    if any(share > 0 for share in val_exact):
        return ""
    return (f"the reader did not read a single validation captcha exactly in {len(val_exact)} epochs: it is still "
            "on the CTC plateau (answering blanks). Train longer (--epochs), give it more labelled captchas, or "
            "start from a pretrained reader")


def learning_rate_schedule(schedule: str, learning_rate: float, steps: int) -> Any:
    """Adam's learning rate for ``schedule`` (see :func:`train_crnn`) over ``steps`` training steps.

    Returns ``learning_rate`` itself for "plateau" and "constant" (and for
    "steps" with fewer than 10 steps), else a Keras ``LearningRateSchedule``.
    """
    if schedule not in SCHEDULES:
        raise ValueError(f"schedule must be one of {', '.join(map(repr, SCHEDULES))}, got {schedule!r}")
    if schedule == "steps" and steps >= 10:
        return keras.optimizers.schedules.PiecewiseConstantDecay(
            [int(steps * f) for f in (0.5, 0.75, 0.9)], [learning_rate * f for f in (1.0, 1 / 3, 0.1, 1 / 30)])
    if schedule == "cosine":
        return keras.optimizers.schedules.CosineDecay(learning_rate, decay_steps=steps, alpha=0.02)
    if schedule == "warmup-cosine":
        warmup = max(1, int(steps * WARMUP_SHARE))
        return keras.optimizers.schedules.CosineDecay(learning_rate / 10, decay_steps=max(1, steps - warmup),
                                                      alpha=0.01, warmup_target=learning_rate,
                                                      warmup_steps=warmup)
    return learning_rate


@dataclass(frozen=True)
class TrainingData:
    """What ``fit`` needs: ``tf.data`` pipelines of (images, padded labels) batches and how to step through them.

    ``width``: the model's input width (None: any width). ``steps_per_epoch``:
    batches in one pass over the training captchas. ``fit_steps``: the value
    for ``fit(steps_per_epoch=...)`` (None when the pipeline ends by itself).
    """

    train: Any
    validation: Any
    width: int | None
    steps_per_epoch: int
    fit_steps: int | None


def training_data(train_images: Sequence[np.ndarray], train_labels: Sequence[str],
                  val_images: Sequence[np.ndarray], val_labels: Sequence[str], *, alphabet: str,
                  height: int, width: int | None = None, keep_aspect: bool = False, crop_text: bool = False,
                  step_width: int = POOLED_WIDTH_FACTOR, batch_size: int = 32, seed: int = 0,
                  channels: int = 1) -> TrainingData:
    """Check, cut, resize and encode captchas for a CTC model, as :func:`train_crnn` describes its arguments.

    Raises:
        ValueError: counts that do not match, an empty set, a label with a
            character outside ``alphabet``, or a captcha too narrow for its label.
    """
    if len(train_images) != len(train_labels) or len(val_images) != len(val_labels):
        raise ValueError(f"got {len(train_images)} training images for {len(train_labels)} labels and "
                         f"{len(val_images)} validation images for {len(val_labels)} labels")
    if not len(train_images) or not len(val_images):
        raise ValueError("both the training and the validation set need at least one captcha")
    codec = CharCodec(alphabet)
    if crop_text:
        train_images, val_images = crop_to_text(train_images), crop_to_text(val_images)
    max_len = max(len(label) for label in list(train_labels) + list(val_labels))
    if keep_aspect:
        width = None
        for image, label in zip(list(train_images) + list(val_images), list(train_labels) + list(val_labels)):
            steps_here = time_steps(kept_width(np.shape(image), height, step_width), step_width)
            if steps_here < steps_needed(label):
                raise ValueError(f"a {np.shape(image)[1]}x{np.shape(image)[0]} captcha labelled {label!r} gives only "
                                 f"{steps_here} time steps at height {height}; its label needs "
                                 f"{steps_needed(label)}: use a larger height or step_width=4")
    else:
        width = suggest_width(train_images, height) if width is None else int(width)
        most = max(steps_needed(label) for label in list(train_labels) + list(val_labels))
        if time_steps(width, step_width) < most:
            raise ValueError(f"labels that need {most} time steps need a wider input than {width} pixels "
                             f"({time_steps(width, step_width)} time steps); use width >= {step_width * most}")
    y_train, _ = codec.encode(train_labels, max_len)
    y_val, _ = codec.encode(val_labels, max_len)

    def scaled(images: Sequence[np.ndarray]) -> list[np.ndarray]:
        """(height, W, channels) float32 images; with ``keep_aspect``, padded as :func:`predict_probabilities` pads them."""
        out = []
        for image in images:
            x = prepare_images([image], height, width, step_width=step_width, channels=channels)[0]
            if keep_aspect:
                x = np.pad(x, ((0, 0), (0, -x.shape[1] % WIDTH_QUANTUM), (0, 0)), constant_values=1.0)
            out.append(x)
        return out

    # Seeded shuffling with tf.data: the order depends on `seed` only.
    train_ds = _dataset(scaled(train_images), y_train, batch_size, shuffle_seed=seed)
    val_ds = _dataset(scaled(val_images), y_val, max(batch_size, 64), shuffle_seed=None)
    repeats = train_ds.cardinality() == -1  # INFINITE_CARDINALITY: batches of similar width, endlessly
    steps = -(-len(train_images) // batch_size)
    return TrainingData(train_ds, val_ds, width, steps, steps if repeats else None)


def train_crnn(train_images: Sequence[np.ndarray], train_labels: Sequence[str],
               val_images: Sequence[np.ndarray], val_labels: Sequence[str], *,
               alphabet: str, epochs: int = 30, seed: int = 0, batch_size: int = 32,
               height: int = 40, width: int | None = None, keep_aspect: bool = False, crop_text: bool = False,
               patience: int = 6,
               learning_rate: float = 1e-3, schedule: str = "steps",
               callbacks: Sequence[Any] = (), verbose: int = 0,
               **model_options: Any) -> tuple[keras.Model, keras.callbacks.History]:
    """Build and train a CRNN with CTC; keep the weights with the lowest validation loss.

    Call ``keras.utils.set_random_seed(seed)`` and
    ``tf.config.experimental.enable_op_determinism()`` first for repeatable weights.

    Args:
        train_images, val_images: uint8 (H, W) gray or (H, W, 3) RGB arrays of any size.
        train_labels, val_labels: their texts; lengths may differ.
        alphabet: every character the labels may use (stored in the model).
        epochs: the most passes over the training set.
        seed: seeds augmentation, dropout and the shuffling order.
        height: input height in pixels; ``width`` defaults to ``suggest_width``.
        keep_aspect: build a model of any width instead: every captcha is
            resized to ``height`` with its aspect ratio kept, and captchas of
            similar width are batched together (``width`` is then ignored).
            The choice for sets whose widths differ, such as labels of 4 to 8
            characters drawn as wide as they need.
        crop_text: cut every captcha down to its text first (:func:`crop_to_text`),
            in training and, remembered by the model, whenever it reads: text
            in a small part of the image is then read at a larger scale.
        patience: stop after this many epochs without a lower validation loss, counted from the
            first epoch that reads a validation captcha exactly (:class:`PlateauAwareStopping`).
        learning_rate: Adam's starting learning rate.
        schedule: "steps" keeps ``learning_rate`` for the first half of the
            epochs, then divides it by 3, 10 and 30 after 50 %, 75 % and 90 % of
            them (early stopping may end training before the later steps); "cosine" lowers it smoothly to 2 % over
            ``epochs``; "warmup-cosine" rises from a tenth of it to ``learning_rate`` over the first
            ``WARMUP_SHARE`` of the steps, then falls smoothly to 1 % of it by the last; "plateau"
            halves it after 3 epochs without a lower validation loss;
            "constant" keeps it.
        callbacks: more Keras callbacks (a progress printer, say).
        verbose: Keras' progress output (0 = silent).
        model_options: passed on to ``build_crnn`` (filters, rnn_units, channels, ...).

    Returns:
        ``(model, history)``; ``history.history`` holds "loss", "val_loss" and "learning_rate" per
        epoch, and "val_exact" (the share of validation captchas read exactly) for the epochs up to the
        first that read one.
    """
    data = training_data(train_images, train_labels, val_images, val_labels, alphabet=alphabet,
                         height=height, width=width, keep_aspect=keep_aspect, crop_text=crop_text,
                         step_width=int(model_options.get("step_width", POOLED_WIDTH_FACTOR)),
                         batch_size=batch_size, seed=seed, channels=int(model_options.get("channels", 1)))
    rate = learning_rate_schedule(schedule, learning_rate, data.steps_per_epoch * epochs)
    model = build_crnn(height, data.width, CharCodec(alphabet).n_symbols, alphabet=alphabet, seed=seed,
                       crop_text=crop_text, learning_rate=rate, **model_options)
    stopper = PlateauAwareStopping(data.validation, CharCodec(alphabet), patience)
    all_callbacks: list[keras.callbacks.Callback] = [stopper, *callbacks]
    if schedule == "plateau":
        all_callbacks.append(keras.callbacks.ReduceLROnPlateau(monitor="val_loss", factor=0.5, patience=3,
                                                               min_lr=1e-5))
    history = model.fit(data.train, validation_data=data.validation, epochs=epochs, callbacks=all_callbacks,
                        verbose=verbose, steps_per_epoch=data.fit_steps,
                        shuffle=False)  # data.train is already shuffled, with its own seed
    return model, history


def reader_input(model: keras.Model) -> ReaderInput:
    """How a model built by ``build_crnn`` reads: input size, pixels per time step, text cropping, outputs."""
    height, width = input_size(model)
    return ReaderInput(height, width, step_width_of(model), crops_text(model), int(model.output_shape[-1]),
                       channels_of(model))


def predict_probabilities(model: keras.Model, images: Sequence[np.ndarray], batch_size: int = 128) -> np.ndarray:
    """Per-time-step probabilities (N, T, n_classes) float32 for uint8 images of any size.

    A model that crops text (:func:`crops_text`) reads each captcha cut down to
    its text; captchas of a model of any width are read in groups of equal
    padded width (:func:`helpers.ctc_reading.read_probabilities`).
    """
    return read_probabilities(model.predict_on_batch, images, reader_input(model), batch_size)


def predict_labels(model: keras.Model, images: Sequence[np.ndarray], codec: CharCodec | None = None,
                   batch_size: int = 128) -> list[str]:
    """Read captchas: uint8 images of any size -> one string each.

    ``codec`` defaults to the alphabet stored in the model.
    """
    codec = codec_from_model(model) if codec is None else codec
    return decode_predictions(predict_probabilities(model, images, batch_size), codec)


def save_crnn(model: keras.Model, path: str | Path) -> Path:
    """Save a model (with its alphabet) as a ``.keras`` file; returns the path."""
    path = Path(path)
    if path.suffix != ".keras":
        raise ValueError(f"save CTC models with the .keras extension, got {path.name!r}")
    path.parent.mkdir(parents=True, exist_ok=True)
    model.save(path)
    return path


def load_crnn(path: str | Path) -> keras.Model:
    """Load a model saved by ``save_crnn`` in Keras' safe mode (no arbitrary code runs)."""
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"model file {path} does not exist; train a model and save it with save_crnn")
    return keras.models.load_model(path, safe_mode=True)
