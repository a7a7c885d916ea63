"""Builders for the blocks Asterisk writes back to an action, with ``ActionID`` where it puts it.

The helpers mirror ``manager.c``: ``astman_send_response_full`` writes ``Response``, then the
request's ``ActionID`` (if it had a non-empty one), then ``EventList`` for list starts, then
``Message``. List-complete events put ``ActionID`` right after ``Event``. Responses are built
as :class:`Message` objects and only encoded by the protocol.
"""
from __future__ import annotations

from typing import Iterable

from cti.protocol.ami_message import Message

Pairs = Iterable[tuple[str, object]]


def action_id(request: Message) -> str:
    """The request's first ``ActionID``, leading blanks dropped (``astman_get_header``)."""
    value = request.get("ActionID")
    return value.lstrip(" \t") if value else ""


def header(request: Message, name: str) -> str:
    """A request header the way Asterisk reads one: first match, leading blanks skipped,
    empty when absent."""
    value = request.get(name)
    return value.lstrip(" \t") if value else ""


def first_non_empty(request: Message, name: str) -> str:
    """``GET_HEADER_SKIP_EMPTY``: the first occurrence of ``name`` that has a value."""
    for value in request.getall(name):
        value = value.lstrip(" \t")
        if value:
            return value
    return ""


def _id_pair(request: Message) -> list[tuple[str, object]]:
    ident = action_id(request)
    return [("ActionID", ident)] if ident else []


def response(request: Message, status: str, message: str | None = None,
             extra: Pairs = (), event_list: str | None = None) -> Message:
    headers: list[tuple[str, object]] = [("Response", status), *_id_pair(request)]
    if event_list:
        headers.append(("EventList", event_list))
    if message is not None:
        headers.append(("Message", message))
    headers.extend(extra)
    return Message.of(headers)


def ack(request: Message, message: str | None = None, extra: Pairs = ()) -> Message:
    """``astman_send_ack`` (with a message) or ``astman_start_ack`` + ``extra`` (without)."""
    return response(request, "Success", message, extra)


def error(request: Message, message: str) -> Message:
    return response(request, "Error", message)


def list_ack(request: Message, message: str) -> Message:
    """``astman_send_listack``: the response that opens an event list."""
    return response(request, "Success", message, event_list="start")


def list_item(request: Message, event: str, body: Pairs, id_last: bool = False) -> Message:
    """A list item: ``ActionID`` right after ``Event`` (``CoreShowChannel``), or last
    (``Status``, whose ``id_text`` is printed after the body)."""
    if id_last:
        return Message.of([("Event", event), *body, *_id_pair(request)])
    return Message.of([("Event", event), *_id_pair(request), *body])


def list_complete(request: Message, event: str, count: int, extra: Pairs = ()) -> Message:
    """``astman_send_list_complete_start`` (+ ``extra``, e.g. ``Items``) and ``_end``."""
    return Message.of([("Event", event), *_id_pair(request), ("EventList", "Complete"),
                       ("ListItems", count), *extra])
