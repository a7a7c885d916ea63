"""Sans-IO grouping of an action's answer: one response, or a response and its list of events.

Actions such as ``CoreShowChannels``, ``Status``, ``QueueStatus``, ``PJSIPShowEndpoints`` or
``DeviceStateList`` answer with a ``Response`` carrying ``EventList: start``, then events that
repeat the action's ``ActionID`` (the items), then a closing event with ``EventList: Complete``
(``CoreShowChannelsComplete``, ``StatusComplete``, ``DeviceStateListComplete`` ...; it carries
``ListItems``). Every other action answers with one ``Response`` (``Command`` puts its whole
output in repeated ``Output:`` headers of that one response). A list action can also fail with
a plain ``Response: Error`` and no list at all (``PJSIPShowContacts`` with no contacts).

``EventListCollector.feed(message)`` returns what is ready:

* an ``ActionResult`` for a plain response at once, and for a list when its closing event
  arrives;
* the message itself for every event that belongs to no open list -- including events that
  carry an ``ActionID`` after their response, such as ``OriginateResponse``: responses arrive
  *before* the events their action causes;
* nothing while a list is being filled.

Matching is by ``ActionID`` only, so lists of concurrent actions may interleave.
"""
from __future__ import annotations

from dataclasses import dataclass

from cti.protocol.ami_message import Message

__all__ = ["ActionResult", "EventListCollector"]

_LIST_START = "start"
_LIST_ENDS = ("complete", "cancelled")


@dataclass(frozen=True, slots=True)
class ActionResult:
    """What an action got back.

    ``response`` is the ``Response`` block; ``items`` the list's events in order (empty for a
    plain response); ``complete`` the closing event, or None for a plain response and for a
    list cut short (see ``EventListCollector.abandon_all``).
    """

    response: Message
    items: tuple[Message, ...] = ()
    complete: Message | None = None

    @property
    def action_id(self) -> str | None:
        return self.response.action_id

    @property
    def ok(self) -> bool:
        """``Response: Success`` (or ``Goodbye`` to a ``Logoff``)."""
        return (self.response.name or "").lower() in ("success", "goodbye")

    @property
    def is_list(self) -> bool:
        return (self.response.event_list or "").lower() == _LIST_START

    @property
    def finished(self) -> bool:
        """A plain response, or a list whose closing event arrived."""
        return not self.is_list or self.complete is not None

    @property
    def announced_items(self) -> int | None:
        """``ListItems`` of the closing event, when Asterisk said it."""
        value = self.complete.get("ListItems") if self.complete is not None else None
        return int(value) if value is not None and value.isdigit() else None


class EventListCollector:
    """Turns the message stream into action results and free events; one per AMI connection."""

    def __init__(self) -> None:
        self._open: dict[str, tuple[Message, list[Message]]] = {}

    @property
    def open_lists(self) -> tuple[str, ...]:
        """ActionIDs of lists started and not yet complete."""
        return tuple(self._open)

    def feed(self, message: Message) -> list[ActionResult | Message]:
        kind = message.kind
        action_id = message.action_id
        if kind == "response":
            return self._on_response(message, action_id)
        if kind == "event" and action_id is not None and action_id in self._open:
            return self._on_list_event(message, action_id)
        return [message]

    def abandon_all(self) -> list[ActionResult]:
        """The connection is gone: hand back every unfinished list, ``complete`` None."""
        results = [ActionResult(response, tuple(items)) for response, items in self._open.values()]
        self._open.clear()
        return results

    def _on_response(self, response: Message,
                     action_id: str | None) -> list[ActionResult | Message]:
        starts_list = (response.event_list or "").lower() == _LIST_START
        if not starts_list or action_id is None:
            # Without an ActionID nothing ties events to it: its items flow on as events.
            return [ActionResult(response)]
        out: list[ActionResult | Message] = []
        previous = self._open.pop(action_id, None)
        if previous is not None:  # the ActionID was reused before the old list ended
            out.append(ActionResult(previous[0], tuple(previous[1])))
        self._open[action_id] = (response, [])
        return out

    def _on_list_event(self, event: Message, action_id: str) -> list[ActionResult | Message]:
        response, items = self._open[action_id]
        marker = (event.event_list or "").lower()
        if marker in _LIST_ENDS:
            del self._open[action_id]
            return [ActionResult(response, tuple(items), event)]
        items.append(event)
        return []
