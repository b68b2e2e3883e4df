"""Fixtures shared by several test modules."""

from __future__ import annotations

from dataclasses import dataclass, field

import pytest


@dataclass
class StepTraces:
    """Every network compiled for training while a test runs, and how often its training step was traced.

    ``traces[k]`` counts the traces of the model of the k-th compile: one each is
    what :func:`helpers.ctc.compile_reader` and
    :func:`helpers.training.compile_letter_model` promise.
    """

    traces: list[int] = field(default_factory=list)


@pytest.fixture
def step_traces(monkeypatch: pytest.MonkeyPatch) -> StepTraces:
    """Counts the training-step traces of every CTC reader and letter CNN the helpers compile."""
    from helpers import ctc, training

    counted = StepTraces()

    def counting(compile_for_training):
        def compile_and_count(model, *args, **kwargs) -> None:
            compile_for_training(model, *args, **kwargs)
            k = len(counted.traces)
            counted.traces.append(0)

            def train_step(batch):
                counted.traces[k] += 1  # runs only while TensorFlow traces the step
                return type(model).train_step(model, batch)

            model.train_step = train_step

        return compile_and_count

    monkeypatch.setattr(ctc, "compile_reader", counting(ctc.compile_reader))
    monkeypatch.setattr(training, "compile_letter_model", counting(training.compile_letter_model))
    return counted
