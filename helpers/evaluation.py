"""Scoring whole captchas: accuracies, where errors come from, and confused characters."""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable, Sequence

import numpy as np

from helpers.solver import Solution


def letter_accuracy(predicted: Sequence[str], labels: Sequence[str]) -> float:
    """Share of label characters predicted right at their position.

    ``predicted[k]`` is compared with ``labels[k]`` character by character; a
    missing prediction (failed segmentation, "") or a too-short one scores its
    missing characters as wrong. Returns a value in [0, 1].
    """
    if len(predicted) != len(labels):
        raise ValueError(f"{len(predicted)} predictions for {len(labels)} labels")
    total = sum(len(label) for label in labels)
    if total == 0:
        raise ValueError("no characters to score")
    right = sum(p == t for guess, label in zip(predicted, labels) for p, t in zip(guess, label))
    return right / total


def exact_match(predicted: Sequence[str], labels: Sequence[str]) -> float:
    """Share of captchas whose prediction equals the label exactly."""
    if len(predicted) != len(labels) or not labels:
        raise ValueError(f"need one prediction per label, got {len(predicted)} for {len(labels)}")
    return float(np.mean([p == t for p, t in zip(predicted, labels)]))


SOLVED = "solved"
WRONG_COUNT = "cut into the wrong number of pieces"
MISPLACED = "right number of pieces, a cut misplaced"
MISREAD = "misread on a correct cut"
UNTOLD = "right number of pieces, misread (misplaced cut or misread letter)"


def error_sources(solutions: Sequence[Solution], labels: Sequence[str],
                  truths: Sequence[np.ndarray] | None = None, *, min_iou: float = 0.5) -> dict[str, float]:
    """Split captchas read by a letter model into right and three kinds of wrong.

    Every wrong captcha is filed under the first of these that applies:
    ``WRONG_COUNT`` (segmentation found the wrong number of letters, so there
    is no answer), ``MISPLACED`` (the right number of boxes, but at least one
    does not overlap its true letter box by ``min_iou``, intersection over
    union: the model was shown pieces of letters), ``MISREAD`` (every box on
    its letter, and the model still read one wrong).

    ``truths``: one (k, 4) array of true ``(x, y, w, h)`` letter boxes per
    captcha, as the generator records them. Without them (a folder of files
    has only labels) a misplaced cut cannot be told from a misread letter, and
    the two are reported together under ``UNTOLD``. Returns shares summing to 1.
    """
    from helpers.segmentation import boxes_match

    n = len(labels)
    if n == 0 or len(solutions) != n:
        raise ValueError(f"need one solution per label, got {len(solutions)} for {n}")
    if truths is not None and len(truths) != n:
        raise ValueError(f"{len(truths)} sets of true boxes for {n} captchas")
    solved = [s.ok and s.text == label for s, label in zip(solutions, labels)]
    wrong_count = [not s.ok for s in solutions]
    rest = [not (a or b) for a, b in zip(solved, wrong_count)]
    shares = {SOLVED: sum(solved) / n, WRONG_COUNT: sum(wrong_count) / n}
    if truths is None:
        shares[UNTOLD] = sum(rest) / n
        return shares
    misplaced = sum(r and not boxes_match(s.boxes, t, min_iou) for r, s, t in zip(rest, solutions, truths))
    shares[MISPLACED] = misplaced / n
    shares[MISREAD] = (sum(rest) - misplaced) / n
    return shares


def confused_pairs(solutions: Sequence[Solution], labels: Sequence[str], top: int = 10) -> list[tuple[str, str, int]]:
    """The most frequent (true character, predicted character, count) mistakes in cleanly cut captchas."""
    counts: Counter[tuple[str, str]] = Counter()
    for s, label in zip(solutions, labels):
        if s.ok and len(s.text) == len(label):
            counts.update((t, p) for t, p in zip(label, s.text) if t != p)
    return [(t, p, n) for (t, p), n in counts.most_common(top)]


def wilson_interval(successes: int, n: int, z: float = 1.96) -> tuple[float, float]:
    """95 % Wilson score interval (low, high) for a share of ``successes`` out of ``n``."""
    if n <= 0:
        return (0.0, 1.0)
    p = successes / n
    centre = (p + z * z / (2 * n)) / (1 + z * z / n)
    half = z * np.sqrt(p * (1 - p) / n + z * z / (4 * n * n)) / (1 + z * z / n)
    return (float(max(0.0, centre - half)), float(min(1.0, centre + half)))


