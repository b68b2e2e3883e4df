"""Learning from few labels: pretrain the CTC reader on drawn captchas, then fine-tune it on real ones.

Labelled captchas are what a user of the course lacks. The drawn ones cost
nothing, so the reader first learns to read on an endless stream of them in
many styles (:mod:`helpers.variety`), then learns a site's own style from a
few hundred labelled captchas:

* :func:`pretrain` trains the command line's CTC reader (``ctc.build_crnn``), with the recipe of
  ``captcha-lab train`` (``CTC_HEIGHT`` and the others in :mod:`helpers.ctc`), on the stream for a
  number of steps or a time budget. The learning rate warms up, then
  follows a cosine down to nearly zero over the budget.
* :func:`adapt_alphabet` gives a pretrained model another alphabet: every
  layer keeps its weights, and in the last one (a character's scores) a
  character both alphabets share keeps its row; a new one starts fresh;
  one the new alphabet lacks is dropped.
* :func:`to_colour` gives a gray reader colour input: it starts out reading a
  colour captcha as it read the captcha's gray version, and fine-tuning can
  then learn from the colours.
* :func:`fine_tune` trains the adapted model on the labelled captchas: a
  few epochs with only the last layer learning (the rest frozen), then all
  layers at a smaller learning rate, keeping the epoch with the lowest
  validation loss.
"""

from __future__ import annotations

import gc
import threading
import time
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from helpers import ctc
from helpers.backend import import_keras
from helpers.variety import PRETRAIN_ALPHABET, PRETRAIN_LENGTHS, varied_batch

keras = import_keras()

__all__ = ["FINE_TUNE_EPOCHS", "FROZEN_EPOCHS", "PRETRAIN_MINUTES", "AlphabetMap", "adapt_alphabet",
           "fine_tune", "map_alphabets", "pretrain", "stream_batches", "to_colour"]

PRETRAIN_MINUTES: float = 10.0
"""Default time budget of ``captcha-lab pretrain`` in minutes."""

PRETRAIN_BATCH: int = 32
PRETRAIN_LEARNING_RATE: float = 2e-3
PRETRAIN_WARMUP: float = 0.05
"""Share of the budget over which the learning rate rises to its peak."""

PRETRAIN_RAMP: int = 40_000
"""Captchas over which the stream's difficulty rises from clean to its full variety: a reader that
starts on the hardest captchas learns next to nothing for a long time (every CTC output stays blank)."""

STEPS_PER_ROUND: int = 100
"""Training steps between two progress lines (one Keras "epoch" of the endless stream)."""

VALIDATION_START: int = 1 << 40
"""Index in the stream where the held-out captchas start: training never gets that far."""

FROZEN_EPOCHS: int = 3
"""Epochs of fine-tuning in which only the last layer learns."""

FINE_TUNE_EPOCHS: int = 30
"""Most epochs of fine-tuning with every layer learning."""

FINE_TUNE_HEAD_RATE: float = 3e-3
FINE_TUNE_RATE: float = 5e-4
FINE_TUNE_PATIENCE: int = 8


# --------------------------------------------------------------------------- the stream as batches


def _drawn_ahead(seed: int, start: int, count: int, workers: int, ramp: int,
                 web: float = 0.0) -> Iterator[tuple[list[np.ndarray], list[str]]]:
    """Endless ``varied_batch(seed, i, count, ramp, web)`` for i = start, start + count, ...; with ``workers``,
    drawn by that many separate processes, several batches ahead (same results, same order)."""
    index = int(start)
    if workers < 1:
        while True:
            yield varied_batch(seed, index, count, ramp, web)
            index += count
    import multiprocessing
    from concurrent.futures import ProcessPoolExecutor

    # "spawn": a fresh interpreter that imports only the drawing code (not TensorFlow).
    pool = ProcessPoolExecutor(workers, mp_context=multiprocessing.get_context("spawn"))
    pending = []
    try:
        while True:
            while len(pending) < 2 * workers + 1:
                pending.append(pool.submit(varied_batch, seed, index, count, ramp, web))
                index += count
            yield pending.pop(0).result()
    finally:
        # Training has stopped and nobody needs the batches drawn ahead: let the pool go without waiting.
        pool.shutdown(wait=False, cancel_futures=True)


