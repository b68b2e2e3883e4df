"""Does fine-tuning need its frozen phase? Both recipes over seeds and label counts. Not a test.

For each seed and number of labelled captchas N, a pretrained reader is fine-tuned
twice on the same N captchas of a noisy look-alike (90 % to train, 10 % to
validate, as ``captcha-lab train --init`` splits them): with
``transfer.FROZEN_EPOCHS`` epochs in which only the last layer learns, and with
every layer learning from the first epoch (``frozen_epochs=0``). Both read the
same 400 test captchas. Prints one row per run (exact match with its 95 %
interval, epochs, seconds), then per N the mean over seeds and the paired
counts (test captchas only one of the two reads right) with their sign test.

Run from the project root, for example:

    .venv/bin/python -m benchmarks.frozen_phase --init models/pretrained.model --labels 50,100 --seeds 0,1,2
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

from benchmarks.few_labels import STYLES, noisy_set

parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
parser.add_argument("--init", type=Path, required=True, help="a pretrained reader file (captcha-lab pretrain)")
parser.add_argument("--set", default="noisy", choices=sorted(STYLES), help="the look-alike style")
parser.add_argument("--labels", default="50,100", help="comma-separated labelled-set sizes")
parser.add_argument("--seeds", default="0,1,2", help="comma-separated seeds (sets, splits and training)")


def main() -> None:
    args = parser.parse_args()
    import numpy as np
    import pandas as pd

    from helpers import ctc, transfer
    from helpers.backend import native_logs_discarded
    from helpers.datasets import split_by_captcha
    from helpers.evaluation import percent_with_interval, sign_test
    from helpers.readers import load_reader

    counts = [int(n) for n in args.labels.split(",")]
    rows, right = [], {}
    with native_logs_discarded():
        init = load_reader(args.init, kind="ctc")
        for seed in (int(s) for s in args.seeds.split(",")):
            pool, test = noisy_set(STYLES[args.set], seed, max(counts))
            for n in counts:
                split = split_by_captcha(n, seed=seed, fractions=(0.9, 0.1, 0.0))
                train, validation = (([pool[0][i] for i in split[p]], [pool[1][i] for i in split[p]])
                                     for p in ("train", "validation"))
                alphabet = "".join(sorted(set("".join(train[1] + validation[1]))))
                for frozen in (transfer.FROZEN_EPOCHS, 0):
                    start = time.perf_counter()
                    model, history, _ = transfer.fine_tune(init.model, train, validation, alphabet=alphabet,
                                                           seed=seed, frozen_epochs=frozen)
                    texts = ctc.predict_labels(model, test[0])
                    hits = np.array([t == y for t, y in zip(texts, test[1])])
                    right[seed, n, frozen] = hits
                    rows.append({"labels": n, "seed": seed, "frozen epochs": frozen,
                                 "exact %": percent_with_interval(int(hits.sum()), len(hits)),
                                 "epochs": len(history["loss"]), "seconds": round(time.perf_counter() - start, 1)})
                    print(rows[-1], file=sys.stderr, flush=True)
    print(pd.DataFrame(rows).to_string(index=False))
    frozen = transfer.FROZEN_EPOCHS
    for n in counts:
        seeds = sorted({s for s, m, _ in right if m == n})
        mean = {f: 100 * np.mean([right[s, n, f].mean() for s in seeds]) for f in (frozen, 0)}
        only_frozen = sum(int((right[s, n, frozen] & ~right[s, n, 0]).sum()) for s in seeds)
        only_unfrozen = sum(int((right[s, n, 0] & ~right[s, n, frozen]).sum()) for s in seeds)
        print(f"N={n}: mean over {len(seeds)} seeds {mean[frozen]:.2f} % with {frozen} frozen epochs, "
              f"{mean[0]:.2f} % with none; read right by only one of them: {only_frozen} (frozen) / "
              f"{only_unfrozen} (none), sign test {sign_test(only_frozen, only_unfrozen):.3f}")

if __name__ == "__main__":
    main()
