"""``captcha-lab benchmark``: the course's whole pipeline on any folder of labelled captchas.

Load → infer alphabet and length → split by captcha → cut the training
captchas into letters → train each model → solve the test captchas → report.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import numpy as np

from helpers.backend import import_keras
from helpers.captchas import CaptchaDataError, load_captchas
from helpers.datasets import balance, extract_letters, split_by_captcha
from helpers.evaluation import exact_match, letter_accuracy
from helpers.solver import solve
from helpers.training import MODEL_NAMES, train_named

LETTER_SIZE = 60
# Captcha images the CTC reader sees while training: small sets get more epochs (at most
# CTC_MOST_EPOCHS), large ones fewer (at least 12). About 4 minutes of CPU for 1,000 captchas.
CTC_SAMPLE_BUDGET = 90_000
CTC_MOST_EPOCHS = 120


def parse_models(text: str) -> list[str]:
    """``"rf,cnn"`` → ``["rf", "cnn"]``; ``"all"`` → every model; unknown names are an error."""
    names = [n.strip() for n in text.split(",") if n.strip()]
    if names == ["all"]:
        return list(MODEL_NAMES)
    unknown = [n for n in names if n not in MODEL_NAMES]
    if unknown or not names:
        raise CaptchaDataError(f"unknown model(s) {', '.join(unknown) or '(none given)'}; "
                               f"choose from {', '.join(MODEL_NAMES)} or all")
    return names


def run_benchmark(data_dir: Path, models: Sequence[str], *, test_fraction: float = 0.2, seed: int = 0,
                  skip_bad: bool = False, report: Callable[[str], None] = lambda _: None) -> dict[str, Any]:
    """Benchmark ``models`` on the captchas in ``data_dir``; returns the JSON-ready results.

    A validation set (10 % of the captchas) is carved from the training part
    for early stopping; the test part is used only to score. Captcha accuracy
    counts captchas that fail to segment as wrong.
    """
    if not 0.05 <= test_fraction <= 0.5:
        raise CaptchaDataError(f"--test-fraction must be between 0.05 and 0.5, got {test_fraction}")
    data = load_captchas(data_dir, skip_bad=skip_bad)
    if len(data) < 20:
        raise CaptchaDataError(f"{data_dir} holds only {len(data)} captchas; a benchmark needs at least 20")
    lengths = sorted(data.lengths)
    length = lengths[0] if len(lengths) == 1 else None
    split = split_by_captcha(len(data), seed=seed, fractions=(1 - test_fraction - 0.1, 0.1, test_fraction))
    if data.skipped:
        report(f"skipped {len(data.skipped)} bad files, e.g. {data.skipped[0][0].name}: {data.skipped[0][1]}")
    report(f"{len(data)} captchas, alphabet {data.alphabet}, lengths {lengths}; "
           f"{len(split['train'])} train / {len(split['validation'])} validation / {len(split['test'])} test")

    def part(name: str) -> tuple[list[np.ndarray], list[str]]:
        return [data.images[i] for i in split[name]], [data.labels[i] for i in split[name]]

    if any(name != "ctc" for name in models):  # the letter models learn from cut-out letters
        train_letters, train_cuts = extract_letters(*part("train"), size=LETTER_SIZE)
        val_letters, _ = extract_letters(*part("validation"), size=LETTER_SIZE)
        if len(train_letters) == 0:
            raise CaptchaDataError(f"no training captcha in {data_dir} could be cut into letters; "
                                   "segmentation does not work on this captcha style (try --models ctc)")
        balanced = balance(train_letters, seed=seed)
        report(f"training letters: {len(train_letters)} from {sum(c.ok for c in train_cuts)} captchas "
               f"({len(balanced)} after balancing)")
    test_images, test_labels = part("test")
    results: dict[str, Any] = {
        "dataset": {"path": str(data_dir), "captchas": len(data), "alphabet": data.alphabet,
                    "length": length if length is not None else lengths,
                    "train": len(split["train"]) + len(split["validation"]), "test": len(test_labels),
                    "skipped": len(data.skipped)},
        "models": {},
    }
    for name in models:
        report(f"training {name} …")
        if name == "ctc":
            results["models"][name] = _benchmark_ctc(part("train"), part("validation"), (test_images, test_labels),
                                                     alphabet=data.alphabet, seed=seed)
            continue
        model, seconds = train_named(name, balanced, val_letters, seed=seed)
        start = time.perf_counter()
        solutions = solve(test_images, model, length)
        solve_seconds = time.perf_counter() - start
        texts = [s.text for s in solutions]
        results["models"][name] = {
            "letter_accuracy": round(letter_accuracy(texts, test_labels), 4),
            "captcha_accuracy": round(exact_match(texts, test_labels), 4),
            "segmentation_failure_rate": round(float(np.mean([not s.ok for s in solutions])), 4),
            "train_seconds": round(seconds, 1),
            "solve_per_second": round(len(test_labels) / max(solve_seconds, 1e-9), 1),
        }
    return results


def _benchmark_ctc(train: tuple[list[np.ndarray], list[str]], validation: tuple[list[np.ndarray], list[str]],
                   test: tuple[list[np.ndarray], list[str]], *, alphabet: str, seed: int) -> dict[str, float]:
    """Chapter 5's CNN + RNN + CTC reader: trained on whole captchas, no segmentation."""
    keras = import_keras()

    from helpers import ctc
    from helpers.models import seed_everything

    keras.backend.clear_session()
    seed_everything(seed)
    epochs = int(np.clip(round(CTC_SAMPLE_BUDGET / max(len(train[1]), 1)), 12, CTC_MOST_EPOCHS))
    start = time.perf_counter()
    # Small sets stay on the loss plateau for many epochs before the reader finds the characters:
    # patience grows with the epochs. Time steps of 4 px give touching and doubled letters room.
    reader, _ = ctc.train_crnn(*train, *validation, alphabet=alphabet, seed=seed, epochs=epochs,
                               patience=max(6, epochs // 6), step_width=4)
    seconds = time.perf_counter() - start
    start = time.perf_counter()
    texts = ctc.predict_labels(reader, test[0])
    solve_seconds = time.perf_counter() - start
    return {
        "letter_accuracy": round(letter_accuracy(texts, test[1]), 4),
        "captcha_accuracy": round(exact_match(texts, test[1]), 4),
        "segmentation_failure_rate": 0.0,
        "train_seconds": round(seconds, 1),
        "solve_per_second": round(len(test[1]) / max(solve_seconds, 1e-9), 1),
    }


def format_table(results: dict[str, Any]) -> str:
    """The benchmark's models as a small text table."""
    import pandas as pd

    frame = pd.DataFrame(results["models"]).T
    return frame.to_string()
