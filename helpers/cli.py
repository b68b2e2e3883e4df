"""The ``captcha-lab`` command line: thin wrappers around the helpers modules.

Every subcommand calls the same functions the notebooks import, so the command
line and the course can never disagree about how a captcha is made or read.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence
from pathlib import Path

from helpers import __version__


class UsageError(Exception):
    """A problem with the user's input that the CLI reports in one line."""


def _cmd_generate(args: argparse.Namespace) -> int:
    from helpers.captchas import iter_captchas, save_captchas

    from tqdm import tqdm

    captchas = list(
        tqdm(
            iter_captchas(
                args.count,
                args.level,
                seed=args.seed,
                alphabet=args.alphabet,
                length=args.length,
                size=(args.width, args.height),
            ),
            total=args.count,
            desc=f"drawing {args.level} captchas",
            disable=args.count < 500 or args.quiet,
        )
    )
    paths = save_captchas(captchas, Path(args.out), overwrite=args.overwrite,
                          progress=args.count >= 500 and not args.quiet, file_format=args.format)
    print(f"wrote {len(paths)} {args.level} captchas to {args.out}")
    return 0


def _add_generate(sub: argparse._SubParsersAction) -> None:
    from helpers.captchas import DEFAULT_ALPHABET, DEFAULT_SIZE, FILE_FORMATS, LEVELS

    p = sub.add_parser("generate", help="write a folder of labelled, seeded captchas",
                       description="Draw N captchas and save them as OUT/<label>.png "
                       "(the same seed always gives byte-identical files).")
    p.add_argument("--level", choices=LEVELS, default="easy", help="difficulty (default: easy)")
    p.add_argument("--count", type=int, required=True, help="how many captchas")
    p.add_argument("--seed", type=int, default=0, help="random seed (default: 0)")
    p.add_argument("--out", required=True, help="output folder (must be empty or new)")
    p.add_argument("--alphabet", default=DEFAULT_ALPHABET, help="characters to draw from")
    p.add_argument("--length", type=int, default=4, help="characters per captcha (default: 4)")
    p.add_argument("--width", type=int, default=DEFAULT_SIZE[0], help="image width in pixels")
    p.add_argument("--height", type=int, default=DEFAULT_SIZE[1], help="image height in pixels")
    p.add_argument("--format", choices=FILE_FORMATS, default="png",
                   help="png: <label>.png files; jpg+txt: 00001.jpg with its label in 00001.txt (default: png)")
    p.add_argument("--overwrite", action="store_true",
                   help="write into a non-empty folder, replacing same-named captchas only")
    p.add_argument("--quiet", action="store_true", help="no progress bar")
    p.set_defaults(func=_cmd_generate)


def _cmd_run(args: argparse.Namespace) -> int:
    from helpers.runs import format_results_table, parse_overrides, run_series

    overrides = parse_overrides(args.parameter)
    notebooks = args.notebooks.split(",") if args.notebooks else None
    run = run_series(Path(args.notebooks_dir), Path(args.out), notebooks=notebooks,
                     parameters=overrides, progress=not args.quiet)
    print(f"executed notebooks and results.json are in {run.folder}")
    print(format_results_table(run.results))
    return 0


