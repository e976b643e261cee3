#!/usr/bin/env bash
# Builds the benchmark suite and runs the benchmarks named as arguments (default: the set below).
#
#   bench/run.sh                                  # the default set, about 7 minutes on 2 cores
#   bench/run.sh EchoBenchmark                    # one JMH class
#   bench/run.sh EchoBenchmark.latency            # any other word is a JMH include regex
#   bench/run.sh PeerTableBenchmark PeerTableMemory DetectionBenchmark EchoCpu
#
# JMH results: target/jmh-<name>.json (and the console log in target/jmh-<name>.txt).
# Plain mains: target/memory.txt, target/detection.txt, target/detection-samples.csv,
# target/echo-cpu.txt (EchoCpu: CPU time per echoed message, per server kind and thread).
# Then bench/summarize.py turns the JMH JSON into Markdown tables: target/summary.md.
# Machine and load at the start: target/bench-env.txt.
#
# Environment:
#   JMH_OPTS        extra JMH options, e.g. "-prof stack" or "-p dealers=8 -p server=RAW,HANDLER"
#   DETECTION_OPTS  key=value arguments of DetectionBenchmark, e.g. "trialsLong=30 servers=lib,raw"
#   SCALE_OPTS      key=value arguments of ScaleBenchmark, e.g. "n=4000 batch=4000 idleSeconds=10 raw=false ioThreads=1"
#   SCALE_JVM       extra JVM options for ScaleBenchmark's router JVM
#   PIRATE_OPTS     key=value arguments of PirateLatency, e.g. "n=20000 warmup=5000 trials=3 recipes=raw,liveness"
#   ECHO_CPU_KINDS  server kinds of EchoCpu (default "RAW HANDLER RECEIVE CALLER CALLER_POLL")
#   CURVE_JOIN_OPTS key=value arguments of CurveJoinBenchmark, e.g. "n=1000 trials=3"
#   STORM_OPTS      key=value arguments of StormBenchmark, e.g. "n=2000 swarms=4 rate=200 trials=3 stormSeconds=90 handshakeMs=5000 clientNice=0"
#   MVN_OFFLINE     "-o" to build offline once the dependencies are cached
#   BUSY_LOOPS      N: N shell busy loops at nice 0 run beside every step (a documented background load)
#   PAIRS_ROUNDS    rounds of EchoPairs (default 3); PAIRS_STYLES its styles (default "HANDLER RECEIVE CALLER CALLER_POLL");
#                   PAIRS_METHODS its EchoBenchmark methods, a regex (default "throughput"; "latency|throughput" for both)
#
# EchoPairs (not in the default set): each LivenessRouter style in a JMH run of its own right after a raw ROUTER
# (-p server=RAW,STYLE, 1 and 8 dealers), round after round, so that each ratio compares two measurements about a
# minute apart, not several minutes (this VM drifts more than the styles differ); then bench/ratios.py. Writes
# target/jmh-pairs-ROUND-STYLE.json|txt and target/pairs.md; about 5 minutes a round (7 with latency).
#
# Scale (ScaleBenchmark, not in the default set: 10,000 libzmq DEALERs in 4 python3-zmq processes,
# about 8 minutes) writes target/scale.txt. Storm (StormBenchmark, not in the default set either: a
# reconnect storm of 2,000 DealerClients in 4 swarm JVMs at nice 19, ~12,600 fds and ~1,500 threads each,
# with and without maxJoinsPerSecond, 3 trials, about 13 minutes) writes target/storm.txt.
#
# JMH settings live in the classes: forks=1, warm-up 3 x 2 s, measurement 5 x 2 s (short on purpose).
# Every socket is on 127.0.0.1; every loop is bounded in count and time.
set -euo pipefail
cd "$(dirname "$0")/.."

# Offline once the dependencies are cached (MVN_OFFLINE=-o); online by default, so a fresh machine works.
mvn -B ${MVN_OFFLINE:-} -q -DskipTests test-compile
mvn -B ${MVN_OFFLINE:-} -q dependency:build-classpath -Dmdep.outputFile=target/cp.txt -Dmdep.includeScope=test
CP="target/test-classes:target/classes:$(cat target/cp.txt)"
JAVA="${JAVA:-java}"

{
  echo "date: $(date -u +%Y-%m-%dT%H:%M:%SZ)"
  echo "commit: $(git rev-parse --short HEAD 2>/dev/null || echo unknown)"
  echo "nproc: $(nproc)"
  echo "memory: $(free -h | awk '/^Mem:/ {print $2}')"
  echo "load average at start: $(cut -d' ' -f1-3 /proc/loadavg)"
  "$JAVA" -version 2>&1 | sed 's/^/java: /'
} > target/bench-env.txt
cat target/bench-env.txt

if [ -n "${BUSY_LOOPS:-}" ]; then
  busy=()
  for _ in $(seq 1 "$BUSY_LOOPS"); do
    bash -c 'while :; do :; done' &
    busy+=("$!")
  done
  trap 'kill "${busy[@]}" 2>/dev/null || true' EXIT
  echo "background load: $BUSY_LOOPS busy loops at nice 0 (pids ${busy[*]})" | tee -a target/bench-env.txt
