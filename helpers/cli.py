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
from helpers.files import write_text_atomically, written_atomically


COURSE_PACKAGES = frozenset({"tensorflow", "keras", "sklearn", "skops", "pandas", "matplotlib", "papermill",
                             "nbformat", "tf2onnx", "onnx", "scipy"})
"""Packages of the ``course`` extra: a command that needs one tells a light install how to get it."""


class UsageError(Exception):
    """A problem with the user's input that the CLI reports in one line."""


# Arguments of library functions whose option here has another name (the rest: ``--`` + the name with dashes).
OPTIONS = {"out_parent": "--out"}


def _message(exc: Exception) -> str:
    """An error's message as the command line says it: the option that fixes it, not the Python argument."""
    from helpers.errors import CourseError

    return exc.for_command_line(OPTIONS) if isinstance(exc, CourseError) else str(exc)


def _cmd_generate(args: argparse.Namespace) -> int:
    from helpers.captcha_files import save_captchas
    from helpers.captchas import iter_captchas

    from tqdm import tqdm

    captchas = list(
        tqdm(
            iter_captchas(
                args.count,
                args.level,
                seed=args.seed,
                alphabet=args.alphabet,
                length=args.length,
                size=_generate_size(args),
                jpeg_quality=args.jpeg_quality,
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


def _generate_size(args: argparse.Namespace) -> tuple[int, int] | None:
    """(width, height) from --width/--height; the look's own size for whichever is not given."""
    if args.width is None and args.height is None:
        return None
    from helpers.captchas import look_size

    width, height = look_size(args.level)
    return (width if args.width is None else args.width, height if args.height is None else args.height)


def _add_generate(sub: argparse._SubParsersAction) -> None:
    from helpers.captcha_files import FILE_FORMATS
    from helpers.captchas import DEFAULT_ALPHABET, DEFAULT_SIZE, LOOKS

    p = sub.add_parser("generate", help="write a folder of labelled, seeded captchas",
                       description="Draw N captchas and save them as OUT/<label>.png "
                       "(the same seed always gives byte-identical files).")
    p.add_argument("--level", choices=LOOKS, default="easy",
                   help="difficulty, or a real site's style: tight, tight-varied; in colour: colour, dark "
                        "(light on dark) (default: easy)")
    p.add_argument("--count", type=int, required=True, help="how many captchas")
    p.add_argument("--seed", type=int, default=0, help="random seed (default: 0)")
    p.add_argument("--out", required=True, help="output folder (must be empty or new)")
    p.add_argument("--alphabet", default=DEFAULT_ALPHABET, help="characters to draw from")
    p.add_argument("--length", type=int, default=4, help="characters per captcha (default: 4)")
    p.add_argument("--width", type=int, help=f"image width in pixels (default: {DEFAULT_SIZE[0]}, tight looks 72)")
    p.add_argument("--height", type=int, help=f"image height in pixels (default: {DEFAULT_SIZE[1]}, tight looks 24)")
    p.add_argument("--format", choices=FILE_FORMATS, default="png",
                   help="png: <label>.png files; jpg+txt: 00001.jpg with its label in 00001.txt (default: png)")
    p.add_argument("--jpeg-quality", type=int, metavar="Q",
                   help="add JPEG compression artefacts at quality Q (1-95; lower is blockier)")
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


def _progress(args: argparse.Namespace):
    """Where progress lines go: standard error, or nowhere with --quiet."""
    return (lambda line: None) if getattr(args, "quiet", False) else (lambda line: print(line, file=sys.stderr))


def _load_reader(path: str):
    from helpers.models import ModelFileError
    from helpers.readers import load_reader

    try:
        return load_reader(Path(path))
    except ModelFileError as exc:
        raise UsageError(_message(exc)) from None


def _cmd_train(args: argparse.Namespace) -> int:
    from helpers.calibration import ENOUGH_TO_CALIBRATE
    from helpers.captcha_files import load_captchas
    from helpers.datasets import split_by_captcha
    from helpers.models import ModelFileError
    from helpers.readers import check_output, load_reader, reader_summary, save_reader
    from helpers.training import COLOUR_MODELS, several_lengths_note, train_reader

    try:
        out = check_output(Path(args.out), overwrite=args.overwrite)
    except ModelFileError as exc:
        raise UsageError(_message(exc)) from None
    if not 0.02 <= args.validation_fraction <= 0.5:
        raise UsageError(f"--validation-fraction must be between 0.02 and 0.5, got {args.validation_fraction}")
    if args.epochs is not None and args.epochs < 1:
        raise UsageError(f"--epochs must be at least 1, got {args.epochs}")
    if args.unlabelled is not None and args.model != "ctc":
        raise UsageError(f"--unlabelled is for --model ctc, not {args.model}")
    if args.unlabelled is not None and not Path(args.unlabelled).is_dir():
        raise UsageError(f"--unlabelled {args.unlabelled} is not a folder; give the folder of unlabelled captchas")
    if not 0.0 < args.keep_above <= 1.0 or args.rounds < 1:
        raise UsageError(f"--keep-above must be in (0, 1] and --rounds at least 1, got {args.keep_above} and "
                         f"{args.rounds}")
    init = None
    if args.init is not None and args.from_scratch:
        raise UsageError("--init and --from-scratch contradict each other: give one of them")
    if args.init is not None:
        if args.model != "ctc":
            raise UsageError(f"--init starts from a pretrained CTC reader, so it needs --model ctc, not {args.model}")
        try:
            init = load_reader(Path(args.init), kind="ctc")
        except ModelFileError as exc:
            raise UsageError(f"--init {args.init}: {_message(exc)}; make a pretrained reader with captcha-lab pretrain") from None
    if args.from_scratch and args.model != "ctc":
        raise UsageError(f"--from-scratch is for --model ctc (the {args.model} model always starts from scratch)")
    if args.colour and args.model not in COLOUR_MODELS:
        raise UsageError(f"--colour: the {args.model} model reads gray letters; colour input is for "
                         f"--model {' or --model '.join(COLOUR_MODELS)}")
    if init is not None and init.channels == 3 and not args.colour:
        raise UsageError(f"--init {args.init} reads captchas in colour: add --colour")
    report = _progress(args)
    data = load_captchas(Path(args.data), skip_bad=args.skip_bad, colour=args.colour)
    if len(data) < 10:
        raise UsageError(f"{args.data} holds only {len(data)} captchas; training needs at least 10")
    split = split_by_captcha(len(data), seed=args.seed, fractions=(1 - args.validation_fraction,
                                                                   args.validation_fraction, 0.0))
    if data.skipped:
        report(f"skipped {len(data.skipped)} bad files, e.g. {data.skipped[0][0].name}: {data.skipped[0][1]}")
    report(f"{len(data)} captchas, alphabet {data.alphabet}, lengths {sorted(data.lengths)}; "
           f"{len(split['train'])} to train on, {len(split['validation'])} to validate")
    if several_lengths_note(args.model, data.labels):
        report(several_lengths_note(args.model, data.labels))
    unlabelled = None if args.unlabelled is None else _unlabelled(args, data, report)
    if args.model == "ctc" and init is None and not args.from_scratch:
        init = _default_start(args, report)
    elif args.model == "ctc":
        why = "--from-scratch" if init is None else f"--init {args.init}"
        print(f"start: {'from scratch' if init is None else 'the pretrained reader ' + args.init} ({why})")

    def part(name: str):
        return [data.images[i] for i in split[name]], [data.labels[i] for i in split[name]]

    if unlabelled is None:
        reader = train_reader(args.model, part("train"), part("validation"), seed=args.seed, alphabet=data.alphabet,
                              epochs=args.epochs, report=report, init=init, colour=args.colour)
    else:
        from helpers.selftraining import self_train

        reader, _ = self_train(part("train"), part("validation"), unlabelled[0], seed=args.seed,
                               alphabet=data.alphabet, init=init, epochs=args.epochs, rounds=args.rounds,
                               keep_above=args.keep_above, truth=unlabelled[1], colour=args.colour, report=report)
    reader.info["data"] = {"folder": Path(args.data).resolve().name, "captchas": len(data),
                           "train": len(split["train"]), "validation": len(split["validation"]),
                           "skipped": len(data.skipped), "seed": args.seed}
    save_reader(reader, out, overwrite=args.overwrite)
    validation = reader.info["validation"]
    print(f"validation: {100 * validation['exact']:.2f} % of {validation['captchas']} captchas exact, "
          f"{100 * validation['characters']:.2f} % of characters "
          f"(trained in {reader.info['training']['seconds']:.0f} s)")
    if validation["captchas"] < ENOUGH_TO_CALIBRATE:
        print(f"confidence: calibrated on {validation['captchas']} validation captchas only, which gives a cautious "
              f"map; to trust low error rates (solve --max-error), calibrate it on {ENOUGH_TO_CALIBRATE} or more "
              "labelled captchas set aside (captcha-lab calibrate)")
    print(f"saved {out}: {reader_summary(reader)}")
    return 0


def _unlabelled(args: argparse.Namespace, data, report) -> tuple[list, list[str] | None]:
    """The images of --unlabelled DIR, and their labels when the file names are labels of ``data``'s kind
    (only to report the pseudo-labels' precision; training never sees them)."""
    from helpers.captcha_files import load_captchas
    from helpers.errors import CaptchaDataError

    paths, problems, readable = _read_files([args.unlabelled], colour=args.colour)
    if problems:
        report(f"--unlabelled: skipped {len(problems)} unreadable files, e.g. {paths[min(problems)].name}")
    images = [image for _, image in readable]
    try:
        named = load_captchas(Path(args.unlabelled), skip_bad=True)
    except CaptchaDataError:
        named = None
    lengths = set(data.lengths)
    truth = None
    if (named is not None and not named.skipped and len(named) == len(images)
            and all(set(label) <= set(data.alphabet) and len(label) in lengths for label in named.labels)):
        truth = named.labels
        report(f"--unlabelled: {len(images)} captchas; their file names look like labels, so the precision of "
               "the kept readings is reported (training never sees those names)")
    else:
        report(f"--unlabelled: {len(images)} captchas")
    if not images:
        raise UsageError(f"--unlabelled {args.unlabelled}: no readable captcha images")
    return images, truth


def _default_start(args: argparse.Namespace, report):
    """The pretrained reader ``train --model ctc`` starts from by default (built into the cache once)."""
    from helpers.models import ModelFileError
    from helpers.pretrained import load_or_build_start, start_command

    try:
        init, path, built = load_or_build_start(report=report, progress_bar=not args.quiet)
    except ModelFileError as exc:
        raise UsageError(f"the pretrained start could not be read: {_message(exc)}; delete that file to build it again, "
                         "or pass --from-scratch") from None
    print(f"start: the pretrained reader {path} ({'built now' if built else 'cached'}; the same as "
          f"{start_command()}); --from-scratch trains without it")
    return init


def _add_train(sub: argparse._SubParsersAction) -> None:
    from helpers.selftraining import KEEP_ABOVE, ROUNDS
    from helpers.training import MODEL_NAMES

    p = sub.add_parser("train", help="train one model on a folder of labelled captchas and save it",
                       description="Train one model on every labelled captcha in DATA (a validation share is "
                       "carved out for early stopping and reported) and save it as one reader file that "
                       "solve and evaluate read.")
    p.add_argument("--data", required=True, help="folder of labelled captchas (<label>.png, or image + .txt)")
    p.add_argument("--model", required=True, choices=MODEL_NAMES,
                   help="ctc: reads whole captchas of any length; rf, cnn, cnn-original: cut letters, one length")
    p.add_argument("--out", required=True, help="the reader file to write, e.g. my-site.model")
    p.add_argument("--seed", type=int, default=0, help="random seed for the split and the training (default: 0)")
    p.add_argument("--epochs", type=int, help="most epochs for the networks (default: chosen from the set size; "
                   "for a pretrained start, of fine-tuning after the frozen epochs)")
    p.add_argument("--init", metavar="FILE",
                   help="with --model ctc: start from this pretrained reader (captcha-lab pretrain) and fine-tune "
                        "it; its alphabet is mapped onto the folder's (default: the course's pretrained reader, "
                        "built once into your cache folder, up to an hour)")
    p.add_argument("--from-scratch", action="store_true",
                   help="with --model ctc: train from random weights instead of a pretrained reader")
    p.add_argument("--unlabelled", metavar="DIR",
                   help="with --model ctc: a folder of the site's captchas without labels; the reader labels "
                        "those it reads most surely and trains on them too (self-training), in --rounds rounds")
    p.add_argument("--rounds", type=int, default=ROUNDS,
                   help=f"rounds of self-training with --unlabelled (default: {ROUNDS})")
    p.add_argument("--keep-above", type=float, default=KEEP_ABOVE,
                   help="with --unlabelled: keep a reading when every character is at least this sure "
                        f"(default: {KEEP_ABOVE:g})")
    p.add_argument("--validation-fraction", type=float, default=0.1,
                   help="share of captchas kept out of training to validate (default: 0.1)")
    p.add_argument("--colour", action="store_true",
                   help="read the captchas in colour, not gray (cnn, ctc); the reader file remembers it, so solve "
                        "and evaluate do the same. A gray pretrained start (ctc) learns colour input")
    p.add_argument("--overwrite", action="store_true", help="replace an existing --out file")
    p.add_argument("--skip-bad", action="store_true", help="skip unreadable or unlabelled files (counted)")
    p.add_argument("--quiet", action="store_true", help="no progress lines")
    p.set_defaults(func=_cmd_train)


def _cmd_pretrain(args: argparse.Namespace) -> int:
    from helpers.models import ModelFileError
    from helpers.readers import Reader, check_output, save_reader

    try:
        out = check_output(Path(args.out), overwrite=args.overwrite)
    except ModelFileError as exc:
        raise UsageError(_message(exc)) from None
    if args.minutes is not None and args.minutes <= 0:
        raise UsageError(f"--minutes must be positive, got {args.minutes}")
    if args.steps is not None and args.steps < 1:
        raise UsageError(f"--steps must be at least 1, got {args.steps}")
    if args.workers < 0:
        raise UsageError(f"--workers must be 0 or more, got {args.workers}")
    if not 0.0 <= args.web <= 1.0:
        raise UsageError(f"--web is a share between 0 and 1, got {args.web}")
    from helpers.transfer import PRETRAIN_MINUTES, pretrain

    minutes = args.minutes if args.minutes is not None or args.steps is not None else PRETRAIN_MINUTES
    report = _progress(args)
    budget = " and ".join(([f"{minutes:g} minutes"] if minutes else []) + ([f"{args.steps} steps"] if args.steps else []))
    report(f"pretraining the CTC reader on drawn captchas for {budget}, whichever ends first (seed {args.seed})")
    result = pretrain(seed=args.seed, minutes=minutes, steps=args.steps, workers=args.workers, web=args.web,
                      report=report)
    info = result.info["pretraining"]
    save_reader(Reader("ctc", result.model, result.info), out, overwrite=args.overwrite)
    held_out = info["validation"]
    print(f"pretrained for {info['steps']} steps ({info['captchas']} drawn captchas) in {info['seconds']:.0f} s; "
          f"held-out drawn captchas: {100 * held_out['exact']:.2f} % exact, "
          f"{100 * held_out['characters']:.2f} % of characters")
    print(f"saved {out}; fine-tune it with captcha-lab train --data DIR --model ctc --init {out}")
    return 0


def _add_pretrain(sub: argparse._SubParsersAction) -> None:
    from helpers.pretrained import START

    p = sub.add_parser("pretrain", help="train the CTC reader on an endless stream of drawn captchas",
                       description="Train the CTC reader on captchas drawn on the fly in many styles (fonts, "
                       "spacing, noise, colours, blur, JPEG; labels of 4 to 8 digits and letters) for a time "
                       "or step budget, and save it as a reader file to fine-tune with train --init.")
    p.add_argument("--out", required=True, help="the reader file to write, e.g. pretrained.model")
    p.add_argument("--minutes", type=float,
                   help="time budget in minutes (default: 10, unless --steps is given)")
    p.add_argument("--steps", type=int, help="step budget (32 captchas a step); with a fixed step budget and no "
                   "--minutes, the same seed gives the same reader on the same machine")
    p.add_argument("--seed", type=int, default=0, help="seeds the drawn captchas and the training (default: 0)")
    p.add_argument("--web", type=float, default=START.web,
                   help="share of the stream drawn in web-form looks: wide white canvases, letters from tiny to "
                        f"cut off at the edge, pale ink, thin lines, case-folded labels (default: {START.web:g})")
    p.add_argument("--workers", type=int, default=1,
                   help="processes that draw captchas while the reader trains (default: 1; 0 draws in between)")
    p.add_argument("--overwrite", action="store_true", help="replace an existing --out file")
    p.add_argument("--quiet", action="store_true", help="no progress lines")
    p.set_defaults(func=_cmd_pretrain)


def _read_files(names: Sequence[str], colour: bool = False) -> tuple[list[Path], dict[int, str], list[tuple[int, "object"]]]:
    """Expand folders into their images; read each file (unreadable ones get a reason)."""
    from helpers.captcha_files import IMAGE_EXTENSIONS, read_image
    from helpers.errors import CaptchaDataError

    paths: list[Path] = []
    for name in names:
        path = Path(name)
        if path.is_dir():
            found = sorted(p for p in path.iterdir() if p.suffix.lower() in IMAGE_EXTENSIONS
                           and not p.name.startswith("."))
            if not found:
                raise UsageError(f"{path} holds no captcha images (files ending in {', '.join(IMAGE_EXTENSIONS)})")
            paths += found
        else:
            paths.append(path)
    problems: dict[int, str] = {}
    readable = []
    for k, path in enumerate(paths):
        try:
            readable.append((k, read_image(path, colour=colour)))
        except CaptchaDataError as exc:
            problems[k] = _message(exc).removeprefix(f"{path}: ")
    return paths, problems, readable


def _cmd_solve(args: argparse.Namespace) -> int:
    import json

    from helpers.calibration import answer_confidence, calibration_of

    if args.min_confidence is not None and not 0.0 <= args.min_confidence <= 1.0:
        raise UsageError(f"--min-confidence must be between 0 and 1, got {args.min_confidence}")
    if args.max_error is not None and not 0.0 < args.max_error < 1.0:
        raise UsageError(f"--max-error must be between 0 and 1 (0.01 for 1 %), got {args.max_error}")
    if args.max_error is not None and args.min_confidence is not None:
        raise UsageError("give --max-error or --min-confidence, not both")
    reader = _load_reader(args.model)
    calibration = calibration_of(reader)
    if args.max_error is not None and calibration is None:
        raise UsageError(f"{args.model} keeps no calibration, so --max-error cannot be honoured; calibrate it on "
                         "labelled captchas it has not seen with captcha-lab calibrate, or train it with "
                         "captcha-lab train (which calibrates on its validation part)")
    threshold = calibration.threshold(args.max_error) if args.max_error is not None else None
    if args.length is not None and not reader.cuts_letters:
        print("captcha-lab solve: note: the ctc reader finds the length itself; --length is ignored", file=sys.stderr)
    paths, problems, readable = _read_files(args.images, colour=reader.channels == 3)
    solutions = reader.read([image for _, image in readable], args.length if reader.cuts_letters else None,
                            guided=args.guided)
    answers: dict[int, dict] = {k: {"path": str(paths[k]), "text": "", "confidence": [], "ok": False,
                                    "reason": f"unreadable: {reason}", "polarity": None,
                                    **({"chance_right": 0.0} if calibration is not None else {})}
                                for k, reason in problems.items()}
    for (k, _), solution in zip(readable, solutions):
        confidence = [round(float(c), 4) for c in solution.confidence]
        answer = {"path": str(paths[k]), "text": solution.text, "confidence": confidence,
                  "ok": bool(solution.ok), "reason": solution.reason, "polarity": solution.polarity}
        if calibration is not None:
            answer["chance_right"] = round(float(calibration.probability(
                answer_confidence(solution, reader.lengths))), 4)
        if solution.ok and args.min_confidence is not None and min(confidence, default=0.0) < args.min_confidence:
            answer.update(ok=False, reason=f"not sure: lowest character confidence "
                                           f"{min(confidence, default=0.0):.2f} < {args.min_confidence:.2f}")
        if solution.ok and threshold is not None and answer["chance_right"] < threshold:
            answer.update(ok=False, reason=f"not sure: {100 * answer['chance_right']:.1f} % chance of being right, "
                                           f"under the {100 * min(threshold, 1.0):.1f} % that keeps errors at "
                                           f"{100 * args.max_error:g} %")
        answers[k] = answer
    for k in range(len(paths)):
        a = answers[k]
        if args.json:
            print(json.dumps(a))
        elif a["ok"]:
            print(f"{a['path']}\t{a['text']}")
        elif a["reason"].startswith(("unreadable", "not sure")):
            print(f"{a['path']}\t({a['reason']}{': read ' + a['text'] if a['text'] else ''})")
        else:
            print(f"{a['path']}\t(not solved: {a['reason']})")
    failures = sum(not a["ok"] for a in answers.values())
    return 1 if failures else 0


def _add_solve(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("solve", help="read captcha images with a trained model",
                       description="Print one line per image: its path and the text read. The exit status is "
                       "0 when every image was read, 1 when some were not (unreadable, not solved or not sure). "
                       "A calibrated reader (captcha-lab train and calibrate make one) also gives, with --json, "
                       "each answer's chance of being right.")
    p.add_argument("images", nargs="+", metavar="IMAGE_OR_FOLDER",
                   help="captcha image files (PNG, JPG, BMP) or folders of them")
    p.add_argument("--model", default="models/cnn.keras",
                   help="a reader file from captcha-lab train, or a model saved by notebook 02, 03 or 05 "
                   "(default: models/cnn.keras)")
    p.add_argument("--length", type=int, default=None,
                   help="characters per captcha, for letter models (default: the length the model was trained "
                   "on, else the number of letters found)")
    p.add_argument("--json", action="store_true",
                   help="one JSON object per image: path, text, confidence per character, ok, reason")
    p.add_argument("--min-confidence", type=float, metavar="P",
                   help="answer 'not sure' instead of guessing when a character's confidence is below P")
    p.add_argument("--max-error", type=float, metavar="E",
                   help="answer only captchas sure enough that, by the reader's calibration, at most a share E "
                   "of the answers are wrong (0.01 for 1 %%); say 'not sure' for the rest")
    _add_guided(p)
    p.set_defaults(func=_cmd_solve)


def _cmd_pick(args: argparse.Namespace) -> int:
    import json

    from helpers.picking import pick_to_label

    if args.count < 1:
        raise UsageError(f"--count must be at least 1 captcha, got {args.count}")
    if not Path(args.source).is_dir():
        raise UsageError(f"--from {args.source}: not a folder; give the folder of unlabelled captchas to pick from")
    reader = _load_reader(args.model)
    paths, problems, readable = _read_files([args.source], colour=reader.channels == 3)
    for k, reason in problems.items():
        print(f"captcha-lab pick: note: skipped {paths[k]}: {reason}", file=sys.stderr)
    if not readable:
        raise UsageError(f"{args.source} holds no readable captcha images")
    picks = pick_to_label(reader, [image for _, image in readable], args.count)
    for pick in picks:
        path = paths[readable[pick.index][0]]
        if args.json:
            print(json.dumps({"path": str(path), "guess": pick.guess, "confidence": pick.confidence}))
        else:
            print(f"{path}\t{pick.guess or '(nothing)'}\t{pick.confidence:.2f}")
    if len(picks) < args.count:
        print(f"captcha-lab pick: note: {len(picks)} of the {args.count} asked for: the other "
              f"{len(readable) - len(picks)} readable images are near-copies of picked ones", file=sys.stderr)
    return 0


def _add_pick(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("pick", help="list the unlabelled captchas most worth labelling (least sure first)",
                       description="Read a folder of unlabelled captchas with a trained model and print the "
                       "COUNT it is least sure of, one line each: path, the model's guess and its confidence "
                       "(its least sure character's; 0 for an answer of a length it never learned), least sure first. A captcha that is a near-copy of one "
                       "already listed (the same picture saved twice or re-encoded) is skipped. Label those "
                       "captchas and train again on all your labels (a CTC reader can start from this one with "
                       "train --init).")
    p.add_argument("--model", required=True, help="a reader file from captcha-lab train (any kind)")
    p.add_argument("--from", dest="source", required=True, metavar="FOLDER",
                   help="a folder of captcha images (PNG, JPG, BMP); their names need not be labels")
    p.add_argument("--count", type=int, default=50, help="how many captchas to list (default: 50)")
    p.add_argument("--json", action="store_true", help="one JSON object per captcha: path, guess, confidence")
    p.set_defaults(func=_cmd_pick)


def _cmd_calibrate(args: argparse.Namespace) -> int:
    from helpers.calibration import answer_confidences, calibrate_reader, expected_calibration_error
    from helpers.captcha_files import load_captchas
    from helpers.models import ModelFileError
    from helpers.portable import is_onnx_file
    from helpers.reader import check_output
    from helpers.readers import save_reader

    if Path(args.model).is_file() and is_onnx_file(Path(args.model)):
        raise UsageError(f"{args.model} is an exported ONNX reader; calibrate the reader file it came from, "
                         "then export that again (the calibration travels with it)")
    try:
        target = check_output(Path(args.out), overwrite=args.overwrite)
    except ModelFileError as exc:
        raise UsageError(f"--out: {_message(exc)}") from None
    reader = _load_reader(args.model)
    data = load_captchas(Path(args.data), skip_bad=args.skip_bad, colour=reader.channels == 3)
    reader.check_alphabet(data.alphabet, where=f" in {args.data}")
    report = _progress(args)
    report(f"reading {len(data)} captchas of {args.data} …")
    length = next(iter(data.lengths)) if reader.cuts_letters and not reader.lengths and len(data.lengths) == 1 else None
    solutions = reader.read(data.images, length)
    calibration = calibrate_reader(reader, solutions, data.labels)
    reader.info["calibration"]["data"] = str(args.data)
    save_reader(reader, target, overwrite=args.overwrite)
    raw = answer_confidences(solutions, reader.lengths)
    right = [s.ok and s.text == label for s, label in zip(solutions, data.labels)]
    print(f"calibrated on {len(data)} captchas ({sum(right)} read right): expected calibration error "
          f"{expected_calibration_error(raw, right):.3f} as read, "
          f"{expected_calibration_error(calibration.probability(raw), right):.3f} calibrated, on these same captchas; "
          f"wrote {target} (check it with captcha-lab evaluate on captchas it has not seen)")
    return 0


def _add_calibrate(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("calibrate", help="learn how far a reader's confidence can be trusted, on labelled captchas",
                       description="Read a folder of labelled captchas the reader has not learned from, learn the "
                       "map from its confidence to the chance an answer is right (Platt scaling), and write the "
                       "reader again with that calibration inside. captcha-lab train already calibrates on its "
                       "validation part; with few labels that part is small, and a folder of a few hundred "
                       "captchas set aside gives a closer map. solve --max-error and evaluate use it.")
    p.add_argument("--model", required=True, help="a reader file from captcha-lab train, or a notebook's model")
    p.add_argument("--data", required=True, help="folder of labelled captchas the reader has not been trained on")
    p.add_argument("--out", required=True, help="the calibrated reader file to write, e.g. my-site-calibrated.model")
    p.add_argument("--overwrite", action="store_true", help="replace an existing --out file")
    p.add_argument("--skip-bad", action="store_true", help="skip unreadable or unlabelled files (counted)")
    p.add_argument("--quiet", action="store_true", help="no progress lines")
    p.set_defaults(func=_cmd_calibrate)


def _add_guided(p: argparse.ArgumentParser) -> None:
    p.add_argument("--guided", action="store_true",
                   help="letter models: move cuts made through touching letters to where the model reads "
                   "the letters best (recognition-guided cutting; slower)")


def _cmd_export(args: argparse.Namespace) -> int:
    from helpers.onnx_export import PROBABILITY_TOLERANCE, export_onnx

    if args.check < 1:
        raise UsageError(f"--check must be at least 1 captcha, got {args.check}")
    reader = _load_reader(args.model)
    images = None
    if args.check_data:
        from helpers.captcha_files import load_captchas

        images = load_captchas(Path(args.check_data), skip_bad=True, colour=reader.channels == 3).images[:args.check]
        if not images:
            raise UsageError(f"{args.check_data} holds no readable captchas to check the export on")
    _progress(args)(f"exporting the {reader.kind} reader and reading "
                    f"{len(images) if images else args.check} check captchas with both …")
    result = export_onnx(reader, Path(args.out), overwrite=args.overwrite, check_images=images,
                         check_count=args.check, seed=args.seed)
    size = Path(args.out).stat().st_size / 1e6
    print(f"wrote {args.out} ({size:.1f} MB): the same text as the Keras reader on {result.same_texts} of "
          f"{result.captchas} check captchas, probabilities within {result.max_difference:.1g} "
          f"(allowed {PROBABILITY_TOLERANCE:g}); read it with captcha-lab solve --model {args.out}")
    return 0


def _add_export(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("export", help="write a CNN or CTC reader as ONNX, to read captchas without TensorFlow",
                       description="Write the network of a reader file as an ONNX file (alphabet and preprocessing "
                       "in its metadata), after checking that it reads check captchas exactly as the Keras "
                       "network does. captcha-lab solve --model FILE.onnx then needs only "
                       "pip install 'learning-captchas[solve]'.")
    p.add_argument("--model", required=True, help="a cnn, cnn-original or ctc reader file (or a notebook's model)")
    p.add_argument("--out", required=True, help="the ONNX file to write (ending in .onnx)")
    p.add_argument("--check", type=int, default=200,
                   help="captchas both must read alike before the file is kept (default: 200)")
    p.add_argument("--check-data", metavar="DIR",
                   help="read the check captchas from this folder (default: draw them in the reader's characters)")
    p.add_argument("--seed", type=int, default=0, help="seed of the drawn check captchas (default: 0)")
    p.add_argument("--overwrite", action="store_true", help="replace an existing file")
    p.add_argument("--quiet", action="store_true", help="no progress messages")
    p.set_defaults(func=_cmd_export)


def _cmd_evaluate(args: argparse.Namespace) -> int:
    import json

    from helpers.calibration import calibration_of, confidence_report
    from helpers.captcha_files import load_captchas
    from helpers.evaluation import evaluate_reader
    from helpers.readers import reader_summary

    if args.max_error is not None and not 0.0 < args.max_error < 1.0:
        raise UsageError(f"--max-error must be between 0 and 1 (0.01 for 1 %), got {args.max_error}")
    json_path = _check_json_target(args.json, args.overwrite)
    gallery_path = json_path.with_suffix(".png") if (json_path is not None and args.gallery) else None
    if args.gallery and json_path is None:
        raise UsageError("--gallery writes a PNG next to the --json file: give --json too")
    if gallery_path is not None and gallery_path.exists() and not args.overwrite:
        raise UsageError(f"{gallery_path} already exists; choose another --json file or pass --overwrite")
    reader = _load_reader(args.model)
    if args.max_error is not None and calibration_of(reader) is None:
        raise UsageError(f"{args.model} keeps no calibration, so --max-error has nothing to apply; calibrate it "
                         "with captcha-lab calibrate on other labelled captchas")
    data = load_captchas(Path(args.data), skip_bad=args.skip_bad, colour=reader.channels == 3)
    reader.check_alphabet(data.alphabet, where=f" in {args.data}")
    if reader.cuts_letters and args.length is None and not reader.lengths and len(data.lengths) == 1:
        args.length = next(iter(data.lengths))
    report = _progress(args)
    report(f"{reader_summary(reader)}")
    report(f"reading {len(data)} captchas of {args.data} …")
    scores, solutions = evaluate_reader(reader, data.images, data.labels, length=args.length, guided=args.guided)
    scores["confidence"] = confidence_report(reader, solutions, data.labels, max_error=args.max_error)
    result = {"model": {"path": str(args.model), "kind": reader.kind, **{k: reader.info[k] for k in
                                                                        ("data", "validation") if k in reader.info}},
              "data": {"path": str(args.data), "captchas": len(data), "skipped": len(data.skipped)},
              "scores": scores}
    low, high = scores["exact_interval_95"]
    print(f"{len(data)} captchas: {100 * scores['exact']:.2f} % exact (95 % interval {100 * low:.1f}–{100 * high:.1f}), "
          f"{100 * scores['characters']:.2f} % of characters")
    for source, share in scores["errors"].items():
        print(f"  {source}: {100 * share:.2f} %")
    print(f"speed: {scores['captchas_per_second']:.0f} captchas/s batched (first call "
          f"{1000 * scores['first_call_seconds']:.0f} ms)")
    _print_confidence(scores["confidence"])
    if json_path is not None:
        _write_json(json_path, result)
    if gallery_path is not None:
        _write_gallery(gallery_path, data, solutions)
        print(f"mistakes: {gallery_path}")
    return 0


def _print_confidence(report: dict) -> None:
    """The trust part of evaluate: calibration error, then the error among answered as fewer are answered."""
    if "ece_calibrated" in report:
        print(f"confidence: expected calibration error {report['ece_raw']:.3f} as read, "
              f"{report['ece_calibrated']:.3f} calibrated (on {report['calibrated_on']} captchas)")
    else:
        print(f"confidence: expected calibration error {report['ece_raw']:.3f} (not calibrated: "
              "captcha-lab calibrate gives a reader a calibration)")
    print("  answering the surest: " + ", ".join(f"{100 * row['coverage']:.0f} % answered → {100 * row['error']:.1f} "
                                                 "% wrong" for row in report["risk_coverage"]))
    if "max_error" in report:
        wrong = report["error_among_answered"]
        print(f"  --max-error {report['max_error']:g}: {100 * report['answered']:.1f} % answered, "
              + (f"{100 * wrong:.2f} % of them wrong" if wrong is not None else "none answered"))


def _write_gallery(path: Path, data, solutions, most: int = 16) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    from helpers.plots import show_images

    wrong = [k for k, (s, label) in enumerate(zip(solutions, data.labels)) if not (s.ok and s.text == label)][:most]
    if not wrong:
        fig, ax = plt.subplots(figsize=(4, 1))
        ax.set_axis_off()
        ax.text(0.5, 0.5, "no mistakes", ha="center", va="center")
    else:
        titles = [f"{data.labels[k]} → {solutions[k].text or '(' + solutions[k].reason[:20] + ')'}" for k in wrong]
        fig = show_images([data.images[k] for k in wrong], titles, ncols=4,
                          title=f"{len(wrong)} mistakes: truth → read")
    with written_atomically(path, ".png") as tmp:
        fig.savefig(tmp, dpi=80)
    plt.close(fig)


def _add_evaluate(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("evaluate", help="score a saved model on a labelled folder it has never seen",
                       description="Read every captcha of DATA with a saved model and report whole-captcha and "
                       "character accuracy, where the errors come from, and speed.")
    p.add_argument("--model", required=True, help="a reader file from captcha-lab train, or a notebook's model")
    p.add_argument("--data", required=True, help="folder of labelled captchas the model has not seen")
    p.add_argument("--json", help="also write the scores to this JSON file")
    p.add_argument("--gallery", action="store_true", help="draw up to 16 mistakes as a PNG next to the --json file")
    p.add_argument("--length", type=int, help="characters per captcha, for letter models without a known length")
    p.add_argument("--max-error", type=float, metavar="E",
                   help="also report the share solve --max-error E would answer and the error among those")
    p.add_argument("--overwrite", action="store_true", help="replace existing --json / gallery files")
    p.add_argument("--skip-bad", action="store_true", help="skip unreadable or unlabelled files (counted)")
    p.add_argument("--quiet", action="store_true", help="no progress lines")
    _add_guided(p)
    p.set_defaults(func=_cmd_evaluate)


def _check_json_target(name: str | None, overwrite: bool) -> Path | None:
    """The --json file to write, refused before any work if it cannot or must not be written."""
    from helpers.models import ModelFileError
    from helpers.reader import check_new_file

    if not name:
        return None
    try:
        return check_new_file(Path(name), overwrite=overwrite, example="results.json")
    except ModelFileError as exc:
        raise UsageError(f"--json: {_message(exc)}") from None


def _write_json(path: Path, value) -> None:
    import json

    write_text_atomically(path, json.dumps(value, indent=2))


def _cmd_benchmark(args: argparse.Namespace) -> int:
    from helpers.benchmark import format_table, parse_models, run_benchmark

    models = parse_models(args.models)
    json_path = _check_json_target(args.json, args.overwrite)
    results = run_benchmark(Path(args.data), models, test_fraction=args.test_fraction, seed=args.seed,
                            skip_bad=args.skip_bad, report=_progress(args),
                            save_models=Path(args.save_models) if args.save_models else None,
                            overwrite=args.overwrite, guided=args.guided, colour=args.colour, epochs=args.epochs)
    print(format_table(results))
    if json_path is not None:
        _write_json(json_path, results)
    return 0


def _add_benchmark(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("benchmark", help="train and score the course's models on a folder of labelled captchas",
                       description="Split the captchas, cut training captchas into letters, train each model, "
                       "solve the test captchas and report accuracy (failed cuts count as wrong).")
    p.add_argument("--data", required=True, help="folder of labelled captchas (<label>.png, or image + .txt)")
    p.add_argument("--models", default="rf,cnn,cnn-original",
                   help="comma-separated: rf, cnn, cnn-original, ctc, or all (default: rf,cnn,cnn-original); "
                   "ddddocr scores the free reader a user tries first, with no label of the set (needs "
                   "pip install 'learning-captchas[baselines]')")
    p.add_argument("--test-fraction", type=float, default=0.2, help="share of captchas for testing (default: 0.2)")
    p.add_argument("--seed", type=int, default=0, help="random seed (default: 0)")
    p.add_argument("--epochs", type=int,
                   help="most epochs for the networks (default: chosen from the set size, as train does)")
    p.add_argument("--json", help="also write the results to this JSON file")
    p.add_argument("--save-models", metavar="DIR",
                   help="keep each trained model as DIR/<model>.model, the file format of captcha-lab train")
    p.add_argument("--overwrite", action="store_true", help="replace an existing --json file or saved models")
    p.add_argument("--skip-bad", action="store_true", help="skip unreadable or unlabelled files (counted)")
    p.add_argument("--guided", action="store_true",
                   help="also score each letter model with recognition-guided cuts (as <model>+guided)")
    p.add_argument("--colour", action="store_true",
                   help="also train and score every model that can read colour (cnn, ctc) in colour, as <model>+colour")
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
    _add_pretrain(sub)
    _add_train(sub)
    _add_solve(sub)
    _add_pick(sub)
    _add_calibrate(sub)
    _add_export(sub)
    _add_evaluate(sub)
    _add_benchmark(sub)
    _add_run(sub)
    _add_runs(sub)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of ``captcha-lab``; returns the process exit code."""
    from helpers.errors import CourseError

    parser = build_parser()
    args = parser.parse_args(argv)
    if args.command is None:
        parser.print_help()
        return 2
    from helpers.backend import native_logs_discarded

    try:
        with native_logs_discarded():
            return args.func(args)
    except (UsageError, CourseError) as exc:
        print(f"captcha-lab {args.command}: error: {_message(exc)}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print(f"captcha-lab {args.command}: interrupted", file=sys.stderr)
        return 130
    except ModuleNotFoundError as exc:
        if (exc.name or "").split(".")[0] not in COURSE_PACKAGES:
            raise
        print(f"captcha-lab {args.command}: error: this needs {exc.name.split('.')[0]}, which the light install "
              "(learning-captchas[solve]) leaves out; install the whole course with "
              "pip install 'learning-captchas[course]', or read captchas with an ONNX file from captcha-lab export",
              file=sys.stderr)
        return 2
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
