"""A raw ZLP client on a real libzmq DEALER (Debian's python3-zmq), for session/stale-message tests.

usage: zlp_client.py --endpoint EP --identity ID [--instance HEX32] [--epoch N] [--resume-session N]
                     [--send N --size BYTES] [--no-read] [--rcvhwm N] [--run-seconds S]

Speaks the new ZLP revision by hand: the server tags every application message it sends with a
13-byte DATA(session) frame. Says HELLO once, first on its connection (no ZMQ_HELLO_MSG in
libzmq 4.3.4, so a reconnect is NOT re-announced: tests should use one connection per process).
Delivers application data only if it is tagged with the session of the latest WELCOME; data that
arrives before WELCOME is held only if tagged with --resume-session, and delivered if WELCOME says
RESUMED with that session. Everything else is dropped and counted as stale.

With --send N, sends N messages of --size bytes after WELCOME: bytes 0-7 are a big-endian sequence
number (0, 1, ...), the rest is the instance id repeated, so a delivered echo can be checked
against this process. With --no-read, after sending it neither reads nor heartbeats: it sleeps
until killed (an "old instance" whose backlog piles up at the server).

Prints JSON lines: ready, welcome, sent, disconnect (if any), summary (at the end or on SIGTERM).
A normal end (after --run-seconds) sends BYE; SIGTERM does not (it stands in for a crash).
"""
import argparse
import json
import os
import signal
import struct
import time

import zmq

SIG = b"\xff\x5a\x4c"  # 0xFF 'Z' 'L'
VERSION = 0x01
HEADER = SIG + bytes([VERSION])
FLAG_RESUME = 0x01   # HELLO flags bit 0
FLAG_RESUMED = 0x01  # WELCOME flags bit 0


class Stop(Exception):
    """Raised by the SIGTERM handler to leave the main loop from wherever it is."""


def out(**event):
    print(json.dumps(event), flush=True)


def command(byte, fields=b""):
    return HEADER + byte + fields


