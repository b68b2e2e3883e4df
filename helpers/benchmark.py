"""Experiments that train readers and score them: the benchmark, and learning curves.

:func:`run_benchmark` is ``captcha-lab benchmark``, the course's whole pipeline
on any folder of labelled captchas: load → infer alphabet and lengths → split
by captcha → train each model (:func:`helpers.training.train_reader`, as
``captcha-lab train`` does) → read the test captchas
(:func:`helpers.evaluation.evaluate_reader`, as ``captcha-lab evaluate``
does) → report, and keep the readers if asked. :func:`learning_curve` trains
the CTC reader on more and more labelled captchas, from scratch and from a
pretrained start (chapter 6).
"""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from helpers.baselines import BASELINES, baseline_reader
from helpers.captcha_files import load_captchas
from helpers.datasets import split_by_captcha
from helpers.errors import CaptchaDataError
from helpers.evaluation import evaluate_reader
from helpers.training import (
    COLOUR_MODELS, LETTER_MODELS, MODEL_NAMES, cut_letters, several_lengths_note, train_reader,
)


def parse_models(text: str) -> list[str]:
    """``"rf,cnn"`` → ``["rf", "cnn"]``; ``"all"`` → every model the course trains; a baseline
    (:data:`helpers.baselines.BASELINES`) by name; unknown names are an error."""
    names = [n.strip() for n in text.split(",") if n.strip()]
    if names == ["all"]:
        return list(MODEL_NAMES)
    unknown = [n for n in names if n not in MODEL_NAMES + BASELINES]
    if unknown or not names:
        raise CaptchaDataError(f"unknown model(s) {', '.join(unknown) or '(none given)'}; "
                               f"choose from {', '.join(MODEL_NAMES + BASELINES)} or all")
    return names


