#!/usr/bin/env python3
"""Ratios to the raw ROUTER across several runs of EchoBenchmark (JMH JSON files, one per run).

usage: bench/ratios.py RUN1.json RUN2.json ...

Throughput: for each style and dealer count, the median of the measured iterations divided by the RAW median of
the same run; then the median of those ratios over the runs and their range. Spread: (max - min) / median of the
iterations, per run, for the style and for RAW, medians over runs. Latency (SampleTime): p50 and p99 in us,
the style's minus RAW's, medians over runs."""
import json
import statistics
import sys

runs = [json.load(open(p)) for p in sys.argv[1:]]
ORDER = ["RAW", "HANDLER", "RECEIVE", "CALLER", "CALLER_POLL", "RAW_CURVE", "HANDLER_CURVE"]


def iters(b):
    return [x for fork in b["primaryMetric"]["rawData"] for x in fork]


def spread(v):
    return (max(v) - min(v)) / statistics.median(v)


thr = {}   # (dealers, server) -> list of (ratio, spread, rawspread, median)
lat = {}   # server -> list of (p50, p99, p50 - raw, p99 - raw)
for run in runs:
    raw = {}
    for b in run:
        p = b["params"]
        if b["benchmark"].endswith(".throughput") and p["server"] == "RAW":
            raw[p["dealers"]] = (statistics.median(iters(b)), spread(iters(b)))
        if b["benchmark"].endswith(".latency") and p["server"] == "RAW":
            pc = b["primaryMetric"]["scorePercentiles"]
            raw["lat"] = (pc["50.0"], pc["99.0"])
    for b in run:
        p = b["params"]
        if b["benchmark"].endswith(".throughput") and p["dealers"] in raw:
            med = statistics.median(iters(b))
            rmed, rspread = raw[p["dealers"]]
            thr.setdefault((int(p["dealers"]), p["server"]), []).append((med / rmed, spread(iters(b)), rspread, med))
        if b["benchmark"].endswith(".latency") and "lat" in raw:
            pc = b["primaryMetric"]["scorePercentiles"]
            lat.setdefault(p["server"], []).append((pc["50.0"], pc["99.0"], pc["50.0"] - raw["lat"][0], pc["99.0"] - raw["lat"][1]))


def key(k):
    return (k[0], ORDER.index(k[1]) if k[1] in ORDER else 99)


if thr:
    print("| dealers | style | ratio per run | median ratio | median echoes/s | iteration spread, style / raw (median) |")
    print("|---|---|---|---|---|---|")
    for k in sorted(thr, key=key):
        v = thr[k]
        ratios = [r[0] for r in v]
        print(f"| {k[0]} | {k[1]} | {', '.join(f'{r:.2f}' for r in ratios)} | **{statistics.median(ratios):.2f}** "
              f"| {statistics.median(r[3] for r in v):,.0f} | {statistics.median(r[1] for r in v):.2f} / {statistics.median(r[2] for r in v):.2f} |")
if lat:
    print()
    print("| style | p50 us (median of runs) | p99 us | p50 - raw, per run | p99 - raw, per run | p50 / p99 - raw (median) |")
    print("|---|---|---|---|---|---|")
    for s in sorted(lat, key=lambda s: ORDER.index(s) if s in ORDER else 99):
        v = lat[s]
        print(f"| {s} | {statistics.median(x[0] for x in v):.1f} | {statistics.median(x[1] for x in v):.1f} "
              f"| {', '.join(f'{x[2]:+.1f}' for x in v)} | {', '.join(f'{x[3]:+.1f}' for x in v)} "
              f"| **{statistics.median(x[2] for x in v):+.1f} / {statistics.median(x[3] for x in v):+.1f}** |")
