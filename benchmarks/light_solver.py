"""The light solver against the Keras path: export time, start-up of one solve, throughput. Not a test.

Exports a reader with ``captcha-lab export`` (the same function) into a
temporary folder, then measures, for the Keras reader file and the ONNX file:

* start-up: wall time of one ``captcha-lab solve --model FILE one.png`` in a
  fresh process (median of ``--repeats``), the time a script calling the command
  once waits;
* throughput: captchas per second when ``--count`` captchas are read in one
  batch inside one process, after one warm-up read (median of ``--repeats``);
* the answers: how many of the captchas both read alike.

The ONNX process here runs in the course's environment; the installed size of
the light environment is measured apart, with a fresh virtual environment:

    python3 -m venv light-env && light-env/bin/pip install '.[solve]' && du -sh light-env

Run from the project root, after chapter 5 (or 3) saved its model, for example:

    .venv/bin/python -m benchmarks.light_solver --model models/ctc.keras --level hard --count 1000
    .venv/bin/python -m benchmarks.light_solver --model models/cnn.keras --level medium --count 1000
"""

from __future__ import annotations

import argparse
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def startup_seconds(model: Path, image: Path, repeats: int) -> float:
    """Median wall time of ``captcha-lab solve --model model image`` in a fresh process."""
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        subprocess.run([sys.executable, "-m", "helpers.cli", "solve", "--model", str(model), str(image)],
                       capture_output=True, check=False)
        times.append(time.perf_counter() - start)
    return statistics.median(times)


def throughput(reader, images: list, repeats: int) -> tuple[float, list[str]]:
    """Median captchas per second reading ``images`` in one batch, after a warm-up; and the texts."""
    reader.read(images[:32])
    rates, texts = [], []
    for _ in range(repeats):
        start = time.perf_counter()
        texts = [s.text for s in reader.read(images)]
        rates.append(len(images) / (time.perf_counter() - start))
    return statistics.median(rates), texts


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model", type=Path, default=ROOT / "models" / "ctc.keras",
                        help="a CNN or CTC reader file or notebook model (default: models/ctc.keras)")
    parser.add_argument("--level", default="hard", help="look of the drawn captchas (default: hard)")
    parser.add_argument("--count", type=int, default=1000, help="captchas to read (default: 1000)")
    parser.add_argument("--repeats", type=int, default=3, help="runs per measurement (default: 3)")
    parser.add_argument("--seed", type=int, default=7, help="seed of the drawn captchas (default: 7)")
    args = parser.parse_args()

    from helpers.captcha_files import save_captchas
    from helpers.captchas import generate_captchas
    from helpers.onnx_export import export_onnx
    from helpers.readers import load_reader

    reader = load_reader(args.model)
    images = [c.image for c in generate_captchas(args.count, args.level, seed=args.seed)]
    with tempfile.TemporaryDirectory() as work:
        onnx_path = Path(work) / "reader.onnx"
        start = time.perf_counter()
        check = export_onnx(reader, onnx_path, check_images=images[:200])
        export_seconds = time.perf_counter() - start
        one = save_captchas(generate_captchas(1, args.level, seed=args.seed + 1), Path(work) / "one")[0]
        light = load_reader(onnx_path)
        rows = {}
        texts = {}
        for name, path, r in (("Keras", args.model, reader), ("ONNX", onnx_path, light)):
            rate, texts[name] = throughput(r, images, args.repeats)
            rows[name] = (startup_seconds(path, one, args.repeats), rate, path.stat().st_size / 1e6)
    same = sum(a == b for a, b in zip(texts["Keras"], texts["ONNX"]))
    print(f"{reader.kind} reader {args.model.name}; export {export_seconds:.1f} s, checked on {check.captchas} "
          f"captchas (largest probability difference {check.max_difference:.1g})")
    print(f"same text on {same} of {len(images)} {args.level} captchas\n")
    print("| path | model file (MB) | one solve call, start to end (s) | captchas/s in one batch |")
    print("|---|---|---|---|")
    for name, (startup, rate, size) in rows.items():
        print(f"| {name} | {size:.1f} | {startup:.2f} | {rate:.0f} |")


if __name__ == "__main__":
    main()
