"""The drawn stream of chapter 6 (helpers.variety): seeded, endless, and as varied as it promises."""

from __future__ import annotations

import numpy as np

from helpers.variety import PRETRAIN_ALPHABET, PRETRAIN_LENGTHS, iter_varied, make_varied


def test_the_stream_is_seeded_and_can_start_anywhere() -> None:
    a, b = make_varied(5, 17), make_varied(5, 17)
    assert a.label == b.label and np.array_equal(a.image, b.image)
    tail = list(iter_varied(5, start=16, count=2))
    assert [c.label for c in tail] == [make_varied(5, 16).label, a.label]
    assert make_varied(6, 17).label != a.label or not np.array_equal(make_varied(6, 17).image, a.image)


def test_the_stream_draws_the_variety_it_promises() -> None:
    captchas = list(iter_varied(0, count=120))
    notes = {note for c in captchas for note in c.notes}
    assert {"light on dark", "dots", "lines", "struck through", "shaded", "blurred", "jpeg"} <= notes
    lengths = {len(c.label) for c in captchas}
    assert lengths == set(range(PRETRAIN_LENGTHS[0], PRETRAIN_LENGTHS[1] + 1))
    assert set("".join(c.label for c in captchas)) <= set(PRETRAIN_ALPHABET)
    chars = "".join(c.label for c in captchas)
    assert any(ch.isdigit() for ch in chars) and any(ch.isupper() for ch in chars) and any(ch.islower() for ch in chars)
    heights = [c.image.shape[0] for c in captchas]
    assert min(heights) < 40 and max(heights) > 64
    assert all(c.image.dtype == np.uint8 and c.image.ndim == 3 and c.image.shape[2] == 3 for c in captchas)
    dark = [c for c in captchas if "light on dark" in c.notes]
    assert all(c.image.mean() < 128 for c in dark)


def test_web_looks_cover_what_real_sites_draw() -> None:
    captchas = list(iter_varied(0, count=200, web=1.0))
    assert all("web" in c.notes for c in captchas)
    assert {"case-folded", "pale", "cut at the edge", "thin lines"} <= {note for c in captchas for note in c.notes}
    labels = [c.label for c in captchas]
    assert any(label.isdigit() for label in labels) and any(label.isalpha() and label.islower() for label in labels)
    assert {len(label) for label in labels} == set(range(PRETRAIN_LENGTHS[0], PRETRAIN_LENGTHS[1] + 1))
    assert all(c.label.islower() for c in captchas if "case-folded" in c.notes)
    assert max(c.image.shape[1] / c.image.shape[0] for c in captchas) > 5  # wide canvases
    # Web looks take the place of some captchas of the stream and leave the others as they were.
    mixed, plain = list(iter_varied(0, count=60, web=0.5)), list(iter_varied(0, count=60))
    assert 15 <= sum("web" in c.notes for c in mixed) <= 45
    for a, b in zip(mixed, plain):
        assert "web" in a.notes or (a.label == b.label and np.array_equal(a.image, b.image))
