#!/usr/bin/env python3
"""Translates lines from a file (or stdin) with a qtool model, one per line out.

    pip install .                     # from the repository root
    python3 examples/python/translate.py models/ddtp-en-de-tiny < input.en
    python3 examples/python/translate.py model.qtm input.en --beam 4 --nbest 2
"""
import argparse
import sys

import qtool


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("model", help=".qtm file or Marian checkpoint directory")
    ap.add_argument("input", nargs="?", help="source text, one sentence per line (default: stdin)")
    ap.add_argument("--beam", type=int, default=1)
    ap.add_argument("--nbest", type=int, default=1, help="print this many hypotheses per line, with scores")
    ap.add_argument("--threads", type=int, default=0, help="0 = all cores")
    args = ap.parse_args()

    src = open(args.input, encoding="utf-8") if args.input else sys.stdin
    lines = [line.rstrip("\n") for line in src]
    try:
        t = qtool.Translator(args.model, threads=args.threads, beam_size=args.beam)
        if args.nbest == 1:
            for out in t.translate(lines):
                print(out)
        else:
            for i, hyps in enumerate(t.translate_batch(lines, num_hypotheses=args.nbest)):
                for h in hyps:
                    print(f"{i}\t{h['score']:.4f}\t{h['text']}")
    except qtool.Error as e:
        sys.exit(str(e))  # the line `qtool translate` prints


if __name__ == "__main__":
    main()
