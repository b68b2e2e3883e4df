"""How many captchas per second the generator draws, per level, on one core.

Run from the project root:

    .venv/bin/python -m benchmarks.generation_speed [--count 1000] [--size 160x60]

Drawing happens in this single process (no workers); PNG encoding and disk
writes are measured separately because ``save_captchas`` adds them.
The course needs at least 200 captchas per second per level at 160x60.
"""

from __future__ import annotations

import argparse
import io
import time

import numpy as np
from PIL import Image


from helpers.captcha_files import PNG_COMPRESS_LEVEL
from helpers.captchas import LEVELS, iter_captchas

TARGET_PER_SECOND = 200


def parse_size(text: str) -> tuple[int, int]:
    """'160x60' -> (160, 60)."""
    width, _, height = text.lower().partition("x")
    return int(width), int(height)


def time_level(level: str, count: int, size: tuple[int, int], seed: int) -> tuple[float, float]:
    """(captchas drawn per second, captchas drawn and PNG-encoded per second)."""
    for _ in iter_captchas(20, level, seed=seed + 1, size=size):  # warm font caches
        pass
    start = time.perf_counter()
    captchas = list(iter_captchas(count, level, seed=seed, size=size))
    drawn = time.perf_counter() - start
    start = time.perf_counter()
    for c in captchas:
        Image.fromarray(c.image).save(io.BytesIO(), format="PNG", compress_level=PNG_COMPRESS_LEVEL)
    encoded = time.perf_counter() - start
    return count / drawn, count / (drawn + encoded)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--count", type=int, default=1000, help="captchas per level (default 1000)")
    parser.add_argument("--size", type=parse_size, action="append",
                        help="WIDTHxHEIGHT, may be repeated (default: 160x60 and 72x24)")
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()
    sizes = args.size or [(160, 60), (72, 24)]

    print(f"{args.count} captchas per level, one process, numpy {np.__version__}")
    print(f"{'level':<8} {'size':>7} {'drawn/s':>9} {'+png/s':>9}  target {TARGET_PER_SECOND}/s")
    for size in sizes:
        for level in LEVELS:
            drawn, with_png = time_level(level, args.count, size, args.seed)
            verdict = "ok" if drawn >= TARGET_PER_SECOND else "TOO SLOW"
            print(f"{level:<8} {size[0]:>3}x{size[1]:<3} {drawn:>9.0f} {with_png:>9.0f}  {verdict}")


if __name__ == "__main__":
    main()