def percent_with_interval(successes: int, n: int) -> str:
    """``successes`` out of ``n`` as a percentage with its 95 % Wilson interval: "90.50 (87.2–93.0)"."""
    low, high = wilson_interval(successes, n)
    return f"{100 * successes / max(n, 1):.2f} ({100 * low:.1f}–{100 * high:.1f})"


def sign_test(only_a: int, only_b: int) -> float:
    """Exact two-sided sign test for two readers scored on the same captchas (McNemar's exact test).

    ``only_a``: captchas reader A reads right and reader B wrong; ``only_b``: the
    reverse (captchas both read alike do not count). If the two were equally
    good, each of these captchas would fall to either side like the toss of a
    fair coin; returns the probability that fair coins split ``only_a + only_b``
    tosses at least as unevenly, in either direction (1.0 when there are none).
    """
    from scipy.stats import binomtest

    n = only_a + only_b
    return 1.0 if n == 0 else float(binomtest(only_a, n, 0.5).pvalue)


def reader_error_sources(cuts_letters: bool, solutions: Sequence[Solution], labels: Sequence[str]) -> dict[str, float]:
    """Shares (summing to 1) of captchas read right and of each kind of error a labelled folder can tell.

    Readers that cut letters (``cuts_letters``): :func:`error_sources` without
    true boxes (a folder of files has none), so a misplaced cut and a misread
    letter are counted together. Readers of whole captchas (CTC): "read too few
    or too many characters" or "right number of characters, some wrong".
    """
    n = len(labels)
    if n == 0:
        raise ValueError("no captchas to score")
    if cuts_letters:
        return error_sources(solutions, labels)
    solved = sum(s.ok and s.text == t for s, t in zip(solutions, labels))
    wrong_count = sum(len(s.text) != len(t) for s, t in zip(solutions, labels))
    return {SOLVED: solved / n, "read too few or too many characters": wrong_count / n,
            "right number of characters, some wrong": (n - solved - wrong_count) / n}


def reading_speed(read: Callable[[Sequence[np.ndarray]], list], images: Sequence[np.ndarray], *,
                  repeats: int = 3) -> tuple[float, float, list]:
    """Time ``read`` (a function from a list of captcha images to one result per image) the fair way.

    One call on a single captcha comes first: it pays for what a first call
    builds (a compiled graph, warmed caches), and its seconds are returned
    apart. Then all ``images`` are read ``repeats`` times in one batch each, and
    the median of those passes gives the steady rate. Returns
    ``(first_call_seconds, captchas_per_second, results_of_the_last_pass)``.
    """
    import time

    start = time.perf_counter()
    read(list(images[:1]))
    first_call = time.perf_counter() - start
    seconds = []
    for _ in range(max(1, repeats)):
        start = time.perf_counter()
        results = read(images)
        seconds.append(time.perf_counter() - start)
    return first_call, len(images) / float(np.median(seconds)), results


def evaluate_reader(reader, images: Sequence[np.ndarray], labels: Sequence[str], *, length: int | None = None,
                    repeats: int = 3, guided: bool = False) -> tuple[dict, list[Solution]]:
    """Score a :class:`helpers.readers.Reader` on labelled captchas it has never seen.

    Returns ``(scores, solutions)``. ``scores`` holds whole-captcha
    ("exact", with its 95 % Wilson interval) and character accuracy, where the
    errors come from (:func:`reader_error_sources`), the time of a first call
    on one captcha, and the steady throughput: the median over ``repeats``
    batched passes over all captchas, after that first call warmed up.
    ``guided``: letter readers place unsure cuts where they read best.
    """
    if len(images) != len(labels) or not labels:
        raise ValueError(f"need one label per image, got {len(labels)} for {len(images)}")
    first_call, per_second, solutions = reading_speed(lambda batch: reader.read(batch, length, guided=guided),
                                                      images, repeats=repeats)
    texts = [s.text if s.ok else "" for s in solutions]
    right = sum(t == label for t, label in zip(texts, labels))
    low, high = wilson_interval(right, len(labels))
    scores = {
        "captchas": len(labels),
        "exact": round(right / len(labels), 4),
        "exact_interval_95": [round(low, 4), round(high, 4)],
        "characters": round(letter_accuracy(texts, labels), 4),
        "errors": {k: round(v, 4) for k, v in reader_error_sources(reader.cuts_letters, solutions, labels).items()},
        "first_call_seconds": round(first_call, 3),
        "captchas_per_second": round(per_second, 1),
    }
    return scores, solutions