fi

if [ "$#" -eq 0 ]; then
  set -- EchoBenchmark PeerTableBenchmark PeerTableMemory DetectionBenchmark EchoCpu
fi

for bench in "$@"; do
  echo "=== $bench ($(date -u +%H:%M:%S), load $(cut -d' ' -f1-3 /proc/loadavg))"
  case "$bench" in
    PeerTableMemory)
      "$JAVA" -Xms2g -Xmx2g -cp "$CP" io.github.zmqliveness.bench.PeerTableMemory | tee target/memory.txt
      ;;
    DetectionBenchmark)
      # shellcheck disable=SC2086
      "$JAVA" -Xmx1g -Dorg.slf4j.simpleLogger.defaultLogLevel=warn -cp "$CP" \
        io.github.zmqliveness.bench.DetectionBenchmark ${DETECTION_OPTS:-} | tee target/detection.txt
      ;;
    Scale)
      # ScaleBenchmark: N plain libzmq DEALERs (default 10,000, 2,500 at a time) in 4 swarm processes.
      # shellcheck disable=SC2086
      "$JAVA" -Xms2g -Xmx2g ${SCALE_JVM:-} -Dorg.slf4j.simpleLogger.defaultLogLevel=warn -cp "$CP" \
        io.github.zmqliveness.bench.ScaleBenchmark ${SCALE_OPTS:-} | tee target/scale.txt
      ;;
    Storm)
      # StormBenchmark: reconnect storm of N DealerClients (default 2,000 in 4 swarm JVMs), without and with
      # maxJoinsPerSecond, 3 trials; about 13 minutes (each storm is bounded by stormSeconds).
      # shellcheck disable=SC2086
      "$JAVA" -Xms512m -Xmx1g ${STORM_JVM:-} -Dorg.slf4j.simpleLogger.defaultLogLevel=warn -cp "$CP" \
        io.github.zmqliveness.bench.StormBenchmark ${STORM_OPTS:-} | tee target/storm.txt
      ;;
    CurveJoin)
      # CurveJoinBenchmark: N DEALERs (default 1,000) joining at once, with CURVE and without, 3 trials.
      # shellcheck disable=SC2086
      "$JAVA" -Xms1g -Xmx1g -Dorg.slf4j.simpleLogger.defaultLogLevel=warn -cp "$CP" \
        io.github.zmqliveness.bench.CurveJoinBenchmark ${CURVE_JOIN_OPTS:-} | tee target/curve-join.txt
      ;;
    PirateLatency)
      # The migration recipes (Paranoid Pirate queue, Majordomo broker), raw and on LivenessRouter: round trip, 3 trials.
      # shellcheck disable=SC2086
      "$JAVA" -Xmx1g -Dorg.slf4j.simpleLogger.defaultLogLevel=warn -cp "$CP" \
        io.github.zmqliveness.bench.PirateLatency ${PIRATE_OPTS:-} | tee target/pirate-latency.txt
      ;;
    EchoPairs)
      rm -f target/jmh-pairs-*.json
      for round in $(seq 1 "${PAIRS_ROUNDS:-3}"); do
        for style in ${PAIRS_STYLES:-HANDLER RECEIVE CALLER CALLER_POLL}; do
          echo "--- round $round, RAW then $style ($(date -u +%H:%M:%S), load $(cut -d' ' -f1-3 /proc/loadavg))"
          # shellcheck disable=SC2086
          "$JAVA" -cp "$CP" org.openjdk.jmh.Main "io\\.github\\.zmqliveness\\.bench\\.EchoBenchmark\\.(${PAIRS_METHODS:-throughput})\$" \
            -p server="RAW,$style" -p dealers=1,8 -rf json -rff "target/jmh-pairs-$round-$style.json" ${JMH_OPTS:-} \
            > "target/jmh-pairs-$round-$style.txt" 2>&1
        done
      done
      python3 bench/ratios.py target/jmh-pairs-*.json | tee target/pairs.md
      ;;
    EchoCpu)
      : > target/echo-cpu.txt
      for dealers in 1 8; do
        for kind in ${ECHO_CPU_KINDS:-RAW HANDLER RECEIVE CALLER CALLER_POLL}; do
          "$JAVA" -Xms1g -Xmx1g -Dorg.slf4j.simpleLogger.defaultLogLevel=warn -cp "$CP" \
            io.github.zmqliveness.bench.EchoProbe "$kind" "$dealers" 1000000 | grep -v -E '^(TID |PROBE-)' | tee -a target/echo-cpu.txt
        done
      done
      ;;
    *)
      name="$(echo "$bench" | tr -c 'A-Za-z0-9_\n' '-')"
      # shellcheck disable=SC2086
      "$JAVA" -cp "$CP" org.openjdk.jmh.Main "io\.github\.zmqliveness\.bench\.$bench" \
        -rf json -rff "target/jmh-$name.json" ${JMH_OPTS:-} 2>&1 | tee "target/jmh-$name.txt"
      ;;
  esac
done

if command -v python3 >/dev/null; then
  bench/summarize.py target > target/summary.md && cat target/summary.md
fi
