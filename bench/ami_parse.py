"""How fast the AMI byte stream is read: raw socket, our parser, panoramisk's parser, side by side.

Run: ``.venv/bin/python bench/ami_parse.py [--mb 4] [--rounds 3]``

The payload is every AMI capture in ``tests/fixtures/asterisk-captures`` (what a real Asterisk 22
sent), one banner and then the captures' messages repeated to a few MB. It is measured as:

(a) raw: the payload sent by a thread over a loopback TCP socket and read by a plain ``recv``
    loop; no parsing. The ceiling of any reader, and the source of the recv-sized chunks below.
(b) ctid: ``AMIParser.feed`` on those same chunks, every message dispatched through a
    ``{event name: handler}`` table (responses to a response handler), as the AMI client does;
    again with ``bulk=False`` (strictly block by block); and live: recv, parse and dispatch in
    the same loop on the socket.
(c) panoramisk 1.4: its ``AMIProtocol.data_received`` on the same chunks, messages routed to the
    same table (its ``handle_message`` replaced by that routing: no actions are pending).

(b) and (c) run once more on the same bytes cut where the captures' real TCP reads fell (the
``rx`` entries of the ``.jsonl`` files): mostly one or two messages per read.

Each figure is the median of ``--rounds`` runs. Not a test: it prints and exits.
"""
from __future__ import annotations

import argparse
import json
import socket
import statistics
import sys
import threading
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench._stats import mb_per_s, peak_rss_mb, percentiles, print_table, rate  # noqa: E402
from cti.protocol.ami import AMIParser, ProtocolError  # noqa: E402
from cti.protocol.ami_message import Message  # noqa: E402

CAPTURES = ROOT / "tests" / "fixtures" / "asterisk-captures"
RECV_SIZE = 65536


def build_payload(target_mb: float) -> tuple[bytes, int]:
    """One banner, then every capture's messages again and again; returns (bytes, messages)."""
    banner = b""
    body = b""
    for path in sorted(CAPTURES.glob("ami-*.server.txt")):
        data = path.read_bytes()
        line_end = data.index(b"\n") + 1
        banner = banner or data[:line_end]
        body += data[line_end:]
    copies = max(1, round(target_mb * 1e6 / len(body)))
    payload = banner + body * copies
    return payload, copies


def real_reads(copies: int) -> list[bytes]:
    """The same payload cut where Asterisk's TCP reads really fell (the ``rx`` of each .jsonl)."""
    banner = b""
    body: list[bytes] = []
    for path in sorted(CAPTURES.glob("ami-*.jsonl")):
        reads = [json.loads(line) for line in path.read_text().splitlines()]
        reads = [r["data"].encode("latin-1") for r in reads if r["dir"] == "rx"]
        line_end = reads[0].index(b"\n") + 1
        banner = banner or reads[0][:line_end]
        body += [reads[0][line_end:]] + reads[1:]
    return [banner] + [chunk for chunk in body if chunk] * copies


def count_messages(payload: bytes) -> int:
    parser = AMIParser()
    return sum(isinstance(item, Message) for item in parser.feed(payload))


# -- (a) the socket alone ------------------------------------------------------------------------

def _serve(payload: bytes) -> tuple[socket.socket, threading.Thread]:
    """A listening socket on 127.0.0.1 and a thread that sends the payload to whoever connects."""
    listener = socket.create_server(("127.0.0.1", 0))

    def send() -> None:
        conn, _ = listener.accept()
        with conn:
            conn.sendall(payload)
        listener.close()

    thread = threading.Thread(target=send, daemon=True)
    thread.start()
    return listener, thread


def recv_all(payload: bytes, on_chunk=None) -> tuple[float, list[bytes]]:
    """Read the payload off a loopback socket; returns (seconds, the chunks recv gave)."""
    listener, thread = _serve(payload)
    client = socket.create_connection(listener.getsockname())
    client.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 1 << 20)
    chunks: list[bytes] = []
    start = time.perf_counter()
    with client:
        while True:
            chunk = client.recv(RECV_SIZE)
            if not chunk:
                break
            if on_chunk is None:
                chunks.append(chunk)
            else:
                on_chunk(chunk)
    seconds = time.perf_counter() - start
    thread.join()
    return seconds, chunks


