#!/usr/bin/env python3
"""Ratios to the raw ROUTER across several runs of EchoBenchmark (JMH JSON files, one per run).

usage: bench/ratios.py RUN1.json RUN2.json ...
       bench/ratios.py --cpu ECHO-CPU1.txt ECHO-CPU2.txt ...   (EchoProbe output, bench/run.sh EchoCpu)

Throughput: for each style and dealer count, the median of the measured iterations divided by the RAW median of
the same run; then the median of those ratios over the runs and their range. Spread: (max - min) / median of the
iterations, per run, for the style and for RAW, medians over runs. Latency (SampleTime): p50 and p99 in us,
the style's minus RAW's, medians over runs. --cpu: server CPU per echoed message, the ratio to RAW of the same run,
median over runs; and the server threads' context switches per 1,000 echoes."""
import json
import re
import statistics
import sys

if sys.argv[1] == "--cpu":
    cpu = {}  # (dealers, kind) -> list of (us, ratio, voluntary, involuntary)
    for path in sys.argv[2:]:
        run = {}
        kind = None
        for line in open(path):
            m = re.match(r"(\w+)\s+dealers=(\d+)\s+([\d,]+) echoes/s\s+server CPU\s+([\d.]+) us/msg", line)
            if m:
                kind = (int(m.group(2)), m.group(1))
                run[kind] = [float(m.group(4)), None, None]
            m = re.match(r"context switches of the server's threads: ([\d.]+) voluntary, ([\d.]+) involuntary", line)
            if m and kind:
                run[kind][1:] = [float(m.group(1)), float(m.group(2))]
        for k, v in run.items():
            raw = run.get((k[0], "RAW"))
            if raw:
                cpu.setdefault(k, []).append((v[0], v[0] / raw[0], v[1], v[2]))
    print("| dealers | style | server CPU us/msg per run | ratio to RAW per run | median ratio | context switches per 1000 echoes, voluntary / involuntary (median) |")
    print("|---|---|---|---|---|---|")
    order = ["RAW", "HANDLER", "RECEIVE", "CALLER", "CALLER_POLL"]
    for k in sorted(cpu, key=lambda k: (k[0], order.index(k[1]) if k[1] in order else 99)):
        v = cpu[k]
        sw = [x for x in v if x[2] is not None]
        sws = f"{statistics.median(x[2] for x in sw):.0f} / {statistics.median(x[3] for x in sw):.0f}" if sw else "n/a"
        print(f"| {k[0]} | {k[1]} | {', '.join(f'{x[0]:.2f}' for x in v)} | {', '.join(f'{x[1]:.2f}' for x in v)} "
              f"| **{statistics.median(x[1] for x in v):.2f}** | {sws} |")
    sys.exit(0)

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
        if k[1] == "RAW":
            print(f"| {k[0]} | RAW | the reference of each run ({len(v)} runs) | 1 | {statistics.median(r[3] for r in v):,.0f} "
                  f"| {statistics.median(r[1] for r in v):.2f} |")
            continue
        print(f"| {k[0]} | {k[1]} | {', '.join(f'{r:.2f}' for r in ratios)} | **{statistics.median(ratios):.2f}** "
              f"| {statistics.median(r[3] for r in v):,.0f} | {statistics.median(r[1] for r in v):.2f} / {statistics.median(r[2] for r in v):.2f} |")
if lat:
    print()
    print("| style | p50 us (median of runs) | p99 us | p50 - raw, per run | p99 - raw, per run | p50 / p99 - raw (median) |")
    print("|---|---|---|---|---|---|")
    for s in sorted(lat, key=lambda s: ORDER.index(s) if s in ORDER else 99):
        v = lat[s]
        if s == "RAW":
            print(f"| RAW | {statistics.median(x[0] for x in v):.1f} | {statistics.median(x[1] for x in v):.1f} "
                  f"| the reference of each run ({len(v)} runs) | | |")
            continue
        print(f"| {s} | {statistics.median(x[0] for x in v):.1f} | {statistics.median(x[1] for x in v):.1f} "
              f"| {', '.join(f'{x[2]:+.1f}' for x in v)} | {', '.join(f'{x[3]:+.1f}' for x in v)} "
              f"| **{statistics.median(x[2] for x in v):+.1f} / {statistics.median(x[3] for x in v):+.1f}** |")
