#!/usr/bin/env bash
# The router process stopped and resumed, with a mixed fleet, as an operator would try it:
# the CLI router at 200 ms x 3 with --echo, 20 libzmq DEALERs (python3-zmq, one message per 200 ms)
# and 10 DealerClients (the CLI client, one message per 500 ms, heartbeat 200 ms). The router is sent
# SIGSTOP for each length given (seconds), SIGCONT after it, then left running for 6 s.
#
#   bench/stop-fleet.sh 1 3 5          # about 40 s
#
# Prints, per stop, the router's events after it resumed by kind (plain or protocol peer), reason and
# during_stall, then how long the DealerClients took to be back (rejoined) after the router noticed
# the stall. Needs target/zmq-liveness-cli.jar (mvn -B -q package -DskipTests) and /usr/bin/python3
# with zmq. Output files: target/stop-fleet/.
set -euo pipefail
cd "$(dirname "$0")/.."
OUT=target/stop-fleet
rm -rf "$OUT" && mkdir -p "$OUT"
uptime > "$OUT/load.txt"
cat "$OUT/load.txt"
PORT=$((20000 + RANDOM % 10000))
pids=()
cleanup() { kill -CONT "${pids[0]}" 2>/dev/null || true; kill "${pids[@]}" 2>/dev/null || true; wait 2>/dev/null || true; }
trap cleanup EXIT
java -jar target/zmq-liveness-cli.jar router --bind "tcp://127.0.0.1:$PORT" --heartbeat 200ms --liveness 3 --echo \
    > "$OUT/router.out" 2> "$OUT/router.err" &
R=$!
pids+=("$R")
sleep 2
for i in $(seq 0 19); do
    /usr/bin/python3 -u src/test/resources/dealer.py "tcp://127.0.0.1:$PORT" "plain-$i" 200 > "$OUT/dealer-$i.out" 2>&1 &
    pids+=("$!")
done
java -jar target/zmq-liveness-cli.jar client --connect "tcp://127.0.0.1:$PORT" --identity c --count 10 --interval 500ms \
    --heartbeat 200ms > "$OUT/client.out" 2> "$OUT/client.err" &
pids+=("$!")
sleep 6
for len in "$@"; do
    before=$(wc -l < "$OUT/router.out")
    kill -STOP "$R"
    sleep "$len"
    kill -CONT "$R"
    sleep 6
    echo "== router stopped ${len} s: its events after it resumed (count, event, peer kind, reason, during_stall)"
    tail -n +$((before + 1)) "$OUT/router.out" | python3 -c '
import sys, json, collections
c = collections.Counter()
for line in sys.stdin:
    try:
        e = json.loads(line)
    except ValueError:
        continue
    kind = "protocol" if e.get("identity", "").startswith("c-") else "plain" if "identity" in e else "-"
    c[(e.get("event"), kind, e.get("reason"), e.get("during_stall", False))] += 1
for k, v in sorted(c.items(), key=str):
    print("  ", v, *k)
'
done
python3 - "$OUT" <<'PY'
import json, sys
from datetime import datetime
out = sys.argv[1]
def t(s):
    return datetime.fromisoformat(s.replace("Z", "")[:26])
stalls = [t(json.loads(l)["time"]) for l in open(out + "/router.out") if '"event":"stalled"' in l]
rejoins = [t(json.loads(l)["time"]) for l in open(out + "/client.out") if '"event":"rejoined"' in l]
for i, s in enumerate(stalls):
    end = stalls[i + 1] if i + 1 < len(stalls) else datetime.max
    d = sorted((r - s).total_seconds() * 1000 for r in rejoins if s.replace(microsecond=0) <= r < end)
    if d:
        print("stall %d: %d DealerClient rejoins, ms after the router noticed the stall: median %.0f, max %.0f"
              % (i + 1, len(d), d[len(d) // 2], d[-1]))
    else:
        print("stall %d: no DealerClient rejoined" % (i + 1))
PY
