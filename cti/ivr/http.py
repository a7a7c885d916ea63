"""The IVR's API routes (under ``/api/``):

    POST /api/ivr/reload               admin: read and validate the flows again (old ones stay
                                       in force on a fault, which is returned with file and line)
    GET  /api/ivr/flows                supervisor, admin: the flows in force and who hears which
    GET  /api/ivr/voice-messages       supervisor, admin: voice messages, newest first
                                       (?since=7d | 2026-12-01, ?limit=200)
    GET  /api/ivr/containment          supervisor, admin: containment per flow and node (?since=)
    GET  /api/ivr/journeys/{call_id}   supervisor, admin: one call's walks through flows

Agents are refused: voice messages and journeys hold callers' numbers.
"""
from __future__ import annotations

from typing import Any

from cti.domain.reasons import bilingual
from cti.ivr.model import FlowErrors
from cti.net.http_api import Route
from cti.services.control import ControlError

STAFF = ("supervisor", "admin")


def routes(book, records) -> list[Route]:
    def reload(principal, params, body) -> Any:
        _require(principal, ("admin",))
        try:
            return book.reload()
        except (FlowErrors, ValueError) as exc:
            raise ControlError("invalid", "bad-flow", bilingual(
                f"流程有误，原流程继续生效：{exc}", f"flows not reloaded, the old ones stay: {exc}"))

    def flows(principal, params, body) -> Any:
        _require(principal, STAFF)
        return book.summary()

    def voice_messages(principal, params, body) -> Any:
        _require(principal, STAFF)
        limit = _limit(body.get("limit"))
        return _since(records.voice_messages, body.get("since"), limit)

    def containment(principal, params, body) -> Any:
        _require(principal, STAFF)
        return _since(records.containment, body.get("since"))

    def journeys(principal, params, body) -> Any:
        _require(principal, STAFF)
        return records.journeys(params["call_id"])

    return [Route("POST", "ivr/reload", reload), Route("GET", "ivr/flows", flows),
            Route("GET", "ivr/voice-messages", voice_messages),
            Route("GET", "ivr/containment", containment),
            Route("GET", "ivr/journeys/{call_id}", journeys)]


def _require(principal, roles) -> None:
    if principal is None or principal.role not in roles:
        raise ControlError("forbidden", "forbidden", bilingual(
            "无权查看或操作 IVR 数据", "not allowed to see or change IVR data"))


def _since(read, since, *args):
    try:
        return read(since or None, *args)
    except ValueError as exc:
        raise ControlError("invalid", "bad-since", bilingual(f"时间参数有误：{exc}", str(exc)))


def _limit(text) -> int:
    if text in (None, ""):
        return 200
    try:
        value = int(text)
    except (TypeError, ValueError):
        value = 0
    if not 1 <= value <= 1000:
        raise ControlError("invalid", "bad-limit", bilingual(
            "limit 须为 1 到 1000", f"limit must be 1 to 1000, got {text!r}"))
    return value
