"""The notebooks' figures: the segmentation explorer, with and without widgets."""

from __future__ import annotations

import matplotlib

matplotlib.use("Agg")

import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402

from helpers.captchas import generate_captchas  # noqa: E402
from helpers.plots import EXPLORER_SETTINGS, segmentation_explorer  # noqa: E402


def _captchas(count: int = 3) -> tuple[list[np.ndarray], list[str]]:
    made = generate_captchas(count, "medium", seed=4)
    return [c.image for c in made], [c.label for c in made]


def _edge_colours(ax) -> set[tuple[float, ...]]:
    return {tuple(np.round(patch.get_edgecolor(), 3)) for patch in ax.patches}


def test_static_explorer_shows_every_setting_for_each_captcha() -> None:
    images, labels = _captchas()
    fig = segmentation_explorer(images, labels, widgets=False)
    assert isinstance(fig, matplotlib.figure.Figure)
    assert len(fig.axes) == len(EXPLORER_SETTINGS) * len(images)
    # every panel is titled with the outcome of its cut: "ok" or the reason it failed
    titles = [ax.get_title() for ax in fig.axes]
    assert all(t == "ok" or "expected" in t or "found" in t or "no " in t for t in titles), titles
    plt.close(fig)


def test_static_explorer_judges_cuts_against_the_true_boxes() -> None:
    made = generate_captchas(2, "easy", seed=4)
    images, labels, truths = [c.image for c in made], [c.label for c in made], [c.boxes for c in made]
    # The first captcha gets its own true boxes; the second the first one's, moved 9 px: right count, misplaced.
    fig = segmentation_explorer(images, labels, [truths[0], truths[0] + np.array([9, 0, 0, 0])], widgets=False)
    default = EXPLORER_SETTINGS.index(next(s for s in EXPLORER_SETTINGS if "default" in s[0]))
    on_letters, misplaced = fig.axes[2 * default], fig.axes[2 * default + 1]
    assert on_letters.get_title() == "on the letters"
    assert _edge_colours(on_letters) == {tuple(np.round(matplotlib.colors.to_rgba("tab:green"), 3))}
    assert misplaced.get_title() == "right count, misplaced"
    assert _edge_colours(misplaced) == {tuple(np.round(matplotlib.colors.to_rgba("tab:orange"), 3))}
    plt.close(fig)


def test_interactive_explorer_has_a_slider_per_knob_and_redraws() -> None:
    import ipywidgets

    images, labels = _captchas()
    widget = segmentation_explorer(images, labels, widgets=True)
    assert isinstance(widget, ipywidgets.interactive)
    names = {child.description for child in widget.children if hasattr(child, "description")}
    assert {"captcha", "threshold", "fixed at", "opening px", "min area"} <= names
    captcha = next(c for c in widget.children if getattr(c, "description", "") == "captcha")
    assert captcha.max == len(images) - 1
    captcha.value = 2  # moving a slider redraws without error
    plt.close("all")


def test_cut_candidates_figure_shows_each_place_of_the_unsure_cut_with_its_readings() -> None:
    from helpers.plots import show_cut_candidates
    from helpers.solver import candidate_letters, candidate_pieces, cut_captcha

    image = np.full((60, 120), 245, np.uint8)
    image[26:50, 20:40] = 20  # a short block touching a tall one: one region, split in two
    image[10:50, 40:64] = 20
    cut = cut_captcha(image, 2, size=32)
    candidates = candidate_pieces(cut, offsets=(-4, 0, 4))
    letters = candidate_letters(image, cut, candidates, 32)
    assert letters.shape == (len(candidates.boxes), 32, 32) and letters.dtype == np.uint8
    proba = np.tile([[0.7, 0.2, 0.1]], (len(letters), 1))
    chosen = candidates.boxes[[0, len(candidates.boxes) - 1]]
    fig = show_cut_candidates(image, cut.boxes, chosen, candidates, letters, proba, ("a", "b", "c"))
    # the captcha on top, then the left and the right letter for each of the three cut places
    assert len(fig.axes) == 1 + 2 * 3
    assert [ax.get_title() for ax in fig.axes[1:]] == ["a 0.70"] * 6
    assert all("both 0.49" in ax.get_xlabel() for ax in fig.axes[2::2])
    plt.close(fig)