def main():
    ap = argparse.ArgumentParser(description="raw ZLP client (new revision: DATA carries the session)")
    ap.add_argument("--endpoint", required=True)
    ap.add_argument("--identity", required=True, help="routing id (ZMQ_ROUTING_ID)")
    ap.add_argument("--instance", help="instance id, 32 hex digits (random if absent)")
    ap.add_argument("--epoch", type=int, default=1, help="HELLO epoch (default 1: the first HELLO)")
    ap.add_argument("--resume-session", type=int, help="set RESUME and hold pre-WELCOME data tagged N")
    ap.add_argument("--send", type=int, default=0, help="messages to send after WELCOME")
    ap.add_argument("--size", type=int, default=64, help="bytes per sent message (at least 8)")
    ap.add_argument("--no-read", action="store_true", help="after sending, never read or heartbeat")
    ap.add_argument("--rcvhwm", type=int, help="ZMQ_RCVHWM (libzmq's default: 1000 messages)")
    ap.add_argument("--run-seconds", type=float, default=5.0, help="how long to keep reading")
    a = ap.parse_args()
    instance = bytes.fromhex(a.instance) if a.instance else os.urandom(16)
    if len(instance) != 16:
        ap.error("--instance must be 32 hex digits")
    if a.send and a.size < 8:
        ap.error("--size must be at least 8")

    st = {"before_welcome": 0, "stale_dropped": 0, "delivered": 0, "delivered_seqs_ok": True,
          "untagged": 0, "other_session": 0, "welcome_ms": None}
    session = None      # session of the latest WELCOME on this connection
    held = []           # pre-WELCOME payloads tagged with --resume-session
    sent_set = set()    # sequence numbers this process sent
    last_seq = -1       # highest delivered seq so far (for the "increasing" check)
    interval = None     # heartbeat interval from WELCOME, seconds
    next_hb = None

    def deliver(frames):
        # The "application": checks the payload is one of ours, in sending order.
        nonlocal last_seq
        st["delivered"] += 1
        p = frames[0] if frames else b""
        seq = struct.unpack(">Q", p[:8])[0] if len(p) >= 8 else -1
        ours = seq in sent_set and (len(p) < 24 or p[8:24] == instance)
        if not ours or seq <= last_seq:
            st["delivered_seqs_ok"] = False
        last_seq = max(last_seq, seq)

    def summary():
        out(event="summary", **st)

    def on_term(signum, frame):
        raise Stop()

    signal.signal(signal.SIGTERM, on_term)
    ctx = zmq.Context()
    s = ctx.socket(zmq.DEALER)
    s.setsockopt(zmq.ROUTING_ID, a.identity.encode())
    s.setsockopt(zmq.LINGER, 0)
    if a.rcvhwm is not None:
        s.setsockopt(zmq.RCVHWM, a.rcvhwm)
    clean = False
    try:
        s.connect(a.endpoint)
        out(event="ready")
        # HELLO: instance id (16), epoch (uint64), flags (uint8) = 30 bytes with the header.
        flags = FLAG_RESUME if a.resume_session is not None else 0
        s.send(command(b"H", instance + struct.pack(">QB", a.epoch, flags)))
        t0 = time.monotonic()
        deadline = t0 + a.run_seconds
        while True:
            now = time.monotonic()
            if now >= deadline:
                clean = True
                break
            if next_hb is not None and now >= next_hb:
                s.send(command(b"P"))
                next_hb = now + interval
            wait = min(deadline, next_hb if next_hb is not None else deadline) - now
            if not s.poll(max(1, int(wait * 1000))):
                continue
            frames = s.recv_multipart()
            first = frames[0] if frames else b""
            is_data = first[:5] == command(b"D")
            if first[:3] == SIG and not is_data:
                # A command (valid or not). Wrong version or length: ignored, never data.
                cmd = first[4:5] if first[3:4] == bytes([VERSION]) else None
                if cmd == b"W" and len(first) == 19:
                    ses, ivl, liveness, wflags = struct.unpack(">QIBB", first[5:])
                    resumed = bool(wflags & FLAG_RESUMED)
                    first_welcome = session is None
                    session = ses
                    if st["welcome_ms"] is None:
                        st["welcome_ms"] = round((time.monotonic() - t0) * 1000, 1)
                    out(event="welcome", session=ses, resumed=resumed,
                        t_ms=round((time.monotonic() - t0) * 1000, 1))
                    # Held data is delivered only if this exact session was resumed.
                    if resumed and ses == a.resume_session:
                        for h in held:
                            deliver(h)
                    else:
                        st["stale_dropped"] += len(held)
                    held = []
                    interval = ivl / 1000.0
                    next_hb = time.monotonic() + interval
                    if first_welcome and a.send:
                        for i in range(a.send):
                            filler = (instance * (a.size // 16 + 1))[:a.size - 8]
                            sent_set.add(i)
                            s.send(struct.pack(">Q", i) + filler)
                        out(event="sent", count=a.send)
                    if first_welcome and a.no_read:
                        while True:  # the "old instance": no reads, no heartbeats
                            time.sleep(3600)
                elif cmd == b"X" and len(first) >= 10:
                    reason, retry = struct.unpack(">BI", first[5:10])
                    out(event="disconnect", reason=reason, retry_after_ms=retry,
                        text=first[10:].decode("utf-8", errors="replace"))
                # HEARTBEAT needs no answer; malformed/unknown commands are ignored.
                continue
            # Application data: tagged with DATA(session) (13 bytes) or untagged.
            if session is None:
                st["before_welcome"] += 1
            if is_data and len(first) == 13:
                tag = struct.unpack(">Q", first[5:])[0]
                payload = frames[1:]
                if session is None and a.resume_session is not None and tag == a.resume_session:
                    held.append(payload)  # decided when WELCOME arrives
                elif session is not None and tag == session:
                    deliver(payload)
                else:
                    st["other_session"] += 1
                    st["stale_dropped"] += 1
            else:
                # No session tag (plain data, or a 5-byte DATA of the old revision): stale.
                st["untagged"] += 1
                st["stale_dropped"] += 1
    except (Stop, KeyboardInterrupt):
        pass
    finally:
        signal.signal(signal.SIGTERM, signal.SIG_IGN)  # no second summary
        st["stale_dropped"] += len(held)  # never confirmed by a WELCOME
        if clean:
            s.send(command(b"B"))  # BYE only on a clean stop, not on SIGTERM ("crash")
            time.sleep(0.05)       # LINGER is 0: give the I/O thread a moment to write it
        summary()
        s.close(0)
        ctx.term()


if __name__ == "__main__":
    main()