def stream_batches(seed: int, batch_size: int, *, alphabet: str = PRETRAIN_ALPHABET, height: int,
                   step_width: int, crop_text: bool, start: int = 0, group: int = 4,
                   workers: int = 0, ramp: int = 0, web: float = 0.0) -> Iterator[tuple[np.ndarray, np.ndarray]]:
    """Endless training batches from the stream (:func:`helpers.variety.varied_batch`).

    ``group`` batches are drawn at once and sorted by width, so a batch holds
    captchas of similar width and little of it is padding; their order is
    shuffled. ``workers``: processes that draw ahead while this one trains
    (0: draw here); the batches are the same either way. ``ramp``: captchas
    over which the stream's difficulty rises from 0 to 1 (:func:`helpers.variety.difficulty_at`).
    ``web``: the share of captchas drawn in web looks (:func:`helpers.variety.make_varied`).

    Yields:
        ``(x, y)``: (batch_size, height, W, 1) float32 images in [0, 1]
        (white-padded to a multiple of ``ctc.WIDTH_QUANTUM``) and
        (batch_size, longest label) int32 labels padded with ``ctc.PAD``.
    """
    codec = ctc.CharCodec(alphabet)
    index = int(start)
    for images, labels in _drawn_ahead(seed, start, batch_size * group, workers, ramp, web):
        rng = np.random.default_rng([seed, index])
        index += batch_size * group
        if crop_text:
            images = ctc.crop_to_text(images)
        widths = [ctc.kept_width(np.shape(image), height, step_width) for image in images]
        chunks = np.array_split(np.argsort(widths, kind="stable"), group)
        for k in rng.permutation(group):
            chunk = chunks[int(k)]
            x = ctc.prepare_images([images[i] for i in chunk], height, None, step_width=step_width)
            x = np.pad(x, ((0, 0), (0, 0), (0, -x.shape[2] % ctc.WIDTH_QUANTUM), (0, 0)), constant_values=1.0)
            y, _ = codec.encode([labels[i] for i in chunk], PRETRAIN_LENGTHS[1])
            yield x, y


def _stream_dataset(seed: int, batch_size: int, height: int, step_width: int, crop_text: bool, workers: int,
                    ramp: int, web: float = 0.0) -> tuple[Any, threading.Event]:
    """:func:`stream_batches` as a ``tf.data`` pipeline that draws ahead while the model trains, and the
    event that ends it: set it when training is done, and the stream stops at its next batch."""
    import tensorflow as tf

    stop = threading.Event()

    def until_stopped() -> Iterator[tuple[np.ndarray, np.ndarray]]:
        batches = stream_batches(seed, batch_size, height=height, step_width=step_width, crop_text=crop_text,
                                 workers=workers, ramp=ramp, web=web)
        try:
            for batch in batches:
                if stop.is_set():
                    return
                yield batch
        finally:
            batches.close()  # here, in the thread that ran it: the drawing processes are let go at once

    signature = (tf.TensorSpec((None, height, None, 1), tf.float32),
                 tf.TensorSpec((None, PRETRAIN_LENGTHS[1]), tf.int32))
    return tf.data.Dataset.from_generator(until_stopped, output_signature=signature).prefetch(4), stop


# --------------------------------------------------------------------------- pretraining


class BudgetSchedule(keras.callbacks.Callback):
    """Sets the learning rate from the share of the budget used, and stops training when it is spent.

    The budget is ``steps`` training steps or ``seconds`` of training, whichever
    ends first. The rate rises linearly from a tenth of ``peak`` over the first
    ``warmup`` share, then falls along a cosine to 1 % of ``peak``.
    """

    def __init__(self, peak: float, *, steps: int | None = None, seconds: float | None = None,
                 warmup: float = PRETRAIN_WARMUP) -> None:
        super().__init__()
        if steps is None and seconds is None:
            raise ValueError("give a budget: steps, seconds or both")
        self.peak, self.steps, self.seconds, self.warmup = float(peak), steps, seconds, float(warmup)
        self.step, self.start = 0, 0.0

    def used(self) -> float:
        """Share of the budget used so far (0.0-1.0 or more)."""
        shares = []
        if self.steps is not None:
            shares.append(self.step / max(1, self.steps))
        if self.seconds is not None:
            shares.append((time.perf_counter() - self.start) / max(1e-9, self.seconds))
        return max(shares)

    def rate(self, used: float) -> float:
        """The learning rate when ``used`` of the budget is spent."""
        if used < self.warmup:
            return self.peak * (0.1 + 0.9 * used / self.warmup)
        progress = min(1.0, (used - self.warmup) / (1.0 - self.warmup))
        return self.peak * (0.01 + 0.99 * 0.5 * (1.0 + np.cos(np.pi * progress)))

    def on_train_begin(self, logs: dict | None = None) -> None:
        self.start = time.perf_counter()

    def on_train_batch_begin(self, batch: int, logs: dict | None = None) -> None:
        self.model.optimizer.learning_rate.assign(self.rate(self.used()))

    def on_train_batch_end(self, batch: int, logs: dict | None = None) -> None:
        self.step += 1
        if self.used() >= 1.0:
            self.model.stop_training = True