def _add_run(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("run", help="execute the notebook series headless with papermill",
                       description="Execute the course's notebooks (all, or some) with papermill "
                       "into a new folder under --out, with a results.json summary.")
    p.add_argument("--notebooks", help="comma-separated chapter numbers, e.g. 01,03 (default: all)")
    p.add_argument("-p", "--parameter", action="append", default=[], metavar="NAME=VALUE",
                   help="override a notebook parameter (repeatable)")
    p.add_argument("--out", default="runs", help="parent folder for the run (default: runs)")
    p.add_argument("--notebooks-dir", default="notebooks", help="where the notebooks are")
    p.add_argument("--quiet", action="store_true", help="no progress bar")
    p.set_defaults(func=_cmd_run)


def _cmd_solve(args: argparse.Namespace) -> int:
    from helpers.captchas import CaptchaDataError, read_image
    from helpers.models import ModelFileError, load_classifier
    import numpy as np

    from helpers.solver import solve

    try:
        model = load_classifier(Path(args.model))
    except ModelFileError as exc:
        raise UsageError(str(exc)) from None
    lines: dict[int, str] = {}
    readable: list[tuple[int, np.ndarray]] = []
    for k, name in enumerate(args.images):
        try:
            readable.append((k, read_image(Path(name))))
        except CaptchaDataError as exc:
            lines[k] = f"{name}\t(unreadable: {str(exc).removeprefix(f'{name}: ')})"
    solutions = solve([image for _, image in readable], model, args.length)
    for (k, _), solution in zip(readable, solutions):
        name = args.images[k]
        lines[k] = f"{name}\t{solution.text}" if solution.ok else f"{name}\t(not solved: {solution.reason})"
    for k in range(len(args.images)):
        print(lines[k])
    failures = len(args.images) - sum(s.ok for s in solutions)
    return 1 if failures else 0


def _add_solve(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("solve", help="read captcha images with a trained model",
                       description="Print one line per image: its path and the predicted label.")
    p.add_argument("images", nargs="+", metavar="IMAGE", help="captcha image files (PNG, JPG, BMP)")
    p.add_argument("--model", default="models/cnn.keras",
                   help="a model saved by notebook 02 or 03 (default: models/cnn.keras)")
    p.add_argument("--length", type=int, default=4, help="characters per captcha (default: 4)")
    p.set_defaults(func=_cmd_solve)


def _cmd_benchmark(args: argparse.Namespace) -> int:
    import json

    from helpers.benchmark import format_table, parse_models, run_benchmark

    models = parse_models(args.models)
    json_path = Path(args.json) if args.json else None
    if json_path is not None:
        if json_path.is_dir():
            raise UsageError(f"--json {json_path} is a folder; give a file name such as {json_path / 'results.json'}")
        if not json_path.parent.is_dir():
            raise UsageError(f"the folder of --json {json_path} does not exist; create it first")
        if json_path.exists() and not args.overwrite:
            raise UsageError(f"{json_path} already exists; choose another --json file or pass --overwrite")
    results = run_benchmark(Path(args.data), models, test_fraction=args.test_fraction, seed=args.seed,
                            skip_bad=args.skip_bad,
                            report=(lambda line: None) if args.quiet else (lambda line: print(line, file=sys.stderr)))
    print(format_table(results))
    if json_path is not None:
        tmp = json_path.with_name(f".{json_path.name}.partial")
        tmp.write_text(json.dumps(results, indent=2), encoding="utf-8")
        tmp.replace(json_path)
    return 0


def _add_benchmark(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("benchmark", help="train and score the course's models on a folder of labelled captchas",
                       description="Split the captchas, cut training captchas into letters, train each model, "
                       "solve the test captchas and report accuracy (failed cuts count as wrong).")
    p.add_argument("--data", required=True, help="folder of labelled captchas (<label>.png, or image + .txt)")
    p.add_argument("--models", default="rf,cnn,cnn-original",
                   help="comma-separated: rf, cnn, cnn-original, ctc, or all (default: rf,cnn,cnn-original)")
    p.add_argument("--test-fraction", type=float, default=0.2, help="share of captchas for testing (default: 0.2)")
    p.add_argument("--seed", type=int, default=0, help="random seed (default: 0)")
    p.add_argument("--json", help="also write the results to this JSON file")
    p.add_argument("--overwrite", action="store_true", help="replace an existing --json file")
    p.add_argument("--skip-bad", action="store_true", help="skip unreadable or unlabelled files (counted)")
    p.add_argument("--quiet", action="store_true", help="no progress messages")
    p.set_defaults(func=_cmd_benchmark)


def _cmd_runs(args: argparse.Namespace) -> int:
    from helpers.runs import list_runs

    table = list_runs(Path(args.out))
    if table.empty:
        print(f"no runs in {args.out} yet; start one with captcha-lab run")
        return 0
    print(table.fillna("").to_string())
    return 0


def _add_runs(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("runs", help="list earlier runs with their parameters and scores, side by side")
    p.add_argument("--out", default="runs", help="the folder holding the runs (default: runs)")
    p.set_defaults(func=_cmd_runs)


def build_parser() -> argparse.ArgumentParser:
    """The ``captcha-lab`` argument parser with all subcommands."""
    parser = argparse.ArgumentParser(
        prog="captcha-lab",
        description="Learning Captchas: make captchas, run the course's notebooks, "
        "and measure its methods on your own captchas.",
    )
    parser.add_argument("--version", action="version", version=f"%(prog)s {__version__}")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    _add_generate(sub)
    _add_solve(sub)
    _add_benchmark(sub)
    _add_run(sub)
    _add_runs(sub)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of ``captcha-lab``; returns the process exit code."""
    from helpers.captchas import CaptchaDataError
    from helpers.runs import RunError

    parser = build_parser()
    args = parser.parse_args(argv)
    if args.command is None:
        parser.print_help()
        return 2
    try:
        return args.func(args)
    except (UsageError, CaptchaDataError, RunError) as exc:
        print(f"captcha-lab {args.command}: error: {exc}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print(f"captcha-lab {args.command}: interrupted", file=sys.stderr)
        return 130
    except BrokenPipeError:  # e.g. `captcha-lab solve … | head`
        return 0
    except Exception as exc:
        if type(exc).__name__ != "PapermillExecutionError":
            raise
        print(f"captcha-lab {args.command}: error: a notebook failed: {exc.ename}: {exc.evalue} "
              "(the executed copy in the run folder shows the failing cell)", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