def run_benchmark(data_dir: Path, models: Sequence[str], *, test_fraction: float = 0.2, seed: int = 0,
                  skip_bad: bool = False, save_models: Path | None = None, overwrite: bool = False,
                  guided: bool = False, colour: bool = False, epochs: int | None = None,
                  report: Callable[[str], None] = lambda _: None) -> dict[str, Any]:
    """Benchmark ``models`` on the captchas in ``data_dir``; returns the JSON-ready results.

    A validation set (10 % of the captchas) is carved from the training part
    for early stopping; the test part is used only to score. Captcha accuracy
    counts captchas that fail to segment as wrong; ``segmentation_failure_rate``
    is the share cut into the wrong *number* of pieces (a cut with the right
    count in the wrong places counts as a misread). With ``save_models``, each
    trained reader is kept there as ``<model>.model``, the format of
    ``captcha-lab train``. With ``guided``, every letter model is scored a
    second time, as ``<model>+guided``, with recognition-guided cuts
    (:func:`helpers.solver.solve`): the same trained model, other cuts. With
    ``colour``, every model that can read colour (``COLOUR_MODELS``) is also
    trained and scored on the captchas in colour, as ``<model>+colour``, on the
    same split. A baseline among ``models`` (``"ddddocr"``, :mod:`helpers.baselines`)
    learns nothing: it reads the same test captchas, in colour, restricted to
    the set's alphabet, and its ``train_seconds`` is 0. ``epochs``: the most epochs for the networks (default: each
    chooses from the set size, as ``captcha-lab train`` does).
    """
    if epochs is not None and epochs < 1:
        raise CaptchaDataError(f"the most epochs must be at least 1, got {epochs}", argument="epochs")
    if not 0.05 <= test_fraction <= 0.5:
        raise CaptchaDataError(f"the test fraction must be between 0.05 and 0.5, got {test_fraction}",
                               argument="test_fraction")
    runs = [(name, False) for name in models] + [(name, True) for name in models if colour and name in COLOUR_MODELS]
    keys = [name + "+colour" * in_colour for name, in_colour in runs]
    trained_keys = [key for key in keys if key not in BASELINES]
    targets = _check_save_folder(save_models, trained_keys, overwrite) if save_models is not None else {}
    data = load_captchas(data_dir, skip_bad=skip_bad, colour=colour)
    if len(data) < 20:
        raise CaptchaDataError(f"{data_dir} holds only {len(data)} captchas; a benchmark needs at least 20")
    lengths = sorted(data.lengths)
    split = split_by_captcha(len(data), seed=seed, fractions=(1 - test_fraction - 0.1, 0.1, test_fraction))
    if data.skipped:
        report(f"skipped {len(data.skipped)} bad files, e.g. {data.skipped[0][0].name}: {data.skipped[0][1]}")
    report(f"{len(data)} captchas, alphabet {data.alphabet}, lengths {lengths}; "
           f"{len(split['train'])} train / {len(split['validation'])} validation / {len(split['test'])} test")
    baselines = {name: baseline_reader(name, data.labels) for name in models if name in BASELINES}  # before training
    notes = {several_lengths_note(name, data.labels) for name in models} - {""}
    for note in sorted(notes):
        report(note)

    def part(name: str) -> tuple[list[np.ndarray], list[str]]:
        return [data.images[i] for i in split[name]], [data.labels[i] for i in split[name]]

    letters = cut_letters(part("train"), part("validation"), seed=seed, report=report) \
        if any(name in LETTER_MODELS for name in models) else None
    test_images, test_labels = part("test")
    results: dict[str, Any] = {
        "dataset": {"path": str(data_dir), "captchas": len(data), "alphabet": data.alphabet,
                    "length": lengths[0] if len(lengths) == 1 else lengths,
                    "train": len(split["train"]) + len(split["validation"]), "test": len(test_labels),
                    "skipped": len(data.skipped)},
        "models": {},
    }
    colour_letters = None
    for name, reader in baselines.items():
        report(f"reading the test captchas with {name}, which learns nothing from them …")
        in_colour = data if colour else load_captchas(data_dir, skip_bad=skip_bad, colour=True)
        scores, _ = evaluate_reader(reader, [in_colour.images[i] for i in split["test"]], test_labels, repeats=1)
        results["models"][name] = {"letter_accuracy": scores["characters"], "captcha_accuracy": scores["exact"],
                                   "segmentation_failure_rate": 0.0, "train_seconds": 0.0,
                                   "solve_per_second": scores["captchas_per_second"],
                                   "first_call_seconds": scores["first_call_seconds"]}
    for (name, in_colour), key in zip(runs, keys):
        if name in BASELINES:
            continue
        if in_colour and name in LETTER_MODELS and colour_letters is None:
            colour_letters = cut_letters(part("train"), part("validation"), seed=seed, report=report, colour=True)
        report(f"training {key} …")
        # No epoch lines here: the benchmark reports one line per model.
        reader = train_reader(name, part("train"), part("validation"), seed=seed, alphabet=data.alphabet,
                              letters=colour_letters if in_colour else letters, colour=in_colour, epochs=epochs)
        for guide in (False, True) if guided and name in LETTER_MODELS else (False,):
            scores, solutions = evaluate_reader(reader, test_images, test_labels, guided=guide)
            results["models"][key + "+guided" * guide] = {
                "letter_accuracy": scores["characters"],
                "captcha_accuracy": scores["exact"],
                "segmentation_failure_rate": round(float(np.mean([not s.ok for s in solutions])), 4)
                if name != "ctc" else 0.0,
                "train_seconds": reader.info["training"]["seconds"],
                "solve_per_second": scores["captchas_per_second"],
                "first_call_seconds": scores["first_call_seconds"],
            }
        if save_models is not None:
            from helpers.readers import save_reader

            reader.info["data"] = {"folder": Path(data_dir).name, "captchas": len(data),
                                   "train": len(split["train"]), "validation": len(split["validation"]),
                                   "test": len(test_labels), "seed": seed}
            save_reader(reader, targets[key], overwrite=overwrite)
            report(f"saved {key} as {targets[key]}")
    return results


# --------------------------------------------------------------------------- learning curves
# How accuracy grows with the number of labelled captchas, from scratch and from a pretrained reader
# (chapter 6 draws it; benchmarks/few_labels.py runs it over seeds).

METHODS: tuple[str, ...] = ("scratch", "pretrained")
"""The two ways :func:`learning_curve` trains a reader: from scratch, or fine-tuned from a pretrained one."""


