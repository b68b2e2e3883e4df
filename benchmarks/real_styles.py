"""The course's readers on look-alikes of real captcha styles, for several seeds. Not a test.

Writes each look-alike set to a folder (kept between runs under ``--work``),
runs ``captcha-lab benchmark`` on it (``helpers.benchmark.run_benchmark``,
70 % train / 10 % validation / 20 % test) once per seed, and prints one
markdown table: whole-captcha and character accuracy, training seconds and
warm solving speed per set, model and seed. Every letter model is scored
twice, with plain cuts and with recognition-guided cuts (``<model>+guided``:
the same trained model).

Sets (``SETS``):

* ``easy`` / ``medium`` / ``hard``: the course's own levels (2,000 captchas);
* ``tight`` / ``tight-varied``: small 72x24 captchas of four tightly set letters,
  the generator's looks of that name (9,955 captchas, as the public set of
  that style);
* ``noisy`` / ``noisy-varied``: 200x50 captchas of five characters with a line
  struck through (``lookalikes.py``, 1,040 captchas, as the public set);
* ``wide`` / ``wide-varied``: 4 to 8 coloured characters, 80 px high and as wide
  as the label (``wide_lookalikes.py``);
* ``sparse`` / ``sparse-varied``: 6 (now and then 5) clean lower-case letters in a
  small patch, anywhere in a 320x110 image (``sparse_lookalikes.py``);
* ``colour`` / ``colour-dark``: the generator's looks ``colour`` and ``dark``
  as a site might set them: 200x64, five characters from the noisy set's 19
  symbols, each character in its own colour, crossing lines as bright as the
  characters but in other colours (``colour``: three to five thin ones;
  ``colour-dark``: light text on a dark background, two to four as thick as
  the strokes), saved through JPEG at quality 60 (``colour``) or 40 (``colour-dark``);
* ``colour-clean`` / ``colour-dark-clean``: the same captchas never saved as JPEG,
  to see what JPEG's blurred colours cost a colour reader;
* ``generic``: 4 to 8 characters, typeface, size, tilt and colour per captcha
  (``generic_lookalikes.py``); ``digits``: four coloured digits saved as JPEG
  (``digit_lookalikes.py``).

``--models ddddocr`` scores the free reader a user tries first, with no label
of the set, on the same test captchas (``pip install 'learning-captchas[baselines]'``).

``--colour`` also trains and scores each model that can read colour (cnn and
ctc) on the captchas in colour, as ``<model>+colour``, on the same split.

Run from the project root, for example:

    .venv/bin/python -m benchmarks.real_styles --sets tight,noisy --models cnn,ctc --seeds 0,1,2
    .venv/bin/python -m benchmarks.real_styles --sets tight --count 2000 --models cnn --seeds 0
    .venv/bin/python -m benchmarks.real_styles --sets colour,colour-dark --models ctc --colour --seeds 0,1,2
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from collections.abc import Callable
from pathlib import Path


def _write_tight(look: str) -> Callable[[Path, int, int], None]:
    def write(folder: Path, count: int, seed: int) -> None:
        from helpers.captcha_files import save_captchas
        from helpers.captchas import generate_captchas

        save_captchas(generate_captchas(count, look, seed=seed), folder)
    return write


def _write_noisy(style: str) -> Callable[[Path, int, int], None]:
    def write(folder: Path, count: int, seed: int) -> None:
        from helpers.lookalikes import save_noisy_lookalikes

        save_noisy_lookalikes(folder, count, seed=seed, style=style)
    return write


def _write_sparse(style: str) -> Callable[[Path, int, int], None]:
    def write(folder: Path, count: int, seed: int) -> None:
        from benchmarks.sparse_lookalikes import save_sparse_lookalikes

        save_sparse_lookalikes(folder, count, seed=seed, style=style)
    return write


def _write_colour(look: str, quality: int | None) -> Callable[[Path, int, int], None]:
    def write(folder: Path, count: int, seed: int) -> None:
        from helpers.lookalikes import LOOKALIKE_ALPHABET, LOOKALIKE_LENGTH

        from helpers.captcha_files import save_captchas
        from helpers.captchas import generate_captchas

        save_captchas(generate_captchas(count, look, seed=seed, alphabet=LOOKALIKE_ALPHABET,
                                        length=LOOKALIKE_LENGTH, size=(200, 64), jpeg_quality=quality), folder)
    return write


def _write_saved(module: str, function: str) -> Callable[[Path, int, int], None]:
    """A writer that calls ``benchmarks.<module>.<function>(folder, count, seed=seed)``."""
    def write(folder: Path, count: int, seed: int) -> None:
        import importlib

        getattr(importlib.import_module(f"benchmarks.{module}"), function)(folder, count, seed=seed)
    return write


def _write_wide(style: str) -> Callable[[Path, int, int], None]:
    def write(folder: Path, count: int, seed: int) -> None:
        from benchmarks.wide_lookalikes import save_wide_lookalikes

        save_wide_lookalikes(folder, count, seed=seed, style=style)
    return write


SETS: dict[str, tuple[Callable[[Path, int, int], None], int]] = {
    "easy": (_write_tight("easy"), 2000),
    "medium": (_write_tight("medium"), 2000),
    "hard": (_write_tight("hard"), 2000),
    "tight": (_write_tight("tight"), 9955),
    "tight-varied": (_write_tight("tight-varied"), 9955),
    "noisy": (_write_noisy("public"), 1040),
    "noisy-varied": (_write_noisy("varied"), 1040),
    "wide": (_write_wide("public"), 2000),
    "wide-varied": (_write_wide("varied"), 2000),
    "sparse": (_write_sparse("public"), 2000),
    "sparse-varied": (_write_sparse("varied"), 2000),
    "colour": (_write_colour("colour", 60), 2000),
    "colour-dark": (_write_colour("dark", 40), 2000),
    "colour-clean": (_write_colour("colour", None), 2000),
    "colour-dark-clean": (_write_colour("dark", None), 2000),
    "generic": (_write_saved("generic_lookalikes", "save_generic_lookalikes"), 2000),
    "digits": (_write_saved("digit_lookalikes", "save_digit_lookalikes"), 2000),
}
"""Set name -> (writer(folder, count, seed), the public set's size)."""


def measure(name: str, models: list[str], seed: int, count: int | None, work: Path,
            colour: bool = False) -> list[dict]:
    """Write (or reuse) the set drawn with ``seed`` and benchmark ``models`` on it with the same seed."""
    from helpers.benchmark import run_benchmark

    writer, size = SETS[name]
    count = count or size
    folder = work / f"{name}-{count}-seed{seed}"
    if not folder.is_dir():
        writer(folder, count, seed)
    start = time.perf_counter()
    results = run_benchmark(folder, models, seed=seed, test_fraction=0.2, guided=True, colour=colour,
                            report=lambda line: print(f"{name} seed {seed}: {line}", file=sys.stderr, flush=True))
    rows = []
    for model, scores in results["models"].items():
        rows.append({"set": name, "captchas": count, "model": model, "seed": seed,
                     "captchas %": round(100 * scores["captcha_accuracy"], 2),
                     "characters %": round(100 * scores["letter_accuracy"], 2),
                     "wrong piece count %": round(100 * scores["segmentation_failure_rate"], 2),
                     "train s": scores["train_seconds"], "solve/s": round(scores["solve_per_second"]),
                     "first call s": scores["first_call_seconds"]})
    print(f"{name} seed {seed}: {time.perf_counter() - start:.0f} s in all", file=sys.stderr, flush=True)
    return rows


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sets", default="tight,noisy", help=f"comma-separated, from {', '.join(SETS)}")
    parser.add_argument("--models", default="cnn,ctc", help="comma-separated benchmark models")
    parser.add_argument("--seeds", default="0,1,2", help="comma-separated seeds (set drawing and training)")
    parser.add_argument("--count", type=int, help="captchas per set (default: the public set's size)")
    parser.add_argument("--work", type=Path, default=Path("real_styles"), help="folder for the sets")
    parser.add_argument("--json", type=Path, help="also write the rows to this JSON file")
    parser.add_argument("--colour", action="store_true", help="also score the models that can read colour in colour")
    args = parser.parse_args()
    import pandas as pd

    from helpers.backend import native_logs_discarded

    unknown = [name for name in args.sets.split(",") if name not in SETS]
    if unknown:
        parser.error(f"unknown set(s) {', '.join(unknown)}; choose from {', '.join(SETS)}")
    rows = []
    with native_logs_discarded():  # TensorFlow's C++ lines stay out of the table
        for name in args.sets.split(","):
            for seed in (int(s) for s in args.seeds.split(",")):
                rows += measure(name, args.models.split(","), seed, args.count, args.work, args.colour)
    if args.json:
        args.json.write_text(json.dumps(rows, indent=1), encoding="utf-8")
    print(pd.DataFrame(rows).to_string(index=False))


if __name__ == "__main__":
    main()
