"""The CNN + RNN + CTC reader: codec, shapes, loss, greedy decoding, training, saving."""

from __future__ import annotations

from pathlib import Path

import keras
import numpy as np
import pytest
import tensorflow as tf

from helpers import ctc, ctc_reading
from helpers.captchas import generate_captchas

ALPHABET = "ABCDEFGHJKLMNPQRSTUVWXYZ23456789"
TINY = dict(filters=(8, 8, 8), rnn_units=(8,), dense_units=16, dropout=0.0)
"""A model small enough to train in a second or two; enough to check the plumbing."""


def seed(value: int = 0) -> None:
    """Seed Keras/TensorFlow/NumPy and switch on deterministic kernels, as the notebooks do."""
    keras.backend.clear_session()
    keras.utils.set_random_seed(value)
    tf.config.experimental.enable_op_determinism()


def one_hot_path(path: list[int], n_classes: int) -> np.ndarray:
    """A (1, T, n_classes) 'probability' sequence that is certain of one class per time step."""
    probs = np.full((1, len(path), n_classes), 0.01, np.float32)
    for t, k in enumerate(path):
        probs[0, t, k] = 1.0
    return probs / probs.sum(axis=-1, keepdims=True)


# --------------------------------------------------------------------------- codec


def test_codec_round_trip_with_variable_lengths() -> None:
    codec = ctc.CharCodec("ABC")
    indices, lengths = codec.encode(["CAB", "ABCA", "BBACC"])
    assert indices.dtype == np.int32 and lengths.dtype == np.int32
    assert indices.shape == (3, 5)
    assert lengths.tolist() == [3, 4, 5]
    assert indices.tolist() == [[3, 1, 2, 0, 0], [1, 2, 3, 1, 0], [2, 2, 1, 3, 3]]
    assert [codec.decode(row) for row in indices] == ["CAB", "ABCA", "BBACC"]
    assert codec.n_classes == 4 and codec.n_symbols == 3
    wide, _ = codec.encode(["AB"], max_len=6)
    assert wide.shape == (1, 6)


def test_codec_errors_say_what_is_wrong() -> None:
    codec = ctc.CharCodec("ABC")
    with pytest.raises(ValueError, match=r"'AXB'.*'X'"):
        codec.encode(["AB", "AXB"])
    with pytest.raises(ValueError, match="non-empty"):
        codec.encode(["AB", ""])
    with pytest.raises(ValueError, match="list of labels"):
        codec.encode("ABC")
    with pytest.raises(ValueError, match="max_len"):
        codec.encode(["ABCA"], max_len=3)
    with pytest.raises(ValueError, match="twice"):
        ctc.CharCodec("ABCA")
    with pytest.raises(ValueError, match="non-empty"):
        ctc.CharCodec("")
    with pytest.raises(ValueError, match="class index 4"):
        codec.decode([1, 4])


# --------------------------------------------------------------------------- decoding and loss


def test_greedy_decoding_merges_repeats_and_drops_blanks() -> None:
    codec = ctc.CharCodec("AB")
    blank, a, b = 0, 1, 2
    probs = np.concatenate([
        one_hot_path([a, a, blank, a, b, b], 3),      # A A - A B B -> AAB
        one_hot_path([blank] * 6, 3),                  # nothing
        one_hot_path([b, blank, blank, b, blank, a], 3),  # B - - B - A -> BBA
    ])
    assert ctc.decode_predictions(probs, codec) == ["AAB", "", "BBA"]
    with pytest.raises(ValueError, match=r"\(B, T, 3\)"):
        ctc.decode_predictions(probs[:, :, :2], codec)


