"""A new site as a user meets it: write a look-alike set, train with the command line, score on unseen captchas.

For each set and seed, the set's first ``--train`` captchas go into one folder
and the last ``--test`` into another; ``captcha-lab train --data TRAIN --model
ctc`` (plus ``--train-args``) trains a reader and ``captcha-lab evaluate``
scores it on the test folder. Both commands run as a user runs them, in
their own processes; the table gives exact match on the test captchas with
its 95 % interval and the wall time of the training command. Not a test.

With ``--unlabelled N``, the N captchas after the training ones go into a
third folder that ``train --unlabelled`` reads without labels.
``captcha-lab train`` keeps its pretrained start in the cache folder
(``$CAPTCHA_LAB_CACHE``); the first run builds it, and that time is counted.

Sets: ``generic`` (``generic_lookalikes.py``), ``digits`` (``digit_lookalikes.py``),
``noisy`` and ``wide`` (``lookalikes.py``, ``wide_lookalikes.py``).

Run from the project root, for example:

    .venv/bin/python -m benchmarks.new_site --sets generic --seeds 0,1,2
    .venv/bin/python -m benchmarks.new_site --sets digits --train-args=--colour --seeds 0
    .venv/bin/python -m benchmarks.new_site --sets generic --train 200 --unlabelled 1400 --seeds 0
    .venv/bin/python -m benchmarks.new_site --sets noisy --train 200 --test 400 --train-args=--from-scratch
"""

from __future__ import annotations

import argparse
import json
import shlex
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path

from benchmarks.digit_lookalikes import save_digit_lookalikes
from benchmarks.generic_lookalikes import save_generic_lookalikes
from helpers.lookalikes import save_noisy_lookalikes
from benchmarks.wide_lookalikes import save_wide_lookalikes

SETS: dict[str, Callable[..., list[Path]]] = {
    "generic": save_generic_lookalikes,
    "digits": save_digit_lookalikes,
    "noisy": save_noisy_lookalikes,
    "wide": save_wide_lookalikes,
}
"""Set name -> writer(folder, count, seed=...) of new files."""


def split_folder(name: str, seed: int, n_train: int, n_unlabelled: int, n_test: int,
                 work: Path) -> tuple[Path, Path, Path]:
    """Write (or reuse) the set and link its first ``n_train`` files into train/, the next ``n_unlabelled`` into
    unlabelled/ (their names are their labels: train reports the pseudo-labels' precision from them) and the
    last ``n_test`` into test/."""
    base = work / f"{name}-seed{seed}-{n_train}+{n_unlabelled}+{n_test}"
    train, unlabelled, test = base / "train", base / "unlabelled", base / "test"
    if not (train.is_dir() and test.is_dir()):
        paths = SETS[name](base / "all", n_train + n_unlabelled + n_test, seed=seed)
        parts = ((train, paths[:n_train]), (unlabelled, paths[n_train:n_train + n_unlabelled]),
                 (test, paths[n_train + n_unlabelled:]))
        for folder, part in parts:
            folder.mkdir(parents=True)
            for path in part:
                (folder / path.name).symlink_to(Path("..") / "all" / path.name)
    return train, unlabelled, test


def measure(name: str, seed: int, n_train: int, n_unlabelled: int, n_test: int, train_args: list[str],
            work: Path) -> dict:
    """Train a CTC reader on the set's training folder with the command line, evaluate it on the test folder."""
    train, unlabelled, test = split_folder(name, seed, n_train, n_unlabelled, n_test, work)
    if n_unlabelled:
        train_args = [*train_args, "--unlabelled", str(unlabelled)]
    tag = "-".join(a.strip("-").replace("/", "_") for a in train_args if "/" not in a)[:40] or "default"
    model, scores = work / f"{train.parent.name}-{tag}.model", work / f"{train.parent.name}-{tag}.json"
    lab = str(Path(sys.executable).with_name("captcha-lab"))
    start = time.perf_counter()
    subprocess.run([lab, "train", "--data", str(train), "--model", "ctc", "--out", str(model), "--seed", str(seed),
                    "--overwrite", *train_args], check=True)
    seconds = time.perf_counter() - start
    subprocess.run([lab, "evaluate", "--model", str(model), "--data", str(test), "--json", str(scores),
                    "--overwrite", "--quiet"], check=True)
    result = json.loads(scores.read_text(encoding="utf-8"))["scores"]
    low, high = result["exact_interval_95"]
    return {"set": name, "seed": seed, "train": n_train, "unlabelled": n_unlabelled, "test": n_test,
            "options": " ".join(a for a in train_args if "/" not in a),
            "exact %": round(100 * result["exact"], 2), "95 % interval": f"{100 * low:.1f}-{100 * high:.1f}",
            "characters %": round(100 * result["characters"], 2), "train command s": round(seconds)}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sets", default="generic", help=f"comma-separated, from {', '.join(SETS)}")
    parser.add_argument("--seeds", default="0", help="comma-separated seeds (set drawing, split and training)")
    parser.add_argument("--train", type=int, default=1600, help="captchas to train on (default: 1600)")
    parser.add_argument("--unlabelled", type=int, default=0,
                        help="captchas after the training ones given to train --unlabelled (default: 0)")
    parser.add_argument("--test", type=int, default=400, help="captchas to score on (default: 400)")
    parser.add_argument("--train-args", default="", help="more options for captcha-lab train, in one string")
    parser.add_argument("--work", type=Path, default=Path("new_site"), help="folder for the sets and readers")
    parser.add_argument("--json", type=Path, help="also write the rows to this JSON file")
    args = parser.parse_args()
    unknown = [name for name in args.sets.split(",") if name not in SETS]
    if unknown:
        parser.error(f"unknown set(s) {', '.join(unknown)}; choose from {', '.join(SETS)}")
    import pandas as pd

    rows = [measure(name, int(seed), args.train, args.unlabelled, args.test, shlex.split(args.train_args), args.work)
            for name in args.sets.split(",") for seed in args.seeds.split(",")]
    if args.json:
        args.json.write_text(json.dumps(rows, indent=1), encoding="utf-8")
    print(pd.DataFrame(rows).to_string(index=False))


if __name__ == "__main__":
    main()
