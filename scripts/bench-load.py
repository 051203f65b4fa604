#!/usr/bin/env python3
"""Threads on a shared CPU (issue 19): `qtool bench --threads 2` against
`--threads 1`, in turn (A B A B ...), with another process busy on one CPU for
the whole run (a shell loop this script starts and stops), or on a quiet
machine with --quiet.

  scripts/bench-load.py --models ../shared/models/ddtp-en-de-small out/int8.qtm out/low/m.qtm \\
      --input ../shared/data/ddtp-en-de/test.en --runs 3

Prints one table row per model and batch: tokens/s at 2 and 1 threads
(min / median / max) and the median of the per-pair ratios (2 threads / 1),
which must be ≥ 1: a second thread may not cost speed when the CPU is shared.
--a-qtool / --b-qtool compare two builds at the same thread count instead.
"""
import argparse
import importlib.machinery
import os
import statistics
import subprocess
import sys
import tempfile

here = os.path.dirname(os.path.abspath(__file__))
pair = importlib.machinery.SourceFileLoader("bench_pair", os.path.join(here, "bench-pair.py")).load_module()


def start_load():
    # One busy process, not pinned: the scheduler shares the CPUs as it would with any neighbour.
    return subprocess.Popen(["sh", "-c", "while :; do :; done"])


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--models", nargs="+", required=True)
    ap.add_argument("--input", required=True)
    ap.add_argument("--batches", default="32,1", help="comma-separated batch sizes")
    ap.add_argument("--batch1-lines", type=int, default=300, help="lines of --input for batch 1")
    ap.add_argument("--runs", type=int, default=3)
    ap.add_argument("--warmup", type=int, default=1)
    ap.add_argument("--quiet", action="store_true", help="no load process")
    ap.add_argument("--qtool", default=os.path.join(here, "..", "build", "qtool"))
    ap.add_argument("--a-threads", type=int, default=2)
    ap.add_argument("--b-threads", type=int, default=1)
    ap.add_argument("--b-qtool", help="another build for side B (then the ratio compares builds)")
    args = ap.parse_args()

    with open(args.input) as f:
        lines = f.read().splitlines()
    short = tempfile.NamedTemporaryFile("w", suffix=".txt", delete=False)
    short.write("\n".join(lines[: args.batch1_lines]) + "\n")
    short.close()
    b_qtool = args.b_qtool or args.qtool
    load = None if args.quiet else start_load()
    rows = []
    try:
        for model in args.models:
            for batch in [int(b) for b in args.batches.split(",")]:
                src = args.input if batch > 1 else short.name
                cmd = "{q} bench --model {m} --input {i} --batch {b} --threads {t} --json"
                a = cmd.format(q=args.qtool, m=model, i=src, b=batch, t=args.a_threads)
                b = cmd.format(q=b_qtool, m=model, i=src, b=batch, t=args.b_threads)
                for _ in range(args.warmup):
                    pair.run(a), pair.run(b)
                ra, rb = [], []
                for i in range(args.runs):
                    ra.append(pair.run(a)["tokens/s"])
                    rb.append(pair.run(b)["tokens/s"])
                    print(f"{os.path.basename(model.rstrip('/'))} batch {batch} run {i + 1}/{args.runs}: "
                          f"A {ra[-1]:.0f} B {rb[-1]:.0f} tokens/s", file=sys.stderr)
                ratio = statistics.median(x / y for x, y in zip(ra, rb))
                rows.append((model, batch, pair.spread(ra), pair.spread(rb), ratio))
    finally:
        if load:
            load.kill()
            load.wait()
        os.unlink(short.name)
    a_name = f"{args.a_threads} threads" + (" (A build)" if args.b_qtool else "")
    b_name = f"{args.b_threads} threads" + (" (B build)" if args.b_qtool else "")
    print(f"load: {'none' if args.quiet else 'one busy shell loop'}; runs {args.runs}, tokens/s")
    print(f"| model | batch | {a_name} min / median / max | {b_name} min / median / max | A/B per pair, median |")
    print("| --- | --- | --- | --- | --- |")
    for model, batch, a, b, ratio in rows:
        print(f"| {model} | {batch} | {a} | {b} | {ratio:.2f}x |")


if __name__ == "__main__":
    main()