@dataclass
class Pretrained:
    """A pretrained CTC model and what its pretraining did."""

    model: Any
    info: dict[str, Any] = field(default_factory=dict)


def pretrain(*, seed: int = 0, minutes: float | None = PRETRAIN_MINUTES, steps: int | None = None,
             batch_size: int = PRETRAIN_BATCH, validation: int = 256, workers: int = 1,
             height: int | None = None, step_width: int | None = None, web: float = 0.0,
             round_steps: int = STEPS_PER_ROUND, report: Callable[[str], None] = lambda _: None,
             progress: Callable[[int], None] = lambda _: None,
             on_round: Callable[[int, Any], None] = lambda step, model: None) -> Pretrained:
    """Train the course's CTC reader (``captcha-lab train``'s recipe) on the drawn stream.

    Args:
        seed: seeds the stream, the initial weights and everything random in training.
        minutes: time budget; ``steps``: step budget; training ends at the
            first one spent (give ``minutes=None`` and ``steps`` for a run that
            repeats exactly: a time budget ends after as many steps as the
            machine manages).
        batch_size: captchas per step.
        validation: held-out captchas of the stream scored at the end.
        workers: processes that draw captchas while this one trains (0: none).
        height, step_width: the reader's input height and pixels of width per
            time step; by default those of ``captcha-lab train`` (48 and 4).
            A reader fine-tuned from this one keeps them. Chapter 5's 32 and 8
            train faster and leave the all-blank start sooner.
        web: share of the stream drawn in the looks of web forms (wide white
            canvases, letters from tiny to cut off at the edges, pale ink,
            thin lines, case-folded labels: :func:`helpers.variety.make_web`);
            ``captcha-lab pretrain`` uses ``helpers.pretrained.START.web``.
        round_steps: training steps per round: the loss is averaged over a round,
            and ``report``, ``progress`` and ``on_round`` are called at its end.
        report: receives a progress line every round.
        progress: receives the number of steps done every round (for a progress bar).
        on_round: called with the steps done and the model in training every round
            (to look at what the reader reads along the way; it must not train the model).

    Returns:
        The model (alphabet ``PRETRAIN_ALPHABET``) and ``info["pretraining"]``:
        seed, steps, captchas seen, seconds, the mean training loss of every
        ``round_steps`` steps (``losses``; the last round may be shorter), and the
        exact-match and character accuracy on the held-out captchas.
    """
    from helpers.evaluation import letter_accuracy
    from helpers.models import seed_everything

    if minutes is None and steps is None:
        raise ValueError("give a budget: minutes, steps or both")
    if (minutes is not None and minutes <= 0) or (steps is not None and steps < 1):
        raise ValueError(f"the budget must be positive, got minutes={minutes}, steps={steps}")
    if round_steps < 1:
        raise ValueError(f"a round needs at least one step, got round_steps={round_steps}")
    keras.backend.clear_session()
    seed_everything(seed)
    height, step_width = height or ctc.CTC_HEIGHT, step_width or ctc.CTC_STEP_WIDTH
    model = ctc.build_crnn(height, None, len(PRETRAIN_ALPHABET), alphabet=PRETRAIN_ALPHABET,
                           step_width=step_width, crop_text=True, seed=seed, learning_rate=PRETRAIN_LEARNING_RATE)
    budget = BudgetSchedule(PRETRAIN_LEARNING_RATE, steps=steps, seconds=None if minutes is None else 60 * minutes)
    data, stop = _stream_dataset(seed, batch_size, height, step_width, crop_text=True, workers=workers,
                                 ramp=PRETRAIN_RAMP, web=web)
    rounds = 10 ** 6 if steps is None else -(-steps // round_steps)

    losses: list[float] = []

    class Progress(keras.callbacks.Callback):
        def on_epoch_end(self, epoch: int, logs: dict | None = None) -> None:
            losses.append(round(float((logs or {}).get("loss", float("nan"))), 4))
            progress(budget.step)
            report(f"step {budget.step}: loss {losses[-1]:.3f}, "
                   f"{time.perf_counter() - budget.start:.0f} s, {100 * min(1.0, budget.used()):.0f} % of the budget")
            on_round(budget.step, self.model)

    start = time.perf_counter()
    model.fit(data, epochs=rounds, steps_per_epoch=round_steps, callbacks=[budget, Progress()], verbose=0,
              shuffle=False)
    seconds = time.perf_counter() - start
    # End the stream here rather than whenever Python happens to collect it: left to the collector,
    # ending it stalled a later, unrelated cell of chapter 6 by up to 50 s under make test.
    stop.set()
    del data
    gc.collect()
    images, labels = varied_batch(seed, VALIDATION_START, validation, web=web)
    texts = ctc.predict_labels(model, images)
    info = {"pretraining": {
        "seed": seed, "web": web, "height": height, "step_width": step_width, "steps": budget.step, "captchas": budget.step * batch_size, "seconds": round(seconds, 1),
        "budget": {"minutes": minutes, "steps": steps}, "round_steps": round_steps, "losses": losses,
        "validation": {"captchas": validation, "exact": round(ctc.exact_match(texts, labels), 4),
                       "characters": round(letter_accuracy(texts, labels), 4)},
    }}
    return Pretrained(model, info)


# --------------------------------------------------------------------------- another alphabet


@dataclass(frozen=True)
class AlphabetMap:
    """How :func:`adapt_alphabet` matched two alphabets."""

    kept: str      # characters of the new alphabet that keep their pretrained row
    new: str       # characters of the new alphabet that start fresh
    dropped: str   # characters of the pretrained alphabet the new one does not use


def map_alphabets(old: str, new: str) -> AlphabetMap:
    """Which characters of ``new`` a reader of ``old`` already knows, which are new, which it no longer needs."""
    return AlphabetMap(kept="".join(ch for ch in new if ch in old), new="".join(ch for ch in new if ch not in old),
                       dropped="".join(ch for ch in old if ch not in new))


def adapt_alphabet(model: Any, alphabet: str) -> tuple[Any, AlphabetMap]:
    """A copy of a CTC model that reads ``alphabet`` instead of its own.

    Every layer keeps its weights except the last dense layer (``logits``),
    whose output k scores character k of the alphabet (0 = blank): the new
    layer keeps the blank's column and those of the characters both
    alphabets share, and starts the others from a fresh (seeded) initialisation.

    Returns:
        ``(new_model, mapping)``; the new model is not compiled.
    """
    old = ctc.codec_from_model(model).alphabet
    new = ctc.CharCodec(alphabet).alphabet
    config = model.get_config()
    for layer in config["layers"]:
        if layer["config"]["name"] == "logits":
            layer["config"]["units"] = len(new) + 1
        elif layer["class_name"].endswith("CTCSoftmax"):
            layer["config"]["alphabet"] = new
    adapted = keras.Model.from_config(config)
    for layer in adapted.layers:
        if layer.weights and layer.name != "logits":
            layer.set_weights(model.get_layer(layer.name).get_weights())
    kernel, bias = model.get_layer("logits").get_weights()
    new_kernel, new_bias = adapted.get_layer("logits").get_weights()
    rows = {ch: k + 1 for k, ch in enumerate(old)}
    for j, ch in enumerate("\0" + new):  # column 0: the blank
        source = 0 if j == 0 else rows.get(ch)
        if source is not None:
            new_kernel[:, j], new_bias[j] = kernel[:, source], bias[source]
    adapted.get_layer("logits").set_weights([new_kernel, new_bias])
    return adapted, map_alphabets(old, new)


LUMA: tuple[float, float, float] = (0.299, 0.587, 0.114)
"""Shares of red, green and blue in the gray value of a pixel, as OpenCV's and Pillow's RGB-to-gray
conversions weigh them (ITU-R BT.601): the gray the course's readers see."""


def to_colour(model: Any) -> Any:
    """A copy of a gray CTC model (``ctc.build_crnn``) that reads colour (RGB) captchas.

    Every layer keeps its weights. The first convolution, whose kernel sees one
    gray channel, gets one kernel per colour channel: the gray kernel times that
    channel's share of gray (:data:`LUMA`). Its output for a colour image is
    then the gray model's for the image's gray version, so the copy starts out
    reading as the gray model does (up to the contrast stretch, which works on
    all channels together), and fine-tuning can learn from the colours. A
    colour model is returned unchanged.

    Returns:
        The colour model, (B, H, W, 3) in; not compiled.
    """
    if ctc.channels_of(model) == 3:
        return model
    gray_shape = [None, *model.input_shape[1:]]  # (B, H, W, 1): the input's, and the augmentation's out

    def recoloured(node: Any) -> Any:
        """The model's configuration with every (B, H, W, 1) shape, up to the first convolution, given 3 channels."""
        if isinstance(node, dict):
            return {key: recoloured(value) for key, value in node.items()}
        if isinstance(node, (list, tuple)):
            return [*gray_shape[:3], 3] if list(node) == gray_shape else [recoloured(value) for value in node]
        return node

    coloured = keras.Model.from_config(recoloured(model.get_config()))
    for layer in coloured.layers:
        if not layer.weights:
            continue
        weights = model.get_layer(layer.name).get_weights()
        if layer.name == "conv1":  # kernel (kh, kw, 1, filters) -> (kh, kw, 3, filters)
            weights[0] = weights[0] * np.asarray(LUMA, dtype=weights[0].dtype)[None, None, :, None]
        layer.set_weights(weights)
    return coloured


# --------------------------------------------------------------------------- fine-tuning


def fine_tune(pretrained: Any, train: tuple[Sequence[np.ndarray], Sequence[str]],
              validation: tuple[Sequence[np.ndarray], Sequence[str]], *, alphabet: str, seed: int = 0,
              frozen_epochs: int = FROZEN_EPOCHS, epochs: int = FINE_TUNE_EPOCHS,
              head_rate: float = FINE_TUNE_HEAD_RATE, learning_rate: float = FINE_TUNE_RATE,
              patience: int = FINE_TUNE_PATIENCE, batch_size: int = 32,
              callbacks: Sequence[Any] = ()) -> tuple[Any, dict[str, list[float]], AlphabetMap]:
    """Fine-tune a pretrained CTC model on labelled captchas.

    First ``frozen_epochs`` with only the last layer learning at ``head_rate``
    (the rest frozen, batch normalisation included), then up to ``epochs``
    with every layer learning, the rate falling along a cosine from
    ``learning_rate``; the weights of the epoch with the lowest validation
    loss are kept (``patience`` epochs without a lower one end training, counted
    once the reader reads a validation captcha exactly: :class:`helpers.ctc.PlateauAwareStopping`).

    Args:
        pretrained: a CTC model (``ctc.build_crnn``), left unchanged; it reads the captchas in colour
            when it has colour input (:func:`to_colour`), in gray otherwise.
        train, validation: (images, labels); uint8 (H, W) or (H, W, 3) images of any size.
        alphabet: the characters of the labels (stored in the model).

    Returns:
        ``(model, history, mapping)``: the fine-tuned model, "loss" and "val_loss"
        per epoch of both phases, "val_exact" for the epochs of the second phase up
        to the first that read a validation captcha exactly
        (:class:`helpers.ctc.PlateauAwareStopping`), and how the alphabets were matched.
    """
    from helpers.models import seed_everything

    keras.backend.clear_session()
    seed_everything(seed)
    model, mapping = adapt_alphabet(pretrained, alphabet)
    height, width = ctc.input_size(model)
    data = ctc.training_data(*train, *validation, alphabet=alphabet, height=height, width=width,
                             keep_aspect=width is None, crop_text=ctc.crops_text(model),
                             step_width=ctc.step_width_of(model), batch_size=batch_size, seed=seed,
                             channels=ctc.channels_of(model))
    history: dict[str, list[float]] = {"loss": [], "val_loss": [], "val_exact": []}

    def fit(epochs_here: int, rate: Any, more: Sequence[Any] = ()) -> None:
        ctc.compile_reader(model, rate)
        run = model.fit(data.train, validation_data=data.validation, epochs=epochs_here, verbose=0,
                        steps_per_epoch=data.fit_steps, callbacks=[*more, *callbacks], shuffle=False)
        for key in history:
            history[key] += [float(v) for v in run.history.get(key, [])]

    if frozen_epochs > 0:
        for layer in model.layers:
            layer.trainable = layer.name == "logits"
        fit(frozen_epochs, head_rate)
    for layer in model.layers:
        layer.trainable = True
    if epochs > 0:
        rate = keras.optimizers.schedules.CosineDecay(learning_rate, decay_steps=data.steps_per_epoch * epochs,
                                                      alpha=0.02)
        fit(epochs, rate, [ctc.PlateauAwareStopping(data.validation, ctc.codec_from_model(model), patience)])
    return model, history, mapping
