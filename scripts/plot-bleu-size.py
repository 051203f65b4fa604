#!/usr/bin/env python3
"""BLEU against model size as a self-contained SVG (standard library only).

usage: scripts/plot-bleu-size.py POINTS.json OUT.svg
POINTS.json: [{"label": "INT8 KL", "bytes": 14030158, "bleu": 28.71}, ...]
The x axis is logarithmic (MB); the first point is the reference (FP32).
"""
import json
import math
import sys

points = json.load(open(sys.argv[1]))
W, H, L, R, T, B = 720, 420, 70, 20, 30, 60
xs = [math.log10(p["bytes"] / 1e6) for p in points]
ys = [p["bleu"] for p in points]
x0, x1 = math.floor(min(xs) * 2) / 2, math.ceil(max(xs) * 2) / 2
y0, y1 = math.floor(min(ys) - 1), math.ceil(max(ys) + 1)


def px(x):
    return L + (x - x0) / (x1 - x0) * (W - L - R)


def py(y):
    return H - B - (y - y0) / (y1 - y0) * (H - T - B)


out = [f'<svg xmlns="http://www.w3.org/2000/svg" width="{W}" height="{H}" font-family="sans-serif" font-size="12">',
       f'<rect width="{W}" height="{H}" fill="white"/>',
       f'<line x1="{L}" y1="{H-B}" x2="{W-R}" y2="{H-B}" stroke="black"/>',
       f'<line x1="{L}" y1="{T}" x2="{L}" y2="{H-B}" stroke="black"/>']
for mb in [1, 2, 3, 5, 10, 20, 30, 50, 100]:
    x = math.log10(mb)
    if x0 <= x <= x1:
        out.append(f'<line x1="{px(x):.1f}" y1="{H-B}" x2="{px(x):.1f}" y2="{T}" stroke="#ddd"/>')
        out.append(f'<text x="{px(x):.1f}" y="{H-B+16}" text-anchor="middle">{mb}</text>')
for y in range(int(y0), int(y1) + 1, max(1, int((y1 - y0) // 8))):
    out.append(f'<line x1="{L}" y1="{py(y):.1f}" x2="{W-R}" y2="{py(y):.1f}" stroke="#eee"/>')
    out.append(f'<text x="{L-6}" y="{py(y)+4:.1f}" text-anchor="end">{y}</text>')
out.append(f'<text x="{(L+W-R)/2}" y="{H-16}" text-anchor="middle">model file size (MB, log scale)</text>')
out.append(f'<text x="16" y="{(T+H-B)/2}" transform="rotate(-90 16 {(T+H-B)/2})" text-anchor="middle">BLEU (test, greedy)</text>')
ref = points[0]["bleu"]
out.append(f'<line x1="{L}" y1="{py(ref):.1f}" x2="{W-R}" y2="{py(ref):.1f}" stroke="#888" stroke-dasharray="4 3"/>')
for p, x, y in zip(points, xs, ys):
    color = {"fp32": "#000", "int8": "#1f77b4", "binary": "#d62728", "mixed": "#9467bd"}.get(p.get("kind", ""), "#2ca02c")
    out.append(f'<circle cx="{px(x):.1f}" cy="{py(y):.1f}" r="4" fill="{color}"/>')
    out.append(f'<text x="{px(x)+7:.1f}" y="{py(y)-6:.1f}">{p["label"]}</text>')
out.append('</svg>')
open(sys.argv[2], "w").write("\n".join(out) + "\n")
