"""A ZLP client on libzmq 4.3.4 (no ZMQ_HELLO_MSG), following docs/PROTOCOL.md section 8: one socket per
connection, so that HELLO is the first message of every connection and no DISCONNECT is lost.

usage: zlp_client_434.py --endpoint EP --identity ID [--run-seconds S] [--work-us N] [--reconnect-ivl MS] [--no-drain]

Each connection: a DEALER with ZMQ_ROUTING_ID, ZMQ_RECONNECT_IVL of an hour (libzmq never gets to reconnect it:
the socket is closed long before; but with reconnection on, libzmq 4.3.4 keeps what a dying connection delivered
for the application to read, which it discards when ZMQ_RECONNECT_IVL is -1 or ZMQ_IMMEDIATE is 1), ZMQ_LINGER 0, a
monitor for DISCONNECTED; HELLO (RESUME after the first session), then WELCOME, HEARTBEAT every interval. When the
connection ends (the monitor says DISCONNECTED, or the server is silent for interval x liveness): read what the
socket still holds, obey a DISCONNECT's retry after (else back off 100 ms), close the socket and start again.
--reconnect-ivl -1 and --no-drain show what the recipe prevents. Prints JSON lines: welcome (session, resumed),
disconnect (reason, retry_after_ms, text), reconnect (waited_ms, told_ms), summary.
"""
import argparse
import json
import os
import struct
import time

import zmq

HEADER = b"\xff\x5a\x4c\x01"
FLAG_RESUME = 0x01


def out(**event):
    print(json.dumps(event), flush=True)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--endpoint", required=True)
    ap.add_argument("--identity", required=True)
    ap.add_argument("--run-seconds", type=float, default=30.0)
    ap.add_argument("--reconnect-ivl", type=int, default=3600000)
    ap.add_argument("--no-drain", action="store_true")
    ap.add_argument("--work-us", type=int, default=0, help="time the application spends on each data message")
    a = ap.parse_args()
    instance = os.urandom(16)
    ctx = zmq.Context()
    epoch = 0
    session = None  # the last WELCOME's session: resumed if the server still has it
    st = {"connections": 0, "welcomes": 0, "disconnects": 0}
    end = time.monotonic() + a.run_seconds
    while time.monotonic() < end:
        s = ctx.socket(zmq.DEALER)
        s.setsockopt(zmq.ROUTING_ID, a.identity.encode())
        s.setsockopt(zmq.RECONNECT_IVL, a.reconnect_ivl)
        s.setsockopt(zmq.LINGER, 0)
        mon = s.get_monitor_socket(zmq.EVENT_DISCONNECTED)
        s.connect(a.endpoint)
        epoch += 1
        st["connections"] += 1
        flags = FLAG_RESUME if session is not None else 0
        s.send(HEADER + b"H" + instance + struct.pack(">QB", epoch, flags))
        interval, liveness = 1.0, 3
        heard = time.monotonic()
        next_hb = None
        told = None  # retry after of a DISCONNECT, seconds

        def handle(frames):
            nonlocal session, interval, liveness, next_hb, told
            first = frames[0]
            if first[:4] != HEADER:
                return
            cmd = first[4:5]
            if cmd == b"D" and a.work_us:
                time.sleep(a.work_us / 1e6)  # the application at work on the message
            if cmd == b"W" and len(first) == 19:
                ses, ivl, live, wflags = struct.unpack(">QIBB", first[5:])
                out(event="welcome", session=ses, resumed=bool(wflags & 1), epoch=epoch)
                st["welcomes"] += 1
                session, interval, liveness = ses, ivl / 1000.0, live
                next_hb = time.monotonic() + interval
            elif cmd == b"X" and len(first) >= 10:
                reason, retry = struct.unpack(">BI", first[5:10])
                out(event="disconnect", reason=reason, retry_after_ms=retry,
                    text=first[10:].decode("utf-8", errors="replace"))
                st["disconnects"] += 1
                told = min(retry, 300000) / 1000.0

        poller = zmq.Poller()
        poller.register(s, zmq.POLLIN)
        poller.register(mon, zmq.POLLIN)
        ended = False
        while not ended and time.monotonic() < end and told is None:
            now = time.monotonic()
            if next_hb is not None and now >= next_hb:
                s.send(HEADER + b"P")
                next_hb = now + interval
            events = dict(poller.poll(50))
            if s in events:
                handle(s.recv_multipart())
                heard = time.monotonic()
            if mon in events:
                mon.recv_multipart()
                ended = True
            if time.monotonic() - heard > interval * liveness:
                ended = True
        if not a.no_drain:
            while told is None:  # what the dying connection delivered, a DISCONNECT among it
                try:
                    handle(s.recv_multipart(zmq.DONTWAIT))
                except zmq.Again:
                    break
        s.disable_monitor()
        mon.close(0)
        s.close(0)
        wait = told if told is not None else 0.1
        t0 = time.monotonic()
        time.sleep(wait)
        out(event="reconnect", waited_ms=round((time.monotonic() - t0) * 1000), told_ms=None if told is None else round(told * 1000))
    out(event="summary", **st)
    ctx.term()


if __name__ == "__main__":
    main()
