"""How far a few-label reader's confidence can be trusted, before and after calibration. Not a test.

For each seed, a CTC reader is fine-tuned from a pretrained one on 200 captchas
of the noisy look-alike exactly as ``captcha-lab train --init`` does (180 to
train, 20 to validate, and calibrated on those 20), then calibrated again on
200 more labelled captchas as ``captcha-lab calibrate`` does. Both versions
read the same 800 held-out captchas, drawn apart from all of these. Prints
one markdown table: exact match, the expected calibration error of the
confidence as read and calibrated, and at ``--max-error`` the share
``captcha-lab solve --max-error`` answers and the error among those answered.

Run from the project root, for example:

    .venv/bin/python -m benchmarks.calibration --init models/pretrained.model --seeds 0,1,2
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

LABELS, CALIBRATION, HELD_OUT = 200, 200, 800


def measure(init, seed: int, max_error: float) -> list[dict]:
    """Fine-tune on 200 labels, calibrate on its 20 validation captchas and on 200 more; score both on 800."""
    from helpers.calibration import calibrate_reader
    from helpers.datasets import split_by_captcha
    from helpers.lookalikes import noisy_lookalikes
    from helpers.training import train_reader

    images, labels = noisy_lookalikes(LABELS + CALIBRATION + HELD_OUT, seed=seed, style="public")
    split = split_by_captcha(LABELS, seed=seed, fractions=(0.9, 0.1, 0.0))
    train, validation = ([[images[i] for i in split[part]], [labels[i] for i in split[part]]]
                         for part in ("train", "validation"))
    start = time.perf_counter()
    reader = train_reader("ctc", train, validation, seed=seed, init=init)
    seconds = round(time.perf_counter() - start, 1)
    spare = slice(LABELS, LABELS + CALIBRATION)
    held = (images[LABELS + CALIBRATION:], labels[LABELS + CALIBRATION:])
    held_solutions = reader.read(held[0])
    rows = [_row("its 20 validation captchas", reader, held_solutions, held[1], seed, seconds, max_error)]
    calibrate_reader(reader, reader.read(images[spare]), labels[spare])  # as captcha-lab calibrate does
    rows.append(_row(f"{CALIBRATION} more, set aside", reader, held_solutions, held[1], seed, seconds, max_error))
    return rows


def _row(calibrated_on: str, reader, solutions, labels, seed: int, seconds: float, max_error: float) -> dict:
    """One table row: the held-out captchas' scores under the reader's current calibration."""
    from helpers.calibration import confidence_report
    from helpers.evaluation import percent_with_interval

    report = confidence_report(reader, solutions, labels, max_error=max_error)
    right = sum(s.text == label for s, label in zip(solutions, labels))
    wrong = report["error_among_answered"]
    return {"seed": seed, "calibrated on": calibrated_on, "exact %": percent_with_interval(right, len(labels)),
            "ECE as read": report["ece_raw"], "ECE calibrated": report["ece_calibrated"],
            f"answered at E={max_error:g}, %": round(100 * report["answered"], 1),
            "wrong among answered %": None if wrong is None else round(100 * wrong, 2), "train s": seconds}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--init", type=Path, required=True, help="a pretrained reader file (captcha-lab pretrain)")
    parser.add_argument("--seeds", default="0,1,2", help="comma-separated seeds (sets, splits and training)")
    parser.add_argument("--max-error", type=float, default=0.01, help="the tolerated error (default: 0.01)")
    args = parser.parse_args()
    import pandas as pd

    from helpers.backend import native_logs_discarded
    from helpers.readers import load_reader

    rows = []
    with native_logs_discarded():
        init = load_reader(args.init, kind="ctc")
        for seed in (int(s) for s in args.seeds.split(",")):
            rows += measure(init, seed, args.max_error)
            print(f"seed {seed} done", file=sys.stderr, flush=True)
    print(pd.DataFrame(rows).to_string(index=False))


if __name__ == "__main__":
    main()
