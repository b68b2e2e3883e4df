"""Self-training: a site's unlabelled captchas count too.

Labelling captchas is slow; collecting them is not. Self-training lets the
unlabelled ones help: train a reader on the labelled captchas, let it read
the unlabelled ones, keep the readings it is most sure of as their labels
("pseudo-labels"), train again on both, and repeat. Kept readings that are
wrong teach the reader its own mistakes, so only those read with a high
confidence are kept: every character's probability at least ``keep_above``.

:func:`self_train` is what ``captcha-lab train --unlabelled DIR`` runs. Each
round after the first continues from the previous round's reader (the
labelled validation captchas decide, as always, which epoch's weights are
kept) and reports how many unlabelled captchas it kept; when their true
labels are known (a look-alike set, say), also the share of kept labels that
are right: the pseudo-labels' precision.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass
from typing import TYPE_CHECKING

import numpy as np

if TYPE_CHECKING:
    from helpers.readers import Reader

__all__ = ["KEEP_ABOVE", "ROUNDS", "ROUND_EPOCHS", "Round", "confident_readings", "self_train"]

ROUNDS: int = 2
"""Rounds of pseudo-labelling after the reader trained on the labelled captchas alone."""

KEEP_ABOVE: float = 0.9
"""A reading becomes a pseudo-label when every one of its characters has at least this probability."""

ROUND_EPOCHS: int = 10
"""Most epochs of each round after the first (after its frozen epochs)."""


@dataclass(frozen=True)
class Round:
    """What one round of self-training did (round 0: the labelled captchas alone)."""

    round: int
    kept: int                  # unlabelled captchas kept with their pseudo-label
    unlabelled: int            # unlabelled captchas read
    precision: float | None    # share of kept pseudo-labels equal to the true label, when labels are known
    validation_exact: float    # the round's reader on the labelled validation captchas
    seconds: float


def confident_readings(reader: "Reader", images: Sequence[np.ndarray], *, keep_above: float, alphabet: str,
                       lengths: tuple[int, int]) -> list[tuple[int, str]]:
    """``(index, text)`` of the images ``reader`` reads with every character's probability at least
    ``keep_above``, using only characters of ``alphabet``, with ``lengths[0]`` to ``lengths[1]`` characters."""
    kept = []
    for k, solution in enumerate(reader.read(list(images))):
        text = solution.text
        if (solution.ok and lengths[0] <= len(text) <= lengths[1] and set(text) <= set(alphabet)
                and float(np.min(solution.confidence)) >= keep_above):
            kept.append((k, text))
    return kept


def self_train(train: tuple[list[np.ndarray], list[str]], validation: tuple[list[np.ndarray], list[str]],
               unlabelled: Sequence[np.ndarray], *, seed: int, alphabet: str, init: "Reader | None",
               epochs: int | None = None, rounds: int = ROUNDS, keep_above: float = KEEP_ABOVE,
               round_epochs: int = ROUND_EPOCHS, truth: Sequence[str] | None = None, colour: bool = False,
               report: Callable[[str], None] = lambda _: None) -> tuple["Reader", list[Round]]:
    """Train a CTC reader on labelled captchas, then on them plus its own confident readings of unlabelled ones.

    Args:
        train, validation: labelled (images, labels); uint8 (H, W) images, or (H, W, 3)
            with ``colour``. Only ``validation`` decides which weights each round keeps.
        unlabelled: uint8 images without labels, as those of ``train``.
        seed: seeds every round (round r uses ``seed + r``).
        alphabet: the labels' characters; readings with others are not kept.
        init: a pretrained CTC reader to start from (None: from scratch).
        epochs: most epochs of the first round (default: ``train``'s).
        rounds: rounds of pseudo-labelling after the first.
        keep_above: the confidence a reading needs to be kept (every character's probability).
        round_epochs: most epochs of each later round.
        truth: the true labels of ``unlabelled``, if known: used only to report the pseudo-labels' precision.
        colour: every round's reader reads the captchas in colour (``train_reader``'s ``colour``).
        report: receives progress lines.

    Returns:
        ``(reader, history)``: the last round's reader (its ``info["self_training"]``
        holds the history) and one :class:`Round` per round.
    """
    from helpers.training import train_reader

    labels = list(train[1]) + list(validation[1])
    lengths = (min(map(len, labels)), max(map(len, labels)))
    start = time.perf_counter()
    reader = train_reader("ctc", train, validation, seed=seed, alphabet=alphabet, epochs=epochs, init=init,
                          report=report, colour=colour)
    first = reader.info
    history = [Round(0, 0, len(unlabelled), None, reader.info["validation"]["exact"],
                     round(time.perf_counter() - start, 1))]
    for r in range(1, rounds + 1):
        start = time.perf_counter()
        kept = confident_readings(reader, unlabelled, keep_above=keep_above, alphabet=alphabet, lengths=lengths)
        precision = None
        if truth is not None and kept:
            precision = round(float(np.mean([truth[k] == text for k, text in kept])), 4)
        report(f"self-training round {r}: kept {len(kept)} of {len(unlabelled)} unlabelled captchas read with "
               f"every character at least {keep_above:g} sure"
               + (f"; {100 * precision:.1f} % of them right" if precision is not None else ""))
        if not kept:
            report("nothing read confidently enough to learn from: self-training stops here")
            break
        more = (list(train[0]) + [unlabelled[k] for k, _ in kept], list(train[1]) + [text for _, text in kept])
        reader = train_reader("ctc", more, validation, seed=seed + r, alphabet=alphabet, epochs=round_epochs,
                              init=reader, report=report, colour=colour)
        history.append(Round(r, len(kept), len(unlabelled), precision, reader.info["validation"]["exact"],
                             round(time.perf_counter() - start, 1)))
    if "init" in first:
        reader.info["init"] = first["init"]
    reader.info["training"]["seconds"] = round(sum(h.seconds for h in history), 1)
    reader.info["self_training"] = {"keep_above": keep_above, "rounds": [asdict(h) for h in history]}
    return reader, history
