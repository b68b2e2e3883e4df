"""Experiments for the CNN + RNN + CTC reader (helpers/ctc.py). Not a test.

Trains one recipe on generated captchas and reports exact-match accuracy on
held-out test captchas (never used for early stopping), with wall times.

Run from the project root (TensorFlow's settings come from helpers/backend.py):

    .venv/bin/python -m benchmarks.ctc_experiments --level hard            # the default recipe
    .venv/bin/python -m benchmarks.ctc_experiments --level medium --n-train 3000
    .venv/bin/python -m benchmarks.ctc_experiments --level hard --check-determinism --n-train 512 --epochs 2
    .venv/bin/python -m benchmarks.ctc_experiments --lookalike               # the ~1,040-image noisy set

``--lookalike`` writes the look-alike set of ``helpers/lookalikes.py`` to a
temporary folder, loads it back with ``load_captchas`` (timed with the rest)
and splits it 80 % / 20 % into train+validation and test.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import subprocess
import sys
import tempfile
import time
from pathlib import Path


def ctc_schedules() -> tuple[str, ...]:
    """The learning-rate schedules ``helpers.ctc.train_crnn`` knows (importing it starts TensorFlow)."""
    from helpers.ctc import SCHEDULES

    return SCHEDULES


def parse_ints(text: str) -> tuple[int, ...]:
    """'16,32,64' -> (16, 32, 64); '' -> ()."""
    return tuple(int(v) for v in text.split(",") if v.strip())


def weights_digest(model) -> str:
    """SHA-256 over all weights, to compare two training runs."""
    h = hashlib.sha256()
    for w in model.get_weights():
        h.update(w.tobytes())
    return h.hexdigest()


def make_generated(args: argparse.Namespace) -> tuple[list, list, list, list, list, list]:
    """Train, validation and test captchas from three different seeds (no overlap)."""
    from helpers.captchas import DEFAULT_ALPHABET, generate_captchas

    def draw(count: int, seed: int) -> tuple[list, list]:
        cs = generate_captchas(count, args.level, seed=seed, alphabet=DEFAULT_ALPHABET, length=args.length)
        return [c.image for c in cs], [c.label for c in cs]

    xtr, ytr = draw(args.n_train, args.seed * 1000 + 1)
    xva, yva = draw(args.n_val, args.seed * 1000 + 2)
    xte, yte = draw(args.n_test, args.seed * 1000 + 3)
    return xtr, ytr, xva, yva, xte, yte


def make_lookalike(args: argparse.Namespace, folder: Path) -> tuple[list, list, list, list, list, list]:
    """Write the look-alike set, read it back, split 80 % train+val / 20 % test by a seeded shuffle."""
    import numpy as np

    from helpers.captcha_files import load_captchas
    from helpers.lookalikes import save_noisy_lookalikes

    save_noisy_lookalikes(folder, args.n_lookalike, seed=args.seed, style=args.style)
    data = load_captchas(folder)
    order = np.random.default_rng(args.seed).permutation(len(data.images))
    n_test = int(round(0.2 * len(order)))
    n_val = int(round(args.val_share * (len(order) - n_test)))
    test, val, train = order[:n_test], order[n_test:n_test + n_val], order[n_test + n_val:]

    def pick(idx) -> tuple[list, list]:
        return [data.images[i] for i in idx], [data.labels[i] for i in idx]

    return (*pick(train), *pick(val), *pick(test))


def run(args: argparse.Namespace) -> dict:
    """One experiment; returns the measured numbers."""
    t0 = time.perf_counter()
    if args.lookalike:
        from helpers.lookalikes import LOOKALIKE_ALPHABET

        alphabet = LOOKALIKE_ALPHABET
        with tempfile.TemporaryDirectory(prefix="lookalikes_") as tmp:
            t_gen0 = time.perf_counter()
            xtr, ytr, xva, yva, xte, yte = make_lookalike(args, Path(tmp))
            t_gen = time.perf_counter() - t_gen0
    else:
        from helpers.captchas import DEFAULT_ALPHABET

        alphabet = DEFAULT_ALPHABET
        t_gen0 = time.perf_counter()
        xtr, ytr, xva, yva, xte, yte = make_generated(args)
        t_gen = time.perf_counter() - t_gen0

    import keras
    import tensorflow as tf

    from helpers import ctc

    keras.utils.set_random_seed(args.seed)
    tf.config.experimental.enable_op_determinism()
    options = dict(filters=parse_ints(args.filters), rnn_units=parse_ints(args.rnn_units), rnn=args.rnn,
                   step_width=args.step_width,
                   dense_units=args.dense_units, dropout=args.dropout, augment=not args.no_augment,
                   augment_strength=args.augment_strength)
    t_train0 = time.perf_counter()
    model, history = ctc.train_crnn(xtr, ytr, xva, yva, alphabet=alphabet, epochs=args.epochs, seed=args.seed,
                                    batch_size=args.batch_size, height=args.height, width=args.width,
                                    patience=args.patience, learning_rate=args.learning_rate,
                                    schedule=args.schedule, verbose=args.verbose, **options)
    t_train = time.perf_counter() - t_train0
    t_eval0 = time.perf_counter()
    predicted = ctc.predict_labels(model, xte)
    t_eval = time.perf_counter() - t_eval0
    accuracy = ctc.exact_match(predicted, yte)
    val_accuracy = ctc.exact_match(ctc.predict_labels(model, xva), yva)
    errors = [(p, e) for p, e in zip(predicted, yte) if p != e]
    hist = history.history
    return {
        "level": "lookalike" if args.lookalike else args.level,
        "n_train": len(xtr), "n_val": len(xva), "n_test": len(xte),
        "input": [int(model.input_shape[1]), int(model.input_shape[2])],
        "params": int(model.count_params()),
        "options": {k: list(v) if isinstance(v, tuple) else v for k, v in options.items()},
        "epochs_run": len(hist["loss"]),
        "best_epoch": int(min(range(len(hist["val_loss"])), key=hist["val_loss"].__getitem__)) + 1,
        "loss": [round(v, 4) for v in hist["loss"]],
        "val_loss": [round(v, 4) for v in hist["val_loss"]],
        "test_accuracy": round(accuracy, 4),
        "val_accuracy": round(val_accuracy, 4),
        "errors": errors[:12],
        "seconds": {"data": round(t_gen, 1), "train": round(t_train, 1), "evaluate": round(t_eval, 1),
                    "total": round(time.perf_counter() - t0, 1)},
        "weights_sha256": weights_digest(model),
    }


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--level", default="hard", choices=("easy", "medium", "hard"))
    p.add_argument("--lookalike", action="store_true", help="use the noisy look-alike set instead")
    p.add_argument("--n-lookalike", type=int, default=1040)
    p.add_argument("--style", default="public", choices=("public", "varied"), help="look of the look-alike set")
    p.add_argument("--val-share", type=float, default=0.1, help="validation share of the look-alike 80 %%")
    p.add_argument("--n-train", type=int, default=6000)
    p.add_argument("--n-val", type=int, default=500)
    p.add_argument("--n-test", type=int, default=1000)
    p.add_argument("--length", type=int, default=4)
    p.add_argument("--height", type=int, default=32)
    p.add_argument("--width", type=int, default=None)
    p.add_argument("--filters", default="16,32,64")
    p.add_argument("--rnn-units", default="128,128")
    p.add_argument("--rnn", default="gru")
    p.add_argument("--dense-units", type=int, default=256)
    p.add_argument("--dropout", type=float, default=0.2)
    p.add_argument("--step-width", type=int, default=8, help="input pixels per time step: 8 or 4")
    p.add_argument("--no-augment", action="store_true")
    p.add_argument("--augment-strength", type=float, default=1.0)
    p.add_argument("--epochs", type=int, default=20)
    p.add_argument("--batch-size", type=int, default=64)
    p.add_argument("--patience", type=int, default=6)
    p.add_argument("--schedule", default="steps", choices=ctc_schedules())
    p.add_argument("--learning-rate", type=float, default=1e-3)
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--verbose", type=int, default=0)
    p.add_argument("--json", action="store_true", help="print the result as one JSON line only")
    p.add_argument("--check-determinism", action="store_true",
                   help="run the same experiment twice in fresh processes and compare the weights")
    args = p.parse_args()

    if args.check_determinism:
        argv = [a for a in sys.argv[1:] if a != "--check-determinism"] + ["--json"]
        digests = []
        for _ in range(2):
            out = subprocess.run([sys.executable, "-m", "benchmarks.ctc_experiments", *argv], check=True,
                                 capture_output=True, text=True, cwd=Path(__file__).resolve().parents[1])
            result = json.loads(out.stdout.strip().splitlines()[-1])
            digests.append(result["weights_sha256"])
            print(f"run: test accuracy {result['test_accuracy']:.4f}, weights {result['weights_sha256'][:16]}")
        print("identical weights" if digests[0] == digests[1] else "DIFFERENT weights")
        return

    result = run(args)
    if args.json:
        print(json.dumps(result))
        return
    for key, value in result.items():
        print(f"{key}: {value}")


if __name__ == "__main__":
    main()