def test_ctc_loss_reads_label_lengths_from_the_padding() -> None:
    codec = ctc.CharCodec("ABC")
    labels, lengths = codec.encode(["AB", "CCA", "BACB"])
    rng = np.random.default_rng(0)
    probs = rng.dirichlet(np.ones(codec.n_classes), size=(3, 9)).astype(np.float32)
    ours = ctc.CTCLoss(reduction=None)(labels, probs)
    direct = keras.ops.ctc_loss(labels, np.log(probs), lengths, np.full(3, 9, np.int32), mask_index=0)
    np.testing.assert_allclose(keras.ops.convert_to_numpy(ours), keras.ops.convert_to_numpy(direct), rtol=1e-5)

    right = one_hot_path([1, 1, 0, 2, 0, 0], 4)      # reads "AB"
    wrong = one_hot_path([3, 0, 3, 0, 1, 0], 4)      # reads "CCA"
    target, _ = codec.encode(["AB"])
    loss_right = float(ctc.CTCLoss()(target, right))
    loss_wrong = float(ctc.CTCLoss()(target, wrong))
    assert loss_right < 0.5 < 5.0 < loss_wrong


# --------------------------------------------------------------------------- model


@pytest.mark.parametrize("height, width, n_symbols", [(32, 88, 32), (40, 128, 19)])
def test_model_output_shape(height: int, width: int, n_symbols: int) -> None:
    seed()
    model = ctc.build_crnn(height, width, n_symbols, **TINY)
    x = np.random.default_rng(0).random((2, height, width, 1), dtype=np.float32)
    probs = keras.ops.convert_to_numpy(model(x, training=False))
    assert probs.shape == (2, ctc.time_steps(width), n_symbols + 1) == (2, width // 8, n_symbols + 1)
    np.testing.assert_allclose(probs.sum(axis=-1), 1.0, rtol=1e-5)
    assert ctc.input_size(model) == (height, width)


def test_model_checks_its_arguments() -> None:
    with pytest.raises(ValueError, match="too small"):
        ctc.build_crnn(8, 88, 5)
    with pytest.raises(ValueError, match="n_symbols"):
        ctc.build_crnn(32, 88, 5, alphabet="ABC")
    with pytest.raises(ValueError, match="no alphabet|without an alphabet"):
        ctc.codec_from_model(ctc.build_crnn(32, 88, 3, **TINY))


def test_variable_length_labels_train_one_step() -> None:
    seed()
    codec = ctc.CharCodec(ALPHABET)
    labels = ["AB2", "XY34", "QRS78"]
    y, lengths = codec.encode(labels)
    assert lengths.tolist() == [3, 4, 5]
    model = ctc.build_crnn(32, 96, codec.n_symbols, alphabet=ALPHABET, **TINY)
    x = np.random.default_rng(1).random((3, 32, 96, 1), dtype=np.float32)
    before = [w.copy() for w in model.get_weights()]
    loss = float(model.train_on_batch(x, y))
    assert np.isfinite(loss) and loss > 0
    assert any(not np.array_equal(a, b) for a, b in zip(before, model.get_weights()))
    texts = ctc.predict_labels(model, [np.zeros((50, 150), np.uint8)] * 2)
    assert len(texts) == 2 and all(set(t) <= set(ALPHABET) for t in texts)


# --------------------------------------------------------------------------- images


def test_prepare_images_accepts_gray_rgb_and_rgba_of_any_size() -> None:
    rng = np.random.default_rng(0)
    images = [
        rng.integers(0, 256, (60, 160), dtype=np.uint8),
        rng.integers(0, 256, (50, 200, 3), dtype=np.uint8),
        rng.integers(0, 256, (30, 90, 4), dtype=np.uint8),
    ]
    x = ctc.prepare_images(images, 32, 88)
    assert x.shape == (3, 32, 88, 1) and x.dtype == np.float32
    assert x.min() >= 0.0 and x.max() <= 1.0
    plain = ctc.prepare_images([np.full((60, 160), 51, np.uint8)], 32, 88, stretch_contrast=False)
    np.testing.assert_allclose(plain, 0.2, atol=1e-6)
    with pytest.raises(ValueError, match="uint8"):
        ctc.prepare_images([np.zeros((60, 160), np.float32)], 32, 88)
    with pytest.raises(ValueError, match="shape"):
        ctc.prepare_images([np.zeros((60, 160, 2), np.uint8)], 32, 88)
    assert ctc.suggest_width(images[:1], 32) == 88


# --------------------------------------------------------------------------- training and saving


def test_warmup_cosine_rises_to_its_peak_then_falls_to_a_hundredth() -> None:
    steps = 1000
    rate = ctc.learning_rate_schedule("warmup-cosine", 0.002, steps)
    values = np.array([float(rate(step)) for step in range(0, steps + 1, 10)])
    peak = int(np.argmax(values)) * 10
    assert values[0] == pytest.approx(0.0002, rel=1e-3)
    assert values.max() == pytest.approx(0.002, rel=1e-3)
    assert abs(peak - ctc.WARMUP_SHARE * steps) <= 10
    assert np.all(np.diff(values[: peak // 10 + 1]) > 0) and np.all(np.diff(values[peak // 10:]) <= 0)
    assert values[-1] == pytest.approx(0.002 * 0.01, rel=1e-2)
    assert ctc.learning_rate_schedule("constant", 0.002, steps) == 0.002
    with pytest.raises(ValueError, match="warmup-cosine"):
        ctc.learning_rate_schedule("linear", 0.002, steps)


def test_tiny_training_run_lowers_the_loss_and_is_repeatable(step_traces) -> None:
    train = generate_captchas(64, "easy", seed=11)
    val = generate_captchas(16, "easy", seed=12)

    def run() -> tuple[keras.Model, keras.callbacks.History]:
        seed(3)
        return ctc.train_crnn([c.image for c in train], [c.label for c in train],
                              [c.image for c in val], [c.label for c in val],
                              alphabet=ALPHABET, epochs=3, seed=3, batch_size=16, schedule="constant",
                              learning_rate=3e-3, filters=(8, 16, 16), rnn_units=(16,), dense_units=32)

    model, history = run()
    losses = history.history["loss"]
    assert len(losses) == 3 and losses[-1] < losses[0]
    # Adam's variables exist before the first step (ctc.compile_reader), so TensorFlow traces it once
    assert model.optimizer.built and step_traces == [1]
    again, _ = run()
    for a, b in zip(model.get_weights(), again.get_weights()):
        np.testing.assert_array_equal(a, b)


def test_save_and_load_in_safe_mode_keeps_predictions_and_alphabet(tmp_path: Path) -> None:
    seed()
    alphabet = "2345678bcdefgmnpwxy"
    model = ctc.build_crnn(32, 128, len(alphabet), alphabet=alphabet, **TINY)
    rng = np.random.default_rng(5)
    x = rng.random((4, 32, 128, 1), dtype=np.float32)
    model.train_on_batch(x, ctc.CharCodec(alphabet).encode(["bc2de", "gm3", "np4wx", "y5"])[0])
    path = ctc.save_crnn(model, tmp_path / "reader.keras")

    loaded = keras.models.load_model(path, safe_mode=True)
    np.testing.assert_array_equal(keras.ops.convert_to_numpy(model(x, training=False)),
                                  keras.ops.convert_to_numpy(loaded(x, training=False)))
    assert ctc.codec_from_model(loaded).alphabet == alphabet
    images = [rng.integers(0, 256, (50, 200, 3), dtype=np.uint8) for _ in range(3)]
    assert ctc.predict_labels(loaded, images) == ctc.predict_labels(model, images)
    assert isinstance(ctc.load_crnn(path).loss, ctc.CTCLoss)

    with pytest.raises(ValueError, match=".keras"):
        ctc.save_crnn(model, tmp_path / "reader.h5")
    with pytest.raises(FileNotFoundError, match="does not exist"):
        ctc.load_crnn(tmp_path / "missing.keras")


def test_a_model_that_crops_text_reads_the_text_wherever_it_sits(tmp_path: Path) -> None:
    seed()
    alphabet = "ABCD"
    model = ctc.build_crnn(32, None, len(alphabet), alphabet=alphabet, crop_text=True, **TINY)
    assert ctc.crops_text(model) and not ctc.crops_text(ctc.build_crnn(32, None, 4, alphabet=alphabet, **TINY))
    text = np.full((30, 90), 250, np.uint8)
    text[8:22, 10:80:6] = 30  # some dark strokes
    left, right = (np.full((60, 400), 250, np.uint8) for _ in range(2))
    left[5:35, 0:90], right[28:58, 305:395] = text, text  # the same text at two places of a wide image
    assert [c.shape for c in ctc.crop_to_text([left, right])] == [(18, 71), (18, 71)]
    np.testing.assert_array_equal(*ctc.crop_to_text([left, right]))
    np.testing.assert_allclose(*ctc.predict_probabilities(model, [left, right]), atol=1e-6)
    loaded = ctc.load_crnn(ctc.save_crnn(model, tmp_path / "cropping.keras"))
    assert ctc.crops_text(loaded)
    np.testing.assert_allclose(ctc.predict_probabilities(loaded, [left]), ctc.predict_probabilities(model, [left]),
                               atol=1e-6)


def test_steps_needed_counts_a_blank_between_equal_neighbours_only() -> None:
    assert [ctc.steps_needed(label) for label in ("ABCDE", "7777", "AAB", "ABA", "")] == [5, 7, 4, 3, 0]


def test_training_refuses_inputs_too_narrow_for_the_labels() -> None:
    images = [np.zeros((60, 160), np.uint8)] * 2
    with pytest.raises(ValueError, match="wider input"):  # 64 px: 8 time steps; "AABBCCDE" needs 11
        ctc.train_crnn(images, ["AABBCCDE", "ABCDE"], images, ["ABCDE", "ABCDE"], alphabet=ALPHABET,
                       epochs=1, width=64)
    with pytest.raises(ValueError, match="labels"):
        ctc.train_crnn(images, ["AB"], images, ["AB", "CD"], alphabet=ALPHABET, epochs=1)


def test_patience_starts_only_when_the_reader_leaves_the_plateau(monkeypatch: pytest.MonkeyPatch) -> None:
    """The validation loss never improves after the first epoch; the reader first reads a validation captcha
    exactly in epoch 4 (from 0). Plain early stopping with patience 2 stops in epoch 2; this one waits for the
    plateau to end and stops once two epochs from there on (4 and 5) brought no lower loss."""
    from helpers.backend import import_keras

    keras = import_keras()
    model = keras.Sequential([keras.Input((2,)), keras.layers.Dense(1)])
    exact = iter([0.0, 0.0, 0.0, 0.0, 0.25, 0.25, 0.5, 0.5])

    def run(stopper) -> int:
        stopper.set_model(model)
        stopper.on_train_begin()
        for epoch in range(8):
            logs = {"val_loss": 5.0 if epoch == 0 else 6.0}
            stopper.on_epoch_end(epoch, logs)
            if getattr(model, "stop_training", False):
                model.stop_training = False
                return epoch
        return -1

    plain = keras.callbacks.EarlyStopping(monitor="val_loss", patience=2, restore_best_weights=True)
    assert run(plain) == 2
    stopper = ctc.PlateauAwareStopping(validation=None, codec=ctc.CharCodec("ab"), patience=2)
    monkeypatch.setattr(stopper, "exact_share", lambda: next(exact))
    assert run(stopper) == 5 and stopper.left_plateau == 4
    assert ctc.plateau_note([0.0, 0.25]) == ""
    assert "did not read a single validation captcha exactly in 3 epochs" in ctc.plateau_note([0.0] * 3)


def test_a_crop_around_a_few_tall_letters_is_widened_within_the_image() -> None:
    image = np.full((60, 200), 250, np.uint8)
    image[10:50, 20:40] = 30  # one tall block near the left edge: its own box is narrower than high
    (crop,) = ctc.crop_to_text([image])
    assert crop.shape[1] >= ctc_reading.MIN_TEXT_ASPECT * crop.shape[0]
    assert ctc.time_steps(ctc.kept_width(crop.shape, 32)) >= 10
    assert (crop < 128).sum() == (image < 128).sum()  # all of the ink is kept
    (whole,) = ctc.crop_to_text([image[:, :60]])  # too narrow to widen: the whole width
    assert whole.shape[1] == 60