# -- the handler table both parsers dispatch into --------------------------------------------

class Handlers:
    """``{event name: handler}``, as the call tracker declares it; counts what it was given."""

    def __init__(self, event_names) -> None:
        self.events = 0
        self.responses = 0
        self.table = {name: self.on_event for name in event_names}

    def on_event(self, _message) -> None:
        self.events += 1

    def on_response(self, _message) -> None:
        self.responses += 1


def event_names(payload: bytes) -> set[str]:
    return {m.name for m in AMIParser().feed(payload)
            if isinstance(m, Message) and m.kind == "event"}


# -- (b) ours ------------------------------------------------------------------------------------

def run_ctid(chunks: list[bytes], names: set[str],
             bulk: bool = True) -> tuple[float, Handlers, list[float]]:
    handlers = Handlers(names)
    table, on_response = handlers.table, handlers.on_response
    parser = AMIParser(bulk=bulk)
    feed_times: list[float] = []
    clock = time.perf_counter
    start = clock()
    for chunk in chunks:
        t0 = clock()
        for item in parser.feed(chunk):
            if type(item) is Message:
                if item.kind == "response":
                    on_response(item)
                else:
                    handler = table.get(item.name)
                    if handler is not None:
                        handler(item)
            elif isinstance(item, ProtocolError):
                raise SystemExit(f"protocol error in a capture: {item.reason}")
        feed_times.append(clock() - t0)
    return clock() - start, handlers, feed_times


def run_ctid_live(payload: bytes, names: set[str]) -> tuple[float, Handlers]:
    handlers = Handlers(names)
    table, on_response = handlers.table, handlers.on_response
    parser = AMIParser()

    def on_chunk(chunk: bytes) -> None:
        for item in parser.feed(chunk):
            if type(item) is Message:
                if item.kind == "response":
                    on_response(item)
                else:
                    handler = table.get(item.name)
                    if handler is not None:
                        handler(item)

    seconds, _ = recv_all(payload, on_chunk)
    return seconds, handlers


# -- (c) panoramisk ------------------------------------------------------------------------------

def run_panoramisk(chunks: list[bytes], names: set[str]) -> tuple[float, Handlers] | None:
    try:
        from panoramisk.ami_protocol import AMIProtocol
    except ImportError:
        return None

    class _Transport:
        def write(self, data) -> None:
            pass

        def close(self) -> None:
            pass

    handlers = Handlers(names)
    table, on_response = handlers.table, handlers.on_response
    protocol = AMIProtocol()
    protocol.connection_made(_Transport())

    def handle_message(message) -> None:
        event = message.get("Event")
        if event is None:
            on_response(message)
        else:
            handler = table.get(event)
            if handler is not None:
                handler(message)

    protocol.handle_message = handle_message
    start = time.perf_counter()
    for chunk in chunks:
        protocol.data_received(chunk)
    return time.perf_counter() - start, handlers


# -- report --------------------------------------------------------------------------------------