@dataclass
class CurvePoint:
    """One reader of a learning curve: how it was trained and what it read on the test captchas."""

    labels: int          # labelled captchas it learned from (90 % to train, 10 % to validate)
    method: str          # one of METHODS
    seed: int
    texts: list[str]     # what it read on each test captcha
    right: int           # test captchas read exactly
    seconds: float       # training time
    epochs: int
    reader: Any          # the trained helpers.readers.Reader


def learning_curve(pool: tuple[Sequence[np.ndarray], Sequence[str]], test: tuple[Sequence[np.ndarray], Sequence[str]],
                   counts: Sequence[int], *, init: Any, seed: int, methods: Sequence[str] = METHODS,
                   scratch_like_init: bool = False, report: Callable[[str], None] = lambda _: None) -> list[CurvePoint]:
    """Train a CTC reader on the first N labelled captchas of ``pool`` for each N, and score it on ``test``.

    Each reader is trained as ``captcha-lab train --model ctc`` trains one
    (:func:`helpers.training.train_reader`): 90 % of the N captchas to train,
    10 % to validate, either from scratch or with ``--init`` (``init``, a
    pretrained CTC reader). Every reader reads the same test captchas.

    Args:
        pool, test: (images, labels); uint8 (H, W) or (H, W, 3) images. ``pool``
            needs at least ``max(counts)`` captchas; the sets of different N are nested.
        counts: numbers of labelled captchas N, each at least 10.
        methods: "scratch", "pretrained" or both.
        scratch_like_init: train the readers from scratch at the input height
            and pixels per time step of ``init`` (the same network, only the
            starting weights differ) instead of ``captcha-lab train``'s.
        report: receives one line per trained reader.

    Returns:
        One :class:`CurvePoint` per N and method, in that order.
    """
    from helpers import ctc

    if max(counts) > len(pool[1]) or min(counts) < 10:
        raise ValueError(f"every N must be between 10 and the {len(pool[1])} captchas of the pool, got {list(counts)}")
    unknown = set(methods) - set(METHODS)
    if unknown:
        raise ValueError(f"unknown methods {sorted(unknown)}; choose from {', '.join(METHODS)}")
    geometry = {}
    if scratch_like_init:
        geometry = {"height": ctc.input_size(init.model)[0], "step_width": ctc.step_width_of(init.model)}
    points = []
    for n in counts:
        split = split_by_captcha(n, seed=seed, fractions=(0.9, 0.1, 0.0))
        train, validation = ([[pool[0][i] for i in split[part]], [pool[1][i] for i in split[part]]]
                             for part in ("train", "validation"))
        for method in methods:
            start = time.perf_counter()
            if method == "pretrained":
                reader = train_reader("ctc", train, validation, seed=seed, init=init)
            else:
                reader = train_reader("ctc", train, validation, seed=seed, **geometry)
            seconds = time.perf_counter() - start
            texts = [s.text for s in reader.read(test[0])]
            right = sum(text == label for text, label in zip(texts, test[1]))
            points.append(CurvePoint(n, method, seed, texts, right, round(seconds, 1),
                                     reader.info["training"]["epochs"], reader))
            report(f"N={n} {method}: {right} of {len(texts)} test captchas read exactly ({seconds:.0f} s)")
    return points


def _check_save_folder(folder: Path, models: Sequence[str], overwrite: bool) -> dict[str, Path]:
    """Where each model will be saved; refuses, before any work, files that exist (unless ``overwrite``)."""
    from helpers.models import ModelFileError
    from helpers.readers import check_output

    folder = Path(folder)
    if folder.exists() and not folder.is_dir():
        raise CaptchaDataError(f"{folder} is a file; models are saved into a folder", argument="save_models")
    folder.mkdir(parents=True, exist_ok=True)
    targets = {name: folder / f"{name}.model" for name in models}
    try:
        for path in targets.values():
            check_output(path, overwrite=overwrite)
    except ModelFileError as exc:
        raise CaptchaDataError(exc.message, argument=exc.argument, value=exc.value) from None
    return targets


def format_table(results: dict[str, Any]) -> str:
    """The benchmark's models as a small text table."""
    import pandas as pd

    frame = pd.DataFrame(results["models"]).T
    return frame.to_string()
