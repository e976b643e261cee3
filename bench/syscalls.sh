#!/usr/bin/env bash
# System calls per echoed message, per thread, for each echo server kind: runs EchoProbe under
# `perf trace -s` (needs perf and root, or perf_event_paranoid <= 1) and names the threads.
#
#   bench/syscalls.sh [dealers=1] [messages=300000]
#
# Tracing slows every system call, so the rates it prints are not throughput figures; the counts
# per message are what it is for. Output: target/syscalls.txt.
set -euo pipefail
cd "$(dirname "$0")/.."
DEALERS="${1:-1}"
MESSAGES="${2:-300000}"
mvn -B -o -q -DskipTests test-compile
mvn -B -o -q dependency:build-classpath -Dmdep.outputFile=target/cp.txt -Dmdep.includeScope=test
CP="target/test-classes:target/classes:$(cat target/cp.txt)"
mkdir -p target/syscalls
for kind in RAW HANDLER RECEIVE; do
  perf trace -s -o "target/syscalls/$kind.perf" -- java -Xmx1g -Dorg.slf4j.simpleLogger.defaultLogLevel=warn -cp "$CP" \
    io.github.zmqliveness.bench.EchoProbe "$kind" "$DEALERS" "$MESSAGES" > "target/syscalls/$kind.out"
done
python3 - "$MESSAGES" <<'PY' | tee target/syscalls.txt
import re, sys
messages = int(sys.argv[1])
def threads(kind):
    names = {}
    for line in open(f"target/syscalls/{kind}.out"):
        if line.startswith("TID "):
            _, tid, name = line.rstrip("\n").split(" ", 2)
            names[tid] = name
    return names
def counts(kind):
    per, tid = {}, None
    for line in open(f"target/syscalls/{kind}.perf"):
        m = re.match(r"\s*\S+ \((\d+)\), \d+ events", line)
        if m:
            tid = m.group(1); per[tid] = {}; continue
        m = re.match(r"\s+([a-z_0-9]+)\s+(\d+)\s+(\d+)\s+[\d.]+", line)
        if m and tid:
            per[tid][m.group(1)] = int(m.group(2))
    return per
INTERESTING = ("zmq-liveness-ro", "raw-router-echo", "receive-echo", "iothread", "main")
for kind in ("RAW", "HANDLER", "RECEIVE"):
    names, per = threads(kind), counts(kind)
    print(f"== {kind}: system calls per echoed message ({messages} messages; whole run, setup included)")
    rows = []
    for tid, calls in per.items():
        name = names.get(tid, "?")
        if not name.startswith(INTERESTING):
            continue
        total = sum(calls.values())
        top = sorted(calls.items(), key=lambda kv: -kv[1])[:5]
        rows.append((name, tid, total, top))
    for name, tid, total, top in sorted(rows, key=lambda r: -r[2]):
        print(f"  {name:<16} {total / messages:6.2f}/msg  " + ", ".join(f"{s} {c / messages:.2f}" for s, c in top))
PY
