"""Fixtures shared by several test modules."""

from __future__ import annotations

from dataclasses import dataclass, field

import pytest


@dataclass
class StepTraces:
    """Every CTC reader compiled while a test runs, and how often its training step was traced.

    ``traces[k]`` counts the traces of the model of the k-th compile: one each is
    what :func:`helpers.ctc.compile_reader` promises.
    """

    traces: list[int] = field(default_factory=list)


@pytest.fixture
def step_traces(monkeypatch: pytest.MonkeyPatch) -> StepTraces:
    """Counts the training-step traces of every CTC reader compiled through ``ctc.compile_reader``."""
    from helpers import ctc

    compile_reader = ctc.compile_reader
    counted = StepTraces()

    def counting_compile(model, *args, **kwargs) -> None:
        compile_reader(model, *args, **kwargs)
        k = len(counted.traces)
        counted.traces.append(0)

        def train_step(batch):
            counted.traces[k] += 1  # runs only while TensorFlow traces the step
            return type(model).train_step(model, batch)

        model.train_step = train_step

    monkeypatch.setattr(ctc, "compile_reader", counting_compile)
    return counted
