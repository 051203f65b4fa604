#!/usr/bin/env python3
"""Pairs two `qtool bench --json` commands run in turn (A B A B ...) and prints
min / median / max of each side's figures and the median of the per-pair ratios.

Pairing keeps a ratio meaningful when a shared machine's speed drifts: each A is
compared with the B run next to it. The figures are qtool bench's own
(ms/sentence and tokens/s exclude model loading; peak RSS is the process's) plus
the whole-process wall time measured here.

  scripts/bench-pair.py --runs 3 --warmup 1 \\
      --a "./build/qtool bench --model out/m.qtm --input test.en --batch 1 --threads 2 --json" \\
      --b "./build/qtool bench --model ../shared/models/m --input test.en --batch 1 --threads 2 --json"
"""
import argparse
import json
import shlex
import statistics
import subprocess
import sys
import time


def run(cmd):
    start = time.monotonic()
    done = subprocess.run(shlex.split(cmd), capture_output=True, text=True)
    wall = time.monotonic() - start
    if done.returncode != 0:
        sys.exit(f"bench-pair: '{cmd}' exited {done.returncode}: {done.stderr.strip().splitlines()[-1:]}")
    figures = json.loads(done.stdout)
    return {
        "ms/sentence": figures["ms_per_sentence"],
        "tokens/s": figures["target_tokens_per_second"],
        "peak RSS MiB": figures["peak_rss_bytes"] / 2**20,
        "wall s": wall,
    }


def spread(values):
    return f"{min(values):.2f} / {statistics.median(values):.2f} / {max(values):.2f}"


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--a", required=True, help="command A (prints qtool bench --json)")
    ap.add_argument("--b", required=True, help="command B, the baseline")
    ap.add_argument("--runs", type=int, default=3)
    ap.add_argument("--warmup", type=int, default=1)
    args = ap.parse_args()
    for _ in range(args.warmup):
        run(args.a), run(args.b)
    a_runs, b_runs = [], []
    for i in range(args.runs):
        a_runs.append(run(args.a))
        b_runs.append(run(args.b))
        print(f"run {i + 1}/{args.runs}: A {a_runs[-1]['ms/sentence']:.2f} ms, B {b_runs[-1]['ms/sentence']:.2f} ms",
              file=sys.stderr)
    print("| figure | A min / median / max | B min / median / max | B/A per pair, median |")
    print("| --- | --- | --- | --- |")
    for key in a_runs[0]:
        a = [r[key] for r in a_runs]
        b = [r[key] for r in b_runs]
        # A larger B/A is better for A except in tokens/s, where A/B is.
        ratios = [y / x if key != "tokens/s" else x / y for x, y in zip(a, b)]
        print(f"| {key} | {spread(a)} | {spread(b)} | {statistics.median(ratios):.2f}x |")


if __name__ == "__main__":
    main()