def main(argv=None) -> None:
    options = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    options.add_argument("--mb", type=float, default=4.0, help="payload size in MB (default 4)")
    options.add_argument("--rounds", type=int, default=5, help="runs per figure (default 5)")
    args = options.parse_args(argv)

    payload, copies = build_payload(args.mb)
    message_count = count_messages(payload)
    reads = real_reads(copies)
    assert b"".join(reads) == payload
    names = event_names(payload)
    size = len(payload)
    print(f"payload: {size / 1e6:.2f} MB, {message_count:,} messages "
          f"({size / message_count:.0f} B each), {len(names)} event names in the handler table, "
          f"recv({RECV_SIZE})")

    raw_runs = [recv_all(payload) for _ in range(args.rounds)]
    chunks = raw_runs[0][1]
    assert b"".join(chunks) == payload
    raw_s = statistics.median(seconds for seconds, _ in raw_runs)

    ctid_runs = [run_ctid(chunks, names) for _ in range(args.rounds)]
    ctid_s = statistics.median(r[0] for r in ctid_runs)
    ctid_handlers = ctid_runs[0][1]
    feed_us = [t * 1e6 for t in ctid_runs[0][2]]
    ctid_count = ctid_handlers.events + ctid_handlers.responses
    if ctid_count != message_count:
        raise SystemExit(f"ctid parsed {ctid_count} messages, expected {message_count}")

    single_s = statistics.median(run_ctid(chunks, names, bulk=False)[0] for _ in range(args.rounds))

    live_runs = [run_ctid_live(payload, names) for _ in range(args.rounds)]
    live_s = statistics.median(r[0] for r in live_runs)

    real_runs = [run_ctid(reads, names) for _ in range(args.rounds)]
    real_s = statistics.median(r[0] for r in real_runs)
    pano_runs = [run_panoramisk(chunks, names) for _ in range(args.rounds)]
    rows = [
        ["(a) raw recv loop, no parsing", raw_s, "-", mb_per_s(size, raw_s), "-"],
        ["(b) ctid AMIParser + dispatch", ctid_s, rate(ctid_count, ctid_s),
         mb_per_s(size, ctid_s), ctid_count],
        ["(b) ctid, block by block (bulk=False)", single_s, rate(ctid_count, single_s),
         mb_per_s(size, single_s), ctid_count],
        ["(b) live: recv + ctid + dispatch", live_s, rate(ctid_count, live_s),
         mb_per_s(size, live_s), live_runs[0][1].events + live_runs[0][1].responses],
    ]
    if pano_runs[0] is None:
        rows.append(["(c) panoramisk: not installed", None, None, None, None])
    else:
        pano_s = statistics.median(r[0] for r in pano_runs)
        pano_count = pano_runs[0][1].events + pano_runs[0][1].responses
        rows.append(["(c) panoramisk AMIProtocol + dispatch", pano_s, rate(pano_count, pano_s),
                     mb_per_s(size, pano_s), pano_count])
    read_size = statistics.median(len(r) for r in reads)
    rows.append([f"(b) ctid, real TCP reads ({read_size:,.0f} B median)", real_s,
                 rate(ctid_count, real_s), mb_per_s(size, real_s), ctid_count])
    if pano_runs[0] is not None:
        pano_real = [run_panoramisk(reads, names) for _ in range(args.rounds)]
        pano_real_s = statistics.median(r[0] for r in pano_real)
        pano_count = pano_real[0][1].events + pano_real[0][1].responses
        rows.append(["(c) panoramisk, real TCP reads", pano_real_s, rate(pano_count, pano_real_s),
                     mb_per_s(size, pano_real_s), pano_count])
    print()
    print_table(["reader", "seconds", "messages/s", "MB/s", "messages"],
                [[r[0], f"{r[1]:.3f}" if r[1] is not None else None, *r[2:]] for r in rows])

    print()
    for label, sample, times in (("64 KiB recv", chunks, feed_us),
                                 ("real TCP read", reads, [t * 1e6 for t in real_runs[0][2]])):
        spread = percentiles(times, (50, 90, 99, 100))
        print(f"ctid feed() time per {label} ({len(sample):,} reads, median "
              f"{statistics.median(len(c) for c in sample):,.0f} B): "
              + ", ".join(f"{k} {v:,.0f} us" for k, v in spread.items()))
    print(f"ctid per message: {ctid_s / ctid_count * 1e6:.2f} us; "
          f"dispatched {ctid_handlers.events:,} events and {ctid_handlers.responses:,} responses")
    print(f"peak RSS: {peak_rss_mb():.0f} MB")


if __name__ == "__main__":
    main()
