"""Write look-alikes of a well-known public set of noisy text captchas to a folder. Not a test.

The captchas are drawn by :mod:`helpers.lookalikes` (chapter 6's "site"). This
module also holds the command line the other look-alike scripts share. Run from
the project root:

    .venv/bin/python -m benchmarks.lookalikes --out lookalikes --count 1040 --seed 0 [--style varied]
"""

from __future__ import annotations

import argparse
from pathlib import Path

from helpers.lookalikes import STYLES, save_noisy_lookalikes


def run_writer(description: str, save, styles: dict[str, dict], count: int, style_help: str) -> None:
    """The command line of a look-alike module: ``--out``, ``--count``, ``--seed``, ``--style``; calls ``save``."""
    parser = argparse.ArgumentParser(description=description)
    parser.add_argument("--out", type=Path, required=True, help="new or empty folder to write the PNG files to")
    parser.add_argument("--count", type=int, default=count)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--style", choices=sorted(styles), default="public", help=style_help)
    args = parser.parse_args()
    paths = save(args.out, args.count, seed=args.seed, style=args.style)
    print(f"wrote {len(paths)} captchas to {args.out}")


def main() -> None:
    run_writer(__doc__.splitlines()[0], save_noisy_lookalikes, STYLES, 1040,
               "public: one typeface, as the public set (default); varied: three, harder")


if __name__ == "__main__":
    main()
