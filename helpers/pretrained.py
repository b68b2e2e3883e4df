"""The pretrained reader ``captcha-lab train --model ctc`` starts from, built once and kept in the user's cache.

A CTC reader trained from nothing on a site whose captchas look like nothing
it knows can sit on the all-blank plateau for its whole budget and read
nothing. Starting from a reader pretrained on drawn captchas
(:func:`helpers.transfer.pretrain`) avoids that, so ``train`` starts from one
unless it is told ``--from-scratch`` or given another with ``--init``.

The start is one fixed recipe (``START``: seed, step budget and the stream's
share of web looks), so it is the same reader on every run on one machine;
``captcha-lab pretrain`` with the same options builds the same reader
(:func:`start_command` prints that command). The first ``train`` that needs
it builds it (with a progress bar; its 6,000 steps took 56 minutes on one
core, with the captchas drawn in the same process and the other core busy)
and keeps it in the user's cache folder (:func:`cache_folder`); later runs
load it from there.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from helpers.readers import Reader

__all__ = ["CACHE_ENV", "PREPARATION", "START", "StartRecipe", "cache_folder", "cached_start", "load_or_build_start",
           "start_command"]

CACHE_ENV: str = "CAPTCHA_LAB_CACHE"
"""Environment variable naming the cache folder (overrides the user's cache folder)."""

PREPARATION: int = 3
"""Counts the changes to how the drawn captchas are prepared for the reader (2: the text box ignores thin
lines across the captcha; 3: and is at least 2.5 times as wide as high); part of the cache file's name, so
that a start pretrained before a change is not reused."""


@dataclass(frozen=True)
class StartRecipe:
    """How the default pretrained reader is made: ``pretrain(seed=seed, steps=steps, minutes=None, web=web)``."""

    seed: int = 0
    steps: int = 6000
    web: float = 0.5

    @property
    def file_name(self) -> str:
        """Its file name in the cache: every choice of the recipe is in the name."""
        return f"pretrained-v{PREPARATION}-seed{self.seed}-steps{self.steps}-web{self.web:g}.model"


START = StartRecipe()
"""The recipe of ``train``'s default start."""


def cache_folder() -> Path:
    """Where the pretrained start is kept: ``$CAPTCHA_LAB_CACHE`` if set, else the user's cache folder for
    this project (``~/.cache/learning-captchas`` on Linux, as ``platformdirs`` decides elsewhere)."""
    if os.environ.get(CACHE_ENV):
        return Path(os.environ[CACHE_ENV]).expanduser()
    import platformdirs

    return Path(platformdirs.user_cache_dir("learning-captchas", appauthor=False))


def cached_start(recipe: StartRecipe | None = None) -> Path:
    """The path of the pretrained start (``recipe``, default ``START``) in the cache (it may not exist yet)."""
    return cache_folder() / (recipe or START).file_name


def start_command(recipe: StartRecipe | None = None, out: str = "pretrained.model") -> str:
    """The ``captcha-lab pretrain`` command that builds the same reader as ``recipe`` (default ``START``)."""
    recipe = recipe or START
    return f"captcha-lab pretrain --seed {recipe.seed} --steps {recipe.steps} --web {recipe.web:g} --out {out}"


def load_or_build_start(recipe: StartRecipe | None = None, *, report: Callable[[str], None] = lambda _: None,
                        progress_bar: bool = True) -> tuple["Reader", Path, bool]:
    """The pretrained start ``recipe`` (default ``START``) from the cache, built there first if it is missing.

    Building runs :func:`helpers.transfer.pretrain` with the recipe, shows a
    progress bar of its steps (tqdm, unless ``progress_bar`` is False) and
    writes the reader file atomically, so an interrupted build leaves nothing
    behind and two builds at once each leave a whole file.

    Returns:
        ``(reader, path, built)``: ``built`` is True when this call pretrained it.
    """
    from helpers.readers import Reader, load_reader, save_reader

    recipe = recipe or START
    path = cached_start(recipe)
    if path.is_file():
        return load_reader(path, kind="ctc"), path, False
    from tqdm.auto import tqdm

    from helpers.transfer import pretrain  # needs TensorFlow: imported before anything is written

    path.parent.mkdir(parents=True, exist_ok=True)
    report(f"no pretrained start in {path.parent} yet: building it once ({start_command(recipe)})")
    with tqdm(total=recipe.steps, unit="step", desc="pretraining", disable=not progress_bar) as bar:
        result = pretrain(seed=recipe.seed, minutes=None, steps=recipe.steps, web=recipe.web,
                          progress=lambda done: bar.update(done - bar.n))
    reader = Reader("ctc", result.model, result.info)
    save_reader(reader, path, overwrite=True)
    return reader, path, True
