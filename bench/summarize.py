#!/usr/bin/env python3
"""Markdown tables from the JMH JSON results in target/: medians with min/max over the measured
iterations, JMH's score +- 99.9% error, and the ratios of each LivenessRouter style to the raw
ROUTER from the same run. Usage: bench/summarize.py [target-dir]"""
import json
import os
import statistics
import sys

target = sys.argv[1] if len(sys.argv) > 1 else "target"


def load(name):
    path = os.path.join(target, f"jmh-{name}.json")
    if not os.path.exists(path):
        return []
    with open(path) as f:
        return json.load(f)


def fmt(v):
    return f"{v:,.0f}" if v >= 100 else f"{v:.1f}"


echo = load("EchoBenchmark")
thr = [b for b in echo if b["benchmark"].endswith(".throughput")]
if thr:
    print("### Echo throughput (echoed messages/s; window 100 per dealer, 64-byte payload)\n")
    print("| dealers | server | median | min | max | JMH score ± error | median / RAW median |")
    print("|---|---|---|---|---|---|---|")
    raw = {}
    rows = []
    for b in thr:
        p, pm = b["params"], b["primaryMetric"]
        it = [x for fork in pm["rawData"] for x in fork]
        med = statistics.median(it)
        if p["server"] == "RAW":
            raw[p["dealers"]] = med
        rows.append((int(p["dealers"]), p["server"], med, min(it), max(it), pm["score"], pm["scoreError"]))
    order = {"RAW": 0, "HANDLER": 1, "RECEIVE": 2}
    for d, s, med, lo, hi, score, err in sorted(rows, key=lambda r: (r[0], order.get(r[1], 9))):
        ratio = med / raw[str(d)] if str(d) in raw else float("nan")
        print(f"| {d} | {s} | {fmt(med)} | {fmt(lo)} | {fmt(hi)} | {fmt(score)} ± {fmt(err)} | {ratio:.2f} |")
    print()

lat = [b for b in echo if b["benchmark"].endswith(".latency")]
if lat:
    print("### Echo round-trip latency (µs; one message in flight, one dealer)\n")
    print("| server | p50 | p90 | p99 | p99.9 | max | mean ± error | samples | p50 − RAW p50 |")
    print("|---|---|---|---|---|---|---|---|---|")
    raw50 = None
    rows = []
    for b in lat:
        p, pm = b["params"], b["primaryMetric"]
        pc = pm["scorePercentiles"]
        n = sum(c for fork in pm["rawDataHistogram"] for it in fork for _, c in it)
        if p["server"] == "RAW":
            raw50 = pc["50.0"]
        rows.append((p["server"], pc, pm["score"], pm["scoreError"], n))
    order = {"RAW": 0, "HANDLER": 1, "RECEIVE": 2}
    for s, pc, score, err, n in sorted(rows, key=lambda r: order.get(r[0], 9)):
        delta = f"{pc['50.0'] - raw50:+.0f}" if raw50 is not None else "-"
        print(f"| {s} | {pc['50.0']:.0f} | {pc['90.0']:.0f} | {pc['99.0']:.0f} | {pc['99.9']:.0f} | {pc['100.0']:.0f} | "
              f"{score:.0f} ± {err:.0f} | {n:,} | {delta} |")
    print()

for b in load("PeerTableBenchmark"):
    p, pm = b["params"], b["primaryMetric"]
    it = [x for fork in pm["rawData"] for x in fork]
    print("### PeerTable heartbeat handling\n")
    print("| peers | tick every | median ops/s | min | max | JMH score ± error | ns/op (median) |")
    print("|---|---|---|---|---|---|---|")
    med = statistics.median(it)
    print(f"| {p['peers']} | {p['tickEvery']} | {fmt(med)} | {fmt(min(it))} | {fmt(max(it))} | "
          f"{fmt(pm['score'])} ± {fmt(pm['scoreError'])} | {1e9 / med:.0f} |")
    print()
