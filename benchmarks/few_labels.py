"""Learning curves with few labels: from scratch against pretrained + fine-tuned. Not a test.

For each look-alike style, seed and number of labelled captchas N, both readers
are trained exactly as ``captcha-lab train --model ctc`` trains them (90 % of
the N to train on, 10 % to validate), one from scratch and one with ``--init``
a pretrained reader, and both read the same 400 test captchas, drawn apart
from every training captcha. Prints one markdown table: exact match and
character accuracy with 95 % intervals, training seconds.

With ``--orders random,picked`` the fine-tuned reader also learns from the N captchas
``captcha-lab pick`` lists first (the pretrained reader, its alphabet mapped to the
site's, least sure first, no near-copies) out of a pool of ``--pool`` unlabelled
captchas, beside the first N of the pool, which are a random sample.

The pretrained reader is made first with ``captcha-lab pretrain`` (the same
function), or given with ``--init``. The look-alike sets are drawn by this
folder's code in styles the pretraining stream does not contain: the noisy
style's DejaVu Serif typeface is left out of the stream on purpose.

Run from the project root, for example:

    .venv/bin/python -m benchmarks.few_labels --init pretrained.model --labels 50,100,200,400,800 --seeds 0,1,2
    .venv/bin/python -m benchmarks.few_labels --pretrain-minutes 10 --labels 200 --seeds 0
    .venv/bin/python -m benchmarks.few_labels --init models/pretrained.model --methods pretrained \
        --orders random,picked --pool 1000 --labels 50,100,200 --seeds 0,1,2
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path


TEST_COUNT = 400


def noisy_set(style: str, seed: int, most: int) -> tuple[tuple[list, list], tuple[list, list]]:
    """(up to ``most`` training captchas, 400 test captchas) of a noisy look-alike style, all labels different."""
    from helpers.lookalikes import noisy_lookalikes

    images, labels = noisy_lookalikes(most + TEST_COUNT, seed=seed, style=style)
    return (images[:most], labels[:most]), (images[most:], labels[most:])


STYLES = {"noisy": "public", "noisy-varied": "varied"}


def picked_order(init, images: list, alphabet: str, count: int) -> list[int]:
    """Indices of ``count`` pool captchas in the order ``captcha-lab pick`` lists them with the pretrained
    reader, its alphabet mapped to the site's: least sure first, no near-copies."""
    from helpers.picking import pick_to_label
    from helpers.readers import Reader
    from helpers.transfer import adapt_alphabet

    mapped, _ = adapt_alphabet(init.model, alphabet)
    return [p.index for p in pick_to_label(Reader("ctc", mapped, init.info), images, count)]


def measure(style: str, labels_counts: list[int], seed: int, init, methods: list[str],
            orders: tuple[str, ...] = ("random",), pool_size: int = 0) -> list[dict]:
    """Train the readers on N captchas of the pool for each N and order; score them on the same test captchas."""
    from helpers.evaluation import letter_accuracy, percent_with_interval
    from helpers.benchmark import learning_curve

    pool, test = noisy_set(STYLES[style], seed, max(pool_size, max(labels_counts)))
    rows = []
    for order in orders:
        ordered = pool
        if order == "picked":
            alphabet = "".join(sorted(set("".join(pool[1]))))  # the site's characters (a user knows them)
            index = picked_order(init, pool[0], alphabet, max(labels_counts))
            ordered = ([pool[0][i] for i in index], [pool[1][i] for i in index])
        points = learning_curve(ordered, test, labels_counts, init=init, seed=seed, methods=methods,
                                report=lambda line: print(f"{style} seed {seed} {order} {line}", file=sys.stderr,
                                                          flush=True))
        rows += [{"set": style, "labels": p.labels, "method": p.method, "order": order, "seed": seed,
                  "exact %": percent_with_interval(p.right, len(p.texts)),
                  "characters %": round(100 * letter_accuracy(p.texts, test[1]), 2),
                  "epochs": p.epochs, "train s": p.seconds, "exact": p.right / len(p.texts)} for p in points]
    return rows


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--init", type=Path, help="a pretrained reader file (captcha-lab pretrain)")
    parser.add_argument("--pretrain-minutes", type=float, help="make one first, with this budget")
    parser.add_argument("--pretrain-steps", type=int, help="make one first, with this step budget")
    parser.add_argument("--sets", default="noisy", help=f"comma-separated, from {', '.join(STYLES)}")
    parser.add_argument("--labels", default="50,100,200,400,800", help="comma-separated labelled-set sizes")
    parser.add_argument("--methods", default="scratch,pretrained", help="scratch, pretrained or both")
    parser.add_argument("--seeds", default="0", help="comma-separated seeds (sets, splits and training)")
    parser.add_argument("--orders", default="random", help="which N labels: random (the pool's first N), "
                        "picked (the N captcha-lab pick lists first), or both")
    parser.add_argument("--pool", type=int, default=0, help="unlabelled captchas to pick from (default: the "
                        "largest N)")
    parser.add_argument("--json", type=Path, help="also write the rows to this JSON file")
    args = parser.parse_args()
    import pandas as pd

    from helpers.backend import native_logs_discarded
    from helpers.readers import Reader, load_reader

    with native_logs_discarded():
        if args.init is not None:
            init = load_reader(args.init, kind="ctc")
        else:
            from helpers.transfer import pretrain

            result = pretrain(seed=0, minutes=args.pretrain_minutes, steps=args.pretrain_steps,
                              report=lambda line: print(line, file=sys.stderr, flush=True))
            init = Reader("ctc", result.model, result.info)
            print(f"pretrained: {result.info['pretraining']}", file=sys.stderr, flush=True)
        rows = []
        counts = [int(n) for n in args.labels.split(",")]
        for style in args.sets.split(","):
            for seed in (int(s) for s in args.seeds.split(",")):
                rows += measure(style, counts, seed, init, args.methods.split(","),
                                tuple(args.orders.split(",")), args.pool)
    if args.json:
        args.json.write_text(json.dumps(rows, indent=1), encoding="utf-8")
    print(pd.DataFrame(rows).drop(columns="exact").to_string(index=False))


if __name__ == "__main__":
    main()
