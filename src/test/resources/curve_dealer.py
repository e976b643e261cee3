"""A real libzmq DEALER (Debian's python3-zmq) with CURVE keys, for the CURVE identity tests.

usage: curve_dealer.py ENDPOINT IDENTITY INTERVAL_MS
           (--server-key Z85 --public-key Z85 --secret-key Z85 | --null) [--silent] [--tag TAG]

Each key is one argv element, taken verbatim (Z85 text has characters a shell would read, and may begin
with '-'). --null: no CURVE at all (the NULL mechanism). IDENTITY is the routing id it claims (ZMQ_IDENTITY).

Ticking (the default): sends "tick N" ("tick TAG N" with --tag) every interval.
--silent: never sends on its own, only reads and prints what it receives, until it is told to on standard
input: a line "say TEXT" sends one message TEXT.

Prints "ready" once its handshake succeeded (libzmq's socket monitor: ZMQ_EVENT_HANDSHAKE_SUCCEEDED),
"reply A | B ..." for each message received (its frames), "event NAME VALUE" for every monitor event and
"said TEXT" after a "say"; stdout is flushed after each line. End of standard input (the parent died) exits.
"""
import sys
import time

import zmq
from zmq.utils.monitor import recv_monitor_message

EVENT_NAMES = {getattr(zmq, n): n[len("EVENT_"):] for n in dir(zmq)
               if n.startswith("EVENT_") and n not in ("EVENT_ALL", "EVENT_ALL_V1", "EVENT_ALL_V2")}


def say(line):
    print(line, flush=True)


def option(opts, name):
    if name not in opts:
        return None
    i = opts.index(name)
    if i + 1 >= len(opts):
        sys.exit("curve_dealer.py: %s needs a value" % name)
    return opts[i + 1]


endpoint, identity, interval = sys.argv[1], sys.argv[2], int(sys.argv[3]) / 1000.0
opts = sys.argv[4:]
silent = "--silent" in opts
tag = option(opts, "--tag")

ctx = zmq.Context()
s = ctx.socket(zmq.DEALER)
s.setsockopt(zmq.IDENTITY, identity.encode())
s.setsockopt(zmq.LINGER, 0)
s.setsockopt(zmq.RECONNECT_IVL, 50)
if "--null" not in opts:
    keys = [option(opts, n) for n in ("--server-key", "--public-key", "--secret-key")]
    if None in keys or any(len(k) != 40 for k in keys):
        sys.exit("curve_dealer.py: --server-key, --public-key and --secret-key (40 Z85 characters each), or --null")
    s.setsockopt(zmq.CURVE_SERVERKEY, keys[0].encode("ascii"))
    s.setsockopt(zmq.CURVE_PUBLICKEY, keys[1].encode("ascii"))
    s.setsockopt(zmq.CURVE_SECRETKEY, keys[2].encode("ascii"))
monitor = s.get_monitor_socket()
s.connect(endpoint)

poller = zmq.Poller()
poller.register(s, zmq.POLLIN)
poller.register(monitor, zmq.POLLIN)
poller.register(sys.stdin.fileno(), zmq.POLLIN)

ready = False
n = 0
next_send = time.monotonic()
while True:
    if silent:
        timeout = None
    else:
        now = time.monotonic()
        if now >= next_send:
            s.send_multipart([(b"tick %d" % n) if tag is None else (b"tick %s %d" % (tag.encode(), n))])
            n += 1
            next_send = now + interval
        timeout = max(1, int((next_send - time.monotonic()) * 1000))
    for sock, _ in poller.poll(timeout):
        if sock is s:
            while True:
                try:
                    parts = s.recv_multipart(zmq.DONTWAIT)
                except zmq.Again:
                    break
                say("reply " + " | ".join(p.decode(errors="replace") for p in parts))
        elif sock is monitor:
            while True:
                try:
                    ev = recv_monitor_message(monitor, zmq.DONTWAIT)
                except zmq.Again:
                    break
                say("event %s %s" % (EVENT_NAMES.get(ev["event"], ev["event"]), ev["value"]))
                if ev["event"] == zmq.EVENT_HANDSHAKE_SUCCEEDED and not ready:
                    ready = True
                    say("ready")
        else:
            line = sys.stdin.readline()
            if not line:
                sys.exit(0)
            if line.startswith("say "):
                text = line[len("say "):].rstrip("\n")
                s.send_multipart([text.encode()])
                say("said " + text)
