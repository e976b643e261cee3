"""Many real libzmq DEALERs (Debian's python3-zmq) in one process, for scale benchmarks.

usage: swarm.py ENDPOINT PREFIX SLOTS INITIAL INTERVAL_MS [HANDSHAKE_MS]

The command protocol of DealerSwarmProcess (the JeroMQ swarm), minus takeover: slot i has the
identity PREFIX-i (three digits at least); INITIAL slots join at start; every active dealer sends
"tick N" every interval (a dealer's ticks are spread: its first tick is sent when it joins).
Prints "ready N", then answers each line "SEQ COMMAND [ARG]" with "ok SEQ ...":
  join K, leave K (close the K highest active sockets), list, quiet, loud, stats, exit.
libzmq does the ZMTP work (handshake, PING/PONG, reconnect every 50 ms) on its own I/O thread in C,
so one process holds thousands of dealers for little CPU: the router, not the clients, is measured.
HANDSHAKE_MS is libzmq's ZMQ_HANDSHAKE_IVL (default: libzmq's own, 30 s).
"""
import collections
import queue
import sys
import threading
import time

import zmq


def main():
    endpoint, prefix = sys.argv[1], sys.argv[2]
    slots, initial, interval = int(sys.argv[3]), int(sys.argv[4]), int(sys.argv[5]) / 1000.0
    handshake = int(sys.argv[6]) if len(sys.argv) > 6 else None
    ctx = zmq.Context(io_threads=1)
    ctx.set(zmq.MAX_SOCKETS, slots + 64)
    ids = ["%s-%03d" % (prefix, i) for i in range(slots)]
    socks = [None] * slots
    ticks = [0] * slots
    gens = [0] * slots  # a slot that left and joined again ignores its old schedule entry
    due = collections.deque()  # (time, slot), in time order: every slot has the same interval
    state = {"quiet": False, "sent": 0, "received": 0}

    def send(i):
        try:
            socks[i].send(b"tick %d" % ticks[i], zmq.NOBLOCK)
            ticks[i] += 1
            state["sent"] += 1
        except zmq.Again:
            pass  # high-water mark: the router is not reading; skip this tick
        while True:  # drain replies, if the router sends any
            try:
                socks[i].recv(zmq.NOBLOCK)
                state["received"] += 1
            except zmq.Again:
                break

    def join(k):
        n = 0
        now = time.monotonic()
        for i in range(slots):
            if n == k:
                break
            if socks[i] is None:
                s = ctx.socket(zmq.DEALER)
                s.setsockopt(zmq.IDENTITY, ids[i].encode())
                s.setsockopt(zmq.LINGER, 0)
                s.setsockopt(zmq.RECONNECT_IVL, 50)
                if handshake is not None:
                    s.setsockopt(zmq.HANDSHAKE_IVL, handshake)
                s.connect(endpoint)
                socks[i] = s
                gens[i] += 1
                send(i)  # joins with its first message (queued until connected)
                due.append((now + interval, i, gens[i]))
                n += 1
        return n

    def active():
        return [ids[i] for i in range(slots) if socks[i] is not None]

    commands = queue.Queue()

    def read_stdin():
        for line in sys.stdin:
            commands.put(line)
        commands.put("0 exit")

    threading.Thread(target=read_stdin, daemon=True).start()
    print("ready %d" % join(initial), flush=True)
    while True:
        timeout = 0.05
        if due:
            timeout = min(timeout, max(0.0, due[0][0] - time.monotonic()))
        try:
            line = commands.get(timeout=timeout)
        except queue.Empty:
            line = None
        while line is not None:
            w = line.split()
            seq, cmd = w[0], (w[1] if len(w) > 1 else "")
            k = int(w[2]) if len(w) > 2 else 0
            if cmd == "join":
                join(k)
                print("ok %s active=%d" % (seq, len(active())), flush=True)
            elif cmd == "leave":
                for i in range(slots - 1, -1, -1):
                    if k == 0:
                        break
                    if socks[i] is not None:
                        socks[i].close(0)
                        socks[i] = None
                        k -= 1
                print("ok %s active=%d" % (seq, len(active())), flush=True)
            elif cmd == "list":
                print("ok %s %s" % (seq, ",".join(active())), flush=True)
            elif cmd in ("quiet", "loud"):
                state["quiet"] = cmd == "quiet"
                print("ok %s %s" % (seq, cmd), flush=True)
            elif cmd == "stats":
                print("ok %s sent=%d received=%d" % (seq, state["sent"], state["received"]), flush=True)
            elif cmd == "exit":
                print("ok %s bye" % seq, flush=True)
                for s in socks:
                    if s is not None:
                        s.close(0)
                ctx.term()
                return
            else:
                print("error %s unknown command: %s" % (seq, line.strip()), flush=True)
            try:
                line = commands.get_nowait()
            except queue.Empty:
                line = None
        now = time.monotonic()
        while due and due[0][0] <= now:
            _, i, gen = due.popleft()
            if socks[i] is None or gen != gens[i]:
                continue  # left; a later join schedules it again
            if not state["quiet"]:
                send(i)
            due.append((now + interval, i, gen))


if __name__ == "__main__":
    main()
