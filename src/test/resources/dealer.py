"""A real libzmq DEALER (Debian's python3-zmq) for interoperability tests.

usage: dealer.py ENDPOINT IDENTITY INTERVAL_MS [--zmtp-heartbeat MS] [--delimiter] [--no-identity]
Sends "tick N" every interval (after an empty delimiter frame with --delimiter), prints "ready"
after the first send and "reply ..." for each message received.
"""
import sys
import time

import zmq

endpoint, identity, interval = sys.argv[1], sys.argv[2], int(sys.argv[3]) / 1000.0
opts = sys.argv[4:]
ctx = zmq.Context()
s = ctx.socket(zmq.DEALER)
if "--no-identity" not in opts:
    s.setsockopt(zmq.IDENTITY, identity.encode())
s.setsockopt(zmq.LINGER, 0)
s.setsockopt(zmq.RECONNECT_IVL, 50)
if "--zmtp-heartbeat" in opts:
    hb = int(opts[opts.index("--zmtp-heartbeat") + 1])
    s.setsockopt(zmq.HEARTBEAT_IVL, hb)
    s.setsockopt(zmq.HEARTBEAT_TIMEOUT, hb * 3)
s.connect(endpoint)
n = 0
next_send = 0.0
while True:
    now = time.monotonic()
    if now >= next_send:
        frames = [b"tick %d" % n]
        if "--delimiter" in opts:
            frames = [b""] + frames
        s.send_multipart(frames)
        if n == 0:
            print("ready", flush=True)
        n += 1
        next_send = now + interval
    if s.poll(max(1, int((next_send - time.monotonic()) * 1000))):
        parts = s.recv_multipart()
        print("reply " + " | ".join(p.decode(errors="replace") for p in parts), flush=True)
