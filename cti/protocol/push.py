"""The one JSON envelope of every frame between ctid and a browser (agent desktop, wallboard).

Server → browser: ``{"v": 1, "type": "...", "seq": n, "ts": epoch, "data": {...}}``.
Browser → server: ``{"v": 1, "type": "...", "id": "client-chosen id", "data": {...}}``; the
server answers each with ``type: "ack"`` or ``type: "error"`` carrying the same ``id``.

Frames from a browser are hostile until proven otherwise: size, JSON, envelope shape and the
frame type are all checked here, and a bad frame becomes a :class:`FrameError` with a stable
code, never an exception that reaches the connection.
"""
from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any

VERSION = 1
MAX_FRAME_BYTES = 16 * 1024

# Types a browser may send, and the data keys each requires.
CLIENT_TYPES: dict[str, frozenset[str]] = {
    "auth": frozenset({"token"}),
    "ping": frozenset(),
    "state": frozenset({"state"}),          # agent asks: ready / not-ready (with reason) / acw done
}

# Types the server sends.
SERVER_TYPES = frozenset({"hello", "ack", "error", "screen-pop", "call", "agent", "pong"})


class FrameError(Exception):
    """A frame from a browser was refused; ``code`` is stable, ``message`` is for people."""

    def __init__(self, code: str, message: str, frame_id: str | None = None):
        super().__init__(message)
        self.code = code
        self.message = message
        self.frame_id = frame_id


@dataclass(frozen=True)
class ClientFrame:
    type: str
    id: str | None
    data: dict[str, Any] = field(default_factory=dict)


def parse_client_frame(payload: bytes | str, *, is_binary: bool = False) -> ClientFrame:
    """Check and decode one frame from a browser; raise :class:`FrameError` if it is bad."""
    if is_binary:
        raise FrameError("binary", "binary frames are not accepted")
    raw = payload.encode("utf-8", "surrogatepass") if isinstance(payload, str) else payload
    if len(raw) > MAX_FRAME_BYTES:
        raise FrameError("too-large", f"frame of {len(raw)} bytes exceeds {MAX_FRAME_BYTES}")
    try:
        obj = json.loads(raw)
    except (ValueError, UnicodeDecodeError) as exc:
        raise FrameError("bad-json", f"not JSON: {exc}") from None
    if not isinstance(obj, dict):
        raise FrameError("bad-envelope", "a frame must be a JSON object")
    frame_id = obj.get("id")
    if frame_id is not None and (not isinstance(frame_id, str) or len(frame_id) > 64):
        raise FrameError("bad-envelope", "'id' must be a string of at most 64 characters")
    if obj.get("v") != VERSION:
        raise FrameError("bad-version", f"'v' must be {VERSION}", frame_id)
    kind = obj.get("type")
    if kind not in CLIENT_TYPES:
        raise FrameError("unknown-type", f"unknown frame type {kind!r}", frame_id)
    data = obj.get("data", {})
    if not isinstance(data, dict):
        raise FrameError("bad-envelope", "'data' must be an object", frame_id)
    missing = CLIENT_TYPES[kind] - data.keys()
    if missing:
        raise FrameError("missing-field", f"{kind}: missing {', '.join(sorted(missing))}", frame_id)
    return ClientFrame(kind, frame_id, data)


def server_frame(kind: str, data: dict[str, Any], *, seq: int, ts: float) -> bytes:
    """Encode one frame to a browser."""
    if kind not in SERVER_TYPES:
        raise ValueError(f"unknown server frame type {kind!r}")
    return json.dumps({"v": VERSION, "type": kind, "seq": seq, "ts": round(ts, 3), "data": data},
                      ensure_ascii=False, separators=(",", ":")).encode("utf-8")


def error_data(error: FrameError) -> dict[str, Any]:
    return {"code": error.code, "message": error.message, "id": error.frame_id}
