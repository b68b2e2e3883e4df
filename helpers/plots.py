"""Figures for the notebooks: captcha grids, boxes, letter galleries, bar charts.

Every function returns the matplotlib Figure it drew; the notebook calls
``plt.show()``. Call :func:`use_course_style` once per notebook for small,
consistent figures.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Any

import matplotlib.pyplot as plt
import numpy as np
from matplotlib.figure import Figure
from matplotlib.patches import Rectangle

if TYPE_CHECKING:
    from helpers.solver import CutCandidates


def use_course_style(dpi: int = 72) -> None:
    """Modest resolution (notebooks stay small) and clean axes for every figure."""
    plt.rcParams.update({
        "figure.dpi": dpi,
        "savefig.dpi": dpi,
        "axes.spines.top": False,
        "axes.spines.right": False,
        "image.cmap": "gray",
    })


def _grid(count: int, ncols: int, cell: tuple[float, float]) -> tuple[Figure, np.ndarray]:
    nrows = max(1, -(-count // ncols))
    fig, axes = plt.subplots(nrows, ncols, figsize=(cell[0] * ncols, cell[1] * nrows), squeeze=False)
    for ax in axes.flat:
        ax.set_axis_off()
    return fig, axes.flat


def show_images(images: Sequence[np.ndarray], titles: Sequence[str] | None = None, *, ncols: int = 4,
                cell: tuple[float, float] = (2.4, 1.1), title: str | None = None,
                title_colors: Sequence[str] | None = None) -> Figure:
    """A grid of images (each (H, W) gray or (H, W, 3) RGB uint8) with optional titles."""
    fig, axes = _grid(len(images), ncols, cell)
    for k, (ax, image) in enumerate(zip(axes, images)):
        ax.imshow(image, cmap="gray", vmin=0, vmax=255)
        if titles is not None:
            color = title_colors[k] if title_colors is not None else "black"
            ax.set_title(titles[k], fontsize=9, color=color, family="monospace")
    if title:
        fig.suptitle(title)
    fig.tight_layout()
    return fig


def draw_boxes(ax: plt.Axes, boxes: np.ndarray, color: str = "tab:red", labels: Sequence[str] | None = None) -> None:
    """Outline (k, 4) ``(x, y, w, h)`` boxes on an axes that shows the image."""
    for k, (x, y, w, h) in enumerate(np.asarray(boxes).reshape(-1, 4)):
        ax.add_patch(Rectangle((x - 0.5, y - 0.5), w, h, fill=False, edgecolor=color, linewidth=1.2))
        if labels is not None and k < len(labels):
            ax.text(x, y - 1, labels[k], color=color, fontsize=8, va="bottom")


def show_boxes(images: Sequence[np.ndarray], boxes: Sequence[np.ndarray], titles: Sequence[str] | None = None,
               *, truth: Sequence[np.ndarray] | None = None, ncols: int = 4,
               cell: tuple[float, float] = (2.4, 1.1), title: str | None = None) -> Figure:
    """Images with found boxes in red and, if given, true boxes in green."""
    fig, axes = _grid(len(images), ncols, cell)
    for k, (ax, image) in enumerate(zip(axes, images)):
        ax.imshow(image, cmap="gray", vmin=0, vmax=255)
        if truth is not None:
            draw_boxes(ax, truth[k], color="tab:green")
        draw_boxes(ax, boxes[k])
        if titles is not None:
            ax.set_title(titles[k], fontsize=8)
    if title:
        fig.suptitle(title)
    fig.tight_layout()
    return fig


def show_letter_gallery(images: np.ndarray, labels: np.ndarray, *, per_class: int = 6,
                        classes: Sequence[str] | None = None) -> Figure:
    """One row per class with up to ``per_class`` of its letter images ((N, S, S) uint8)."""
    classes = list(classes) if classes is not None else sorted(set(labels.tolist()))
    fig, axes = plt.subplots(len(classes), per_class, figsize=(0.55 * per_class, 0.55 * len(classes)),
                             squeeze=False)
    for row, name in enumerate(classes):
        members = np.flatnonzero(labels == name)[:per_class]
        for col in range(per_class):
            ax = axes[row, col]
            ax.set_xticks([])
            ax.set_yticks([])
            for spine in ax.spines.values():
                spine.set_visible(False)
            if col < len(members):
                ax.imshow(images[members[col]], cmap="gray", vmin=0, vmax=255)
        axes[row, 0].set_ylabel(name, rotation=0, ha="right", va="center", fontsize=9)
    fig.subplots_adjust(wspace=0.05, hspace=0.05)
    return fig


def bar_chart(values: Mapping[str, float], *, title: str, ylabel: str, figsize=(8, 2.6),
              reference: float | None = None) -> Figure:
    """A bar per key (e.g. letters per class), with an optional dashed reference line."""
    fig, ax = plt.subplots(figsize=figsize)
    ax.bar(list(values), list(values.values()), color="tab:blue")
    if reference is not None:
        ax.axhline(reference, color="tab:red", linestyle="--", linewidth=1)
    ax.set_title(title)
    ax.set_ylabel(ylabel)
    fig.tight_layout()
    return fig


def show_cut_candidates(image: np.ndarray, plain: np.ndarray, chosen: np.ndarray, candidates: "CutCandidates",
                        letters: np.ndarray, proba: np.ndarray, classes: Sequence[str],
                        boundary: int | None = None) -> Figure:
    """Recognition-guided cutting at one unsure boundary, as pictures and scores.

    Top: the captcha with the plain cut's boxes (red, ``plain`` (k, 4)) and
    the boxes guided cutting chose (green, ``chosen`` (k, 4)). Below, one
    column per candidate position of the boundary (``boundary``: its index,
    default the first unsure one): the letter left of it and the letter right
    of it as the model sees them, each with its most likely character and
    probability, and both probabilities multiplied (the placement with the
    highest product wins when no other boundary moves). ``candidates``: from
    :func:`helpers.solver.candidate_pieces`; ``letters`` (n, S, S) uint8 and
    ``proba`` (n, n_classes) belong to its n boxes; ``classes`` names the columns of ``proba``.
    Other unsure boundaries stay at their middle choice.
    """
    choices = np.asarray(candidates.choices)
    if boundary is None:
        boundary = int(np.flatnonzero(choices > 1)[0])
    b = boundary
    before = int(choices[b - 1]) // 2 if b > 0 else 0
    after = int(choices[b + 1]) // 2 if b + 1 < len(choices) else 0

    def index(piece: int, left: int, right: int) -> int | None:
        hits = np.flatnonzero((candidates.piece == piece) & (candidates.left == left) & (candidates.right == right))
        return int(hits[0]) if hits.size else None

    columns = int(choices[b])
    fig = plt.figure(figsize=(max(4.0, 1.15 * columns), 3.9))
    grid = fig.add_gridspec(3, columns, height_ratios=[1.5, 1, 1])
    top = fig.add_subplot(grid[0, :])
    top.imshow(image, cmap="gray", vmin=0, vmax=255)
    draw_boxes(top, plain)
    draw_boxes(top, chosen, color="tab:green")
    top.set_title("plain cut (red) and guided cut (green)", fontsize=9)
    top.set_axis_off()
    picked = {tuple(int(v) for v in box) for box in chosen}
    for j in range(columns):
        together, pair = 1.0, (index(b, before, j), index(b + 1, j, after))
        for row, k in zip((1, 2), pair):
            ax = fig.add_subplot(grid[row, j])
            ax.set_xticks([])
            ax.set_yticks([])
            if k is None:  # a candidate too narrow to be a letter
                together = 0.0
                continue
            best = int(np.argmax(proba[k]))
            together *= float(proba[k, best])
            ax.imshow(letters[k], cmap="gray", vmin=0, vmax=255)
            ax.set_title(f"{classes[best]} {proba[k, best]:.2f}", fontsize=8)
            kept = tuple(int(v) for v in candidates.boxes[k]) in picked
            for spine in ax.spines.values():
                spine.set_visible(True)
                spine.set_edgecolor("tab:green" if kept else "0.8")
                spine.set_linewidth(2 if kept else 1)
        column = f"x={int(candidates.boxes[pair[1]][0])}" if pair[1] is not None else ""
        ax.set_xlabel(f"{column}\nboth {together:.2f}", fontsize=8)
    fig.tight_layout()
    return fig


# The knob settings the static explorer shows, one row each: (title, segment() options).
EXPLORER_SETTINGS: tuple[tuple[str, dict], ...] = (
    ("Otsu, no clean-up", {"method": "otsu", "open_size": 1}),
    ("Otsu, opening 2 px (default)", {"method": "otsu", "open_size": 2}),
    ("Otsu, opening 4 px", {"method": "otsu", "open_size": 4}),
    ("adaptive, opening 2 px", {"method": "adaptive", "open_size": 2}),
    ("fixed threshold 100", {"method": "fixed", "threshold": 100, "open_size": 2}),
    ("fixed threshold 200", {"method": "fixed", "threshold": 200, "open_size": 2}),
)


def _draw_cut(ax: plt.Axes, image: np.ndarray, label: str, truth: np.ndarray | None = None, **knobs) -> None:
    """Show ``image`` with the boxes ``segmentation.segment(image, len(label), **knobs)`` finds.

    With ``truth``, the (k, 4) true letter boxes, the boxes are green when each
    lies on its letter (:func:`helpers.segmentation.boxes_match`), orange when
    their number is right but one is misplaced; red when the cut failed.
    """
    from helpers.segmentation import boxes_match, segment

    cut = segment(image, len(label), **knobs)
    if not cut.ok:
        color, title = "tab:red", cut.reason
    elif truth is None:
        color, title = "tab:green", "ok"
    elif boxes_match(cut.boxes, truth):
        color, title = "tab:green", "on the letters"
    else:
        color, title = "tab:orange", "right count, misplaced"
    ax.imshow(image, cmap="gray", vmin=0, vmax=255)
    draw_boxes(ax, cut.boxes, color=color)
    ax.set_title(title, fontsize=8)
    ax.set_axis_off()


def segmentation_explorer(images: Sequence[np.ndarray], labels: Sequence[str],
                          truths: Sequence[np.ndarray] | None = None, *, widgets: bool = True) -> Any:
    """Move the segmentation knobs and watch the boxes change; shows the result and returns it.

    ``images``: captchas, each (H, W) gray or (H, W, 3) RGB uint8; ``labels``
    their texts (the label length is the expected letter count); ``truths``,
    if known, one (k, 4) array of true letter boxes per captcha, which colour
    the cut (see :func:`_draw_cut`; without them green only means the count is
    right). With ``widgets`` and ipywidgets installed, it displays and returns
    an interactive widget: sliders for the captcha, threshold method, fixed
    threshold, opening size and smallest region, redrawing the boxes.
    Otherwise (no widgets, e.g. a headless run) it shows and returns a static
    Figure: the first captchas under each of :data:`EXPLORER_SETTINGS`, one
    row per setting. Assign the result (``explorer = ...``) so a notebook does
    not show it a second time.
    """
    if widgets:
        try:
            import ipywidgets
        except ImportError:
            widgets = False
    if not widgets:
        shown = min(len(images), 4)
        fig, axes = plt.subplots(len(EXPLORER_SETTINGS), shown, squeeze=False,
                                 figsize=(2.4 * shown, 1.25 * len(EXPLORER_SETTINGS)))
        for row, (name, knobs) in enumerate(EXPLORER_SETTINGS):
            for col in range(shown):
                _draw_cut(axes[row, col], images[col], labels[col], None if truths is None else truths[col],
                          **knobs)
            axes[row, 0].text(-0.05, 0.5, name, transform=axes[row, 0].transAxes, ha="right", va="center",
                              fontsize=8)
        fig.tight_layout()
        plt.show()
        return fig

    def redraw(captcha: int, method: str, threshold: int, open_size: int, min_area: int) -> None:
        fig, ax = plt.subplots(figsize=(4.8, 2.0))
        _draw_cut(ax, images[captcha], labels[captcha], None if truths is None else truths[captcha],
                  method=method, threshold=threshold, open_size=open_size, min_area=min_area)
        plt.show()

    widget = ipywidgets.interactive(
        redraw,
        captcha=ipywidgets.IntSlider(0, 0, len(images) - 1, description="captcha"),
        method=ipywidgets.Dropdown(options=["otsu", "adaptive", "fixed"], description="threshold"),
        threshold=ipywidgets.IntSlider(128, 10, 250, 5, description="fixed at"),
        open_size=ipywidgets.IntSlider(2, 1, 6, description="opening px"),
        min_area=ipywidgets.IntSlider(10, 1, 200, description="min area"),
    )
    from IPython.display import display

    display(widget)
    return widget

