"""How far to trust an answer: a reader's confidence calibrated on captchas it did not learn from.

A reader gives every character a confidence (:mod:`helpers.solver`), and a
whole answer is as sure as its least sure character
(:func:`answer_confidence`). That number orders answers from surest to least
sure, but it is not a probability: how often answers given 0.9 are right
depends on the reader and the site (the course's CTC readers are right more
often than their least sure character says). *Calibration* maps it to one. :func:`fit_calibration` learns the map on the
reader's validation captchas (right or wrong, with their confidences) by
Platt scaling: a logistic regression on the confidence's log-odds, two
numbers, which a few dozen captchas can pin down where a binned or isotonic
map would need hundreds. :func:`expected_calibration_error` measures how far
confidences are from the share of right answers, and :func:`risk_coverage`
how the error among answered captchas falls as the reader answers only its
surest ones. :meth:`Calibration.threshold` turns a tolerated error into the
least calibrated confidence to answer at, for ``captcha-lab solve --max-error``.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import numpy as np

if TYPE_CHECKING:
    from helpers.reader import Reader
    from helpers.solver import Solution

__all__ = ["BINS", "ENOUGH_TO_CALIBRATE", "Calibration", "answer_confidence", "answer_confidences", "calibrate_reader",
           "calibration_of", "confidence_report", "expected_calibration_error", "fit_calibration", "risk_coverage"]

ENOUGH_TO_CALIBRATE: int = 200
"""Labelled captchas a calibration needs to be close. Measured on the noisy look-alike with a reader
fine-tuned on 200 labels (``python -m benchmarks.calibration``): calibrated on its 20 validation captchas,
its calibration error on 800 others was 0.07-0.08 and it answered nothing at a 1 % error; calibrated on
200 more, 0.02-0.03, and it answered 17-30 % of them."""

BINS: int = 10
"""Equal-width confidence bins of :func:`expected_calibration_error` (the usual choice)."""

_FLOOR, _CEILING = 0.01, 1 - 1e-6
"""Confidences are kept within [_FLOOR, _CEILING] before taking log-odds: an answer given no confidence
(0: none, or a length never learned) would otherwise weigh on the fit as if it were infinitely unsure."""


def answer_confidence(solution: Solution, lengths: Sequence[int] = ()) -> float:
    """How sure a reader is of a whole answer: its least sure character's confidence.

    0 when it gave no answer, or when ``lengths`` (the label lengths the
    reader learned, :attr:`helpers.reader.Reader.lengths`) are given and the
    answer has another length: a CTC reader that drops or doubles a character
    can be sure of every character it kept.
    """
    if not solution.ok or (lengths and len(solution.text) not in lengths):
        return 0.0
    return float(min(solution.confidence, default=0.0))


def answer_confidences(solutions: Sequence[Solution], lengths: Sequence[int] = ()) -> np.ndarray:
    """(n,) float64 :func:`answer_confidence` of each solution."""
    return np.array([answer_confidence(s, lengths) for s in solutions], dtype=np.float64)


def _log_odds(confidence: np.ndarray) -> np.ndarray:
    p = np.clip(np.asarray(confidence, dtype=np.float64), _FLOOR, _CEILING)
    return np.log(p / (1 - p))


def expected_calibration_error(confidence: np.ndarray, right: np.ndarray, bins: int = BINS) -> float:
    """Expected calibration error: how far confidence is from the share of right answers, on average.

    Args:
        confidence: (n,) values in [0, 1], one per answer.
        right: (n,) bools, whether each answer was right.
        bins: equal-width bins over [0, 1]; each bin adds |share right - mean
            confidence| weighted by its share of the answers.

    Returns:
        A value in [0, 1]; 0 for perfectly calibrated confidences.
    """
    confidence = np.asarray(confidence, dtype=np.float64)
    right = np.asarray(right, dtype=bool)
    if confidence.shape != right.shape or confidence.ndim != 1 or not len(confidence):
        raise ValueError(f"need one confidence per answer, got shapes {confidence.shape} and {right.shape}")
    which = np.minimum((confidence * bins).astype(int), bins - 1)
    error = 0.0
    for b in np.unique(which):
        inside = which == b
        error += inside.mean() * abs(right[inside].mean() - confidence[inside].mean())
    return float(error)


def risk_coverage(confidence: np.ndarray, right: np.ndarray,
                  coverages: Sequence[float] = (1.0, 0.9, 0.8, 0.7, 0.6, 0.5)) -> list[dict[str, float]]:
    """The error among answered captchas when the reader answers only its surest ones.

    Args:
        confidence: (n,) confidences (raw or calibrated: only their order counts).
        right: (n,) bools.
        coverages: shares of the captchas to answer, surest first.

    Returns:
        One row per coverage: ``coverage`` (the share answered, rounded to
        whole captchas), ``error`` (share wrong among them) and
        ``threshold`` (the least confidence answered).
    """
    confidence = np.asarray(confidence, dtype=np.float64)
    right = np.asarray(right, dtype=bool)
    if confidence.shape != right.shape or not len(confidence):
        raise ValueError(f"need one confidence per answer, got shapes {confidence.shape} and {right.shape}")
    order = np.argsort(-confidence, kind="stable")
    wrong_so_far = np.cumsum(~right[order])
    rows = []
    for share in coverages:
        k = max(1, int(round(share * len(order))))
        rows.append({"coverage": k / len(order), "error": float(wrong_so_far[k - 1] / k),
                     "threshold": float(confidence[order[k - 1]])})
    return rows


@dataclass(frozen=True)
class Calibration:
    """A map from an answer's confidence to the probability it is right, learned on validation captchas.

    ``slope``, ``intercept``: the probability is
    ``sigmoid(slope * log_odds(confidence) + intercept)``. ``seen``: the
    validation answers' raw confidences, kept to find the threshold of a
    tolerated error (:meth:`threshold`); ``right``: how many of them were right.
    """

    slope: float
    intercept: float
    seen: tuple[float, ...]
    right: int

    def probability(self, confidence: np.ndarray) -> np.ndarray:
        """(n,) calibrated probabilities that the answers with these (n,) raw confidences are right."""
        z = self.slope * _log_odds(confidence) + self.intercept
        return 1.0 / (1.0 + np.exp(-z))

    def threshold(self, max_error: float) -> float:
        """The least calibrated probability to answer at, so that the expected error among answered is ``max_error``.

        The validation answers are taken surest first while the mean of
        (1 - calibrated probability) over those taken stays at or below
        ``max_error``; the threshold is the probability of the last one taken.
        When not even the surest keeps it, nothing is answered (returns a
        value above 1); an answer whose own probability is 1 - ``max_error``
        or more is always answered.
        """
        if not 0.0 <= max_error <= 1.0:
            raise ValueError(f"the tolerated error must be between 0 and 1, got {max_error}")
        p = np.sort(self.probability(np.asarray(self.seen)))[::-1]
        expected = np.cumsum(1.0 - p) / np.arange(1, len(p) + 1)
        within = np.flatnonzero(expected <= max_error + 1e-12)
        found = float(p[within[-1]]) if len(within) else 1.0 + 1e-9
        return min(found, 1.0 - max_error)

    def to_info(self) -> dict[str, Any]:
        """What a reader file keeps (JSON numbers only)."""
        return {"method": "platt", "slope": round(self.slope, 6), "intercept": round(self.intercept, 6),
                "captchas": len(self.seen), "right": self.right, "seen": [round(c, 6) for c in self.seen]}

    @classmethod
    def from_info(cls, info: dict[str, Any]) -> Calibration:
        """The calibration a reader file keeps (:meth:`to_info`)."""
        if not isinstance(info, dict) or info.get("method") != "platt":
            raise ValueError(f"not a calibration this version reads: {info!r:.80}")
        return cls(float(info["slope"]), float(info["intercept"]), tuple(float(c) for c in info["seen"]),
                   int(info["right"]))


def fit_calibration(confidence: np.ndarray, right: np.ndarray) -> Calibration:
    """Platt scaling of (n,) raw confidences against (n,) bools: whether each answer was right.

    A logistic regression (scikit-learn) on the confidences' log-odds, fitted
    to Platt's smoothed targets ((right + 1) / (right + 2) for a right answer,
    1 / (wrong + 2) for a wrong one) so that a handful of captchas, or a set
    with no mistake at all, gives a cautious map instead of certainty.
    """
    from sklearn.linear_model import LogisticRegression

    confidence = np.asarray(confidence, dtype=np.float64)
    right = np.asarray(right, dtype=bool)
    if confidence.shape != right.shape or confidence.ndim != 1 or not len(confidence):
        raise ValueError(f"need one confidence per answer, got shapes {confidence.shape} and {right.shape}")
    n_right, n_wrong = int(right.sum()), int((~right).sum())
    target = np.where(right, (n_right + 1) / (n_right + 2), 1 / (n_wrong + 2))
    x = _log_odds(confidence)[:, None]
    # each answer counts twice, as right with weight target and as wrong with weight 1 - target
    model = LogisticRegression(C=1e6, max_iter=1000)
    model.fit(np.r_[x, x], np.r_[np.ones(len(x)), np.zeros(len(x))], sample_weight=np.r_[target, 1 - target])
    return Calibration(float(model.coef_[0, 0]), float(model.intercept_[0]), tuple(float(c) for c in confidence),
                       n_right)


def calibrate_reader(reader: Reader, solutions: Sequence[Solution], labels: Sequence[str]) -> Calibration:
    """Fit the reader's calibration on its ``solutions`` of labelled captchas it did not learn from, and keep it
    in ``reader.info["calibration"]`` (what ``train`` and ``calibrate`` store); returns it."""
    right = [s.ok and s.text == label for s, label in zip(solutions, labels)]
    calibration = fit_calibration(answer_confidences(solutions, reader.lengths), right)
    reader.info["calibration"] = calibration.to_info()
    return calibration


def calibration_of(reader: Reader) -> Calibration | None:
    """The calibration a reader keeps (``captcha-lab train`` and ``calibrate`` store one), or None."""
    info = reader.info.get("calibration")
    return Calibration.from_info(info) if info else None


def confidence_report(reader: Reader, solutions: Sequence[Solution], labels: Sequence[str], *,
                      max_error: float | None = None) -> dict[str, Any]:
    """How far a reader's confidence can be trusted on labelled captchas it has not seen.

    Returns a JSON-ready dict: ``ece_raw`` (the expected calibration error
    of :func:`answer_confidence`), and when the reader keeps a calibration,
    ``ece_calibrated`` and ``calibrated_on`` (its validation captchas);
    ``risk_coverage`` (:func:`risk_coverage`, surest first, with the
    calibrated threshold when there is one); with ``max_error``, ``answered``
    (the share answered at :meth:`Calibration.threshold`) and
    ``error_among_answered`` (None when none is answered).
    """
    raw = answer_confidences(solutions, reader.lengths)
    right = np.array([s.ok and s.text == label for s, label in zip(solutions, labels)])
    report: dict[str, Any] = {"ece_raw": round(expected_calibration_error(raw, right), 4)}
    calibration = calibration_of(reader)
    score = raw
    if calibration is not None:
        score = calibration.probability(raw)
        report.update(ece_calibrated=round(expected_calibration_error(score, right), 4),
                      calibrated_on=len(calibration.seen))
    report["risk_coverage"] = [{k: round(v, 4) for k, v in row.items()} for row in risk_coverage(score, right)]
    if max_error is not None:
        if calibration is None:
            raise ValueError("this reader keeps no calibration; calibrate it first (captcha-lab calibrate)")
        answered = score >= calibration.threshold(max_error)
        report.update(max_error=max_error, answered=round(float(answered.mean()), 4),
                      error_among_answered=round(float(1 - right[answered].mean()), 4) if answered.any() else None)
    return report
