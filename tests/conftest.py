"""Fixtures shared by several test modules."""

from __future__ import annotations

import pytest


@pytest.fixture
def step_traces(monkeypatch: pytest.MonkeyPatch) -> list[int]:
    """How often the training step of each network the helpers compile is traced, in order of compiling.

    One trace per compile is what :func:`helpers.ctc.compile_reader` and
    :func:`helpers.training.compile_letter_model` promise.
    """
    from helpers import ctc, training

    traces: list[int] = []

    def counting(compile_for_training):
        def compile_and_count(model, *args, **kwargs) -> None:
            compile_for_training(model, *args, **kwargs)
            k = len(traces)
            traces.append(0)

            def train_step(batch):
                traces[k] += 1  # runs only while TensorFlow traces the step
                return type(model).train_step(model, batch)

            model.train_step = train_step

        return compile_and_count

    monkeypatch.setattr(ctc, "compile_reader", counting(ctc.compile_reader))
    monkeypatch.setattr(training, "compile_letter_model", counting(training.compile_letter_model))
    return traces
