"""Few labels: the stream as training batches, pretraining, the alphabet mapping and fine-tuning (chapter 6)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from helpers import ctc
from helpers.captcha_files import save_captchas
from helpers.captchas import generate_captchas
from helpers.cli import main
from helpers.readers import load_reader
from helpers.variety import PRETRAIN_ALPHABET, PRETRAIN_LENGTHS


def test_batches_drawn_by_a_worker_process_equal_those_drawn_here() -> None:
    from helpers.transfer import stream_batches

    def first(workers: int) -> list[tuple[np.ndarray, np.ndarray]]:
        batches = stream_batches(2, 4, height=32, step_width=4, crop_text=True, group=2, workers=workers)
        return [next(batches) for _ in range(3)]

    here, there = first(0), first(1)
    for (x0, y0), (x1, y1) in zip(here, there):
        assert np.array_equal(x0, x1) and np.array_equal(y0, y1)
    x, y = here[0]
    assert x.shape[0] == 4 and x.shape[1] == 32 and x.shape[2] % ctc.WIDTH_QUANTUM == 0 and x.shape[3] == 1
    assert y.shape == (4, PRETRAIN_LENGTHS[1]) and (y > 0).sum(axis=1).min() >= PRETRAIN_LENGTHS[0]


def _small_model(alphabet: str, seed: int = 0):
    from helpers.models import seed_everything

    seed_everything(seed)
    return ctc.build_crnn(32, None, len(alphabet), alphabet=alphabet, filters=(8, 16, 16), rnn_units=(16,),
                          dense_units=16, step_width=4, crop_text=True, augment=False)


@pytest.mark.parametrize("new, kept, fresh, dropped", [
    ("cdxy", "cd", "xy", "ab"),      # some shared, some new, some dropped
    ("db", "db", "", "ac"),          # a subset, in another order
    ("abcdef", "abcd", "ef", ""),    # a superset
])
def test_adapt_alphabet_keeps_the_rows_both_alphabets_share(new: str, kept: str, fresh: str, dropped: str) -> None:
    from helpers.transfer import adapt_alphabet

    model = _small_model("abcd")
    adapted, mapping = adapt_alphabet(model, new)
    assert (mapping.kept, mapping.new, mapping.dropped) == (kept, fresh, dropped)
    assert ctc.codec_from_model(adapted).alphabet == new and ctc.crops_text(adapted)
    assert adapted.output_shape[-1] == len(new) + 1
    old_kernel, old_bias = model.get_layer("logits").get_weights()
    kernel, bias = adapted.get_layer("logits").get_weights()
    assert np.array_equal(kernel[:, 0], old_kernel[:, 0]) and bias[0] == old_bias[0]  # the blank
    for j, ch in enumerate(new):
        if ch in "abcd":
            assert np.array_equal(kernel[:, j + 1], old_kernel[:, "abcd".index(ch) + 1])
        else:
            assert not np.array_equal(kernel[:, j + 1], old_kernel[:, 1])
    for layer in model.layers:
        if layer.weights and layer.name != "logits":
            for w0, w1 in zip(layer.get_weights(), adapted.get_layer(layer.name).get_weights()):
                assert np.array_equal(w0, w1)
    # Shared characters are scored exactly as before.
    x = np.random.default_rng(0).random((2, 32, 64, 1)).astype(np.float32)
    import keras

    logits_before = keras.Model(model.input, model.get_layer("logits").output)(x).numpy()
    logits_after = keras.Model(adapted.input, adapted.get_layer("logits").output)(x).numpy()
    for j, ch in enumerate(new):
        if ch in "abcd":
            np.testing.assert_allclose(logits_after[..., j + 1], logits_before[..., "abcd".index(ch) + 1], rtol=1e-5)


def test_pretraining_reports_every_round_and_shows_the_model_in_training() -> None:
    """round_steps sets how often the loss is averaged and on_round called; the step budget still ends
    training, in the middle of a round if it must."""
    from helpers.transfer import pretrain

    seen = []
    result = pretrain(seed=0, minutes=None, steps=5, workers=0, height=32, step_width=8, validation=4,
                      round_steps=2, on_round=lambda step, model: seen.append((step, model)))
    info = result.info["pretraining"]
    assert [step for step, _ in seen] == [2, 4, 5] and all(model is result.model for _, model in seen)
    assert info["round_steps"] == 2 and len(info["losses"]) == 3 and info["steps"] == 5
    with pytest.raises(ValueError, match="round_steps=0"):
        pretrain(seed=0, minutes=None, steps=5, round_steps=0)


def test_fine_tuning_trains_only_the_last_layer_first_and_leaves_the_pretrained_model_alone() -> None:
    """fine_tune's two phases: the frozen epochs change the last layer alone, batch normalisation's running
    statistics included; the later epochs change every layer; the pretrained model is not touched. (That
    fine-tuning beats training from scratch is what chapter 6 measures and asserts.)"""
    from helpers.transfer import adapt_alphabet, fine_tune

    pretrained = _small_model("ABCDEFGHJK")
    before = {layer.name: [w.copy() for w in layer.get_weights()] for layer in pretrained.layers if layer.weights}
    made = generate_captchas(24, "easy", seed=3, alphabet="ABCDEFGHJKLM", size=(120, 40))
    images, labels = [c.image for c in made], [c.label for c in made]
    train, validation = (images[:16], labels[:16]), (images[16:], labels[16:])
    start, _ = adapt_alphabet(pretrained, "ABCDEFGHJKLM")

    def changed(model) -> set[str]:
        return {layer.name for layer in model.layers if layer.weights and not all(
            np.array_equal(a, b) for a, b in zip(layer.get_weights(), start.get_layer(layer.name).get_weights()))}

    head, history, mapping = fine_tune(pretrained, train, validation, alphabet="ABCDEFGHJKLM", seed=0,
                                       frozen_epochs=2, epochs=0)
    assert (mapping.kept, mapping.new, mapping.dropped) == ("ABCDEFGHJK", "LM", "")
    assert changed(head) == {"logits"}
    assert len(history["loss"]) == len(history["val_loss"]) == 2
    whole, history, _ = fine_tune(pretrained, train, validation, alphabet="ABCDEFGHJKLM", seed=0,
                                  frozen_epochs=1, epochs=1)
    assert changed(whole) == {layer.name for layer in start.layers if layer.weights}
    assert len(history["loss"]) == 2
    for name, weights in before.items():
        assert all(np.array_equal(a, b) for a, b in zip(weights, pretrained.get_layer(name).get_weights()))


def test_train_starts_from_a_pretrained_reader_built_once_into_the_cache(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str], step_traces) -> None:
    """train --model ctc builds the default start into the cache (a 2-step recipe here), the cache serves it
    afterwards, the documented pretrain command builds the same reader, and --init with that file trains the
    same reader as the default start."""
    from helpers import pretrained

    monkeypatch.setenv("CAPTCHA_LAB_CACHE", str(tmp_path / "cache"))
    monkeypatch.setattr(pretrained, "START", pretrained.StartRecipe(seed=0, steps=2, web=0.5))
    folder = tmp_path / "site"
    save_captchas(generate_captchas(30, "easy", seed=8, alphabet="ABC#", size=(120, 45)), folder)
    tuned = tmp_path / "site.model"
    assert main(["train", "--data", str(folder), "--model", "ctc", "--epochs", "1", "--out", str(tuned)]) == 0
    out, err = capsys.readouterr()
    cached = tmp_path / "cache" / "pretrained-v3-seed0-steps2-web0.5.model"
    assert f"start: the pretrained reader {cached} (built now; the same as captcha-lab pretrain --seed 0 " \
           "--steps 2 --web 0.5" in out
    assert "pretraining: 100%" in err  # the progress bar of the build
    fine = load_reader(tuned, kind="ctc")
    assert fine.alphabet == "#ABC"
    assert fine.info["init"]["kept"] == "ABC" and fine.info["init"]["new"] == "#"
    assert fine.info["init"]["pretraining"]["steps"] == 2 and fine.info["init"]["pretraining"]["web"] == 0.5
    assert fine.info["training"]["epochs"] >= 2  # the frozen epochs, then at least one more
    assert pretrained.load_or_build_start()[1:] == (cached, False)  # from now on, read from the cache

    again = tmp_path / "pretrained.model"
    assert main(["pretrain", "--out", str(again), "--seed", "0", "--steps", "2", "--web", "0.5", "--workers", "0",
                 "--quiet"]) == 0
    out = capsys.readouterr().out
    assert "pretrained for 2 steps (64 drawn captchas)" in out and "held-out drawn captchas" in out
    reader = load_reader(again, kind="ctc")
    assert reader.alphabet == PRETRAIN_ALPHABET and reader.info["pretraining"]["steps"] == 2
    assert len(reader.info["pretraining"]["losses"]) == 1  # one round, cut short by the step budget
    same = load_reader(cached, kind="ctc")
    assert all(np.array_equal(a, b) for a, b in zip(reader.model.get_weights(), same.model.get_weights()))

    tuned_again = tmp_path / "again.model"
    assert main(["train", "--data", str(folder), "--model", "ctc", "--init", str(again), "--epochs", "1",
                 "--out", str(tuned_again), "--quiet"]) == 0
    assert f"start: the pretrained reader {again} (--init" in capsys.readouterr().out
    assert all(np.array_equal(a, b) for a, b in zip(fine.model.get_weights(),
                                                    load_reader(tuned_again).model.get_weights()))
    # two pretrainings and two fine-tunings of two phases: each compiles once and traces its training step once
    assert step_traces == [1, 1, 1, 1, 1, 1]


def test_train_init_refuses_what_is_not_a_pretrained_ctc_reader(tmp_path: Path,
                                                                capsys: pytest.CaptureFixture[str]) -> None:
    folder = tmp_path / "site"
    save_captchas(generate_captchas(20, "easy", seed=9, size=(120, 45)), folder)
    forest = tmp_path / "forest.model"
    assert main(["train", "--data", str(folder), "--model", "rf", "--out", str(forest), "--quiet"]) == 0
    capsys.readouterr()
    common = ["train", "--data", str(folder), "--out", str(tmp_path / "out.model"), "--quiet"]
    assert main(common + ["--model", "ctc", "--init", str(forest)]) == 2
    assert "holds a rf model, not a ctc model" in capsys.readouterr().err
    assert main(common + ["--model", "cnn", "--init", str(forest)]) == 2
    assert "needs --model ctc" in capsys.readouterr().err
    junk = tmp_path / "junk.model"
    junk.write_text("not a model")
    assert main(common + ["--model", "ctc", "--init", str(junk)]) == 2
    assert "junk.model" in capsys.readouterr().err
    assert main(common + ["--model", "ctc", "--init", str(forest), "--from-scratch"]) == 2
    assert "contradict" in capsys.readouterr().err
    assert main(common + ["--model", "rf", "--from-scratch"]) == 2
    assert "--from-scratch is for --model ctc" in capsys.readouterr().err
    assert not (tmp_path / "out.model").exists()



def test_to_colour_reads_a_colour_image_as_the_gray_model_reads_its_gray_version() -> None:
    from helpers.transfer import LUMA, to_colour

    gray_model = ctc.build_crnn(32, None, 3, alphabet="ABC", seed=0)
    before = [w.copy() for w in gray_model.get_weights()]
    colour_model = to_colour(gray_model)
    assert colour_model.input_shape == (None, 32, None, 3) and ctc.channels_of(gray_model) == 1
    rgb = np.random.default_rng(0).random((2, 32, 48, 3)).astype("float32")  # (B, H, W, 3) in [0, 1]
    gray = (rgb @ np.asarray(LUMA, dtype="float32"))[..., None]  # (B, H, W, 1): OpenCV's RGB to gray
    assert np.abs(colour_model.predict(rgb, verbose=0) - gray_model.predict(gray, verbose=0)).max() < 1e-5
    assert all(np.array_equal(a, b) for a, b in zip(before, gray_model.get_weights()))  # the gray model is unchanged
    assert to_colour(colour_model) is colour_model
    import cv2

    from helpers.captcha_files import to_gray

    pixels = np.random.default_rng(1).integers(0, 256, (20, 30, 3), dtype=np.uint8)
    for seen in (to_gray(pixels), cv2.cvtColor(pixels, cv2.COLOR_RGB2GRAY)):  # files read gray; a reader's own rule
        assert np.abs(seen.astype(float) - pixels @ np.asarray(LUMA)).max() <= 1
