"""The PBX's event stream: listeners that read everything, watchers that follow one channel.

A *listener* (the AMI server, a test recording events) gets every event. A *watcher* (a
simulated caller's :class:`~cti.pbxsim.engine.callers.CallHandle`) gets only the events whose
``Channel`` header names its channel, found by one dict lookup: thousands of watched channels
cost an event no more than one. A failing callback is logged and never stops the others or
the PBX.
"""
from __future__ import annotations

import logging
from typing import Callable

from cti.protocol.ami_message import Message

log = logging.getLogger(__name__)

Callback = Callable[[Message], None]


class EventBus:
    def __init__(self) -> None:
        self._listeners: list[Callback] = []
        self._watchers: dict[str, list[Callback]] = {}

    def subscribe(self, listener: Callback) -> Callable[[], None]:
        """``listener`` gets every event; returns the unsubscribe."""
        self._listeners.append(listener)

        def unsubscribe() -> None:
            if listener in self._listeners:
                self._listeners.remove(listener)
        return unsubscribe

    def watch(self, channel_name: str, callback: Callback) -> Callable[[], None]:
        """``callback`` gets the events whose ``Channel`` is ``channel_name``; returns the unwatch."""
        self._watchers.setdefault(channel_name, []).append(callback)

        def unwatch() -> None:
            callbacks = self._watchers.get(channel_name)
            if callbacks is not None and callback in callbacks:
                callbacks.remove(callback)
                if not callbacks:
                    del self._watchers[channel_name]
        return unwatch

    def forget(self, channel_name: str) -> None:
        """Drop every watcher of a channel that is gone."""
        self._watchers.pop(channel_name, None)

    def watched_channels(self) -> list[str]:
        return list(self._watchers)

    def emit(self, message: Message) -> None:
        self.emit_to_listeners(message)
        self.emit_to_watchers(message)

    def emit_to_listeners(self, message: Message) -> None:
        for listener in list(self._listeners):
            _deliver(listener, message)

    def emit_to_watchers(self, message: Message) -> None:
        if self._watchers:
            callbacks = self._watchers.get(message.get("Channel"))
            if callbacks:
                for callback in list(callbacks):
                    _deliver(callback, message)


def _deliver(callback: Callback, message: Message) -> None:
    try:
        callback(message)
    except Exception:  # noqa: BLE001 - one bad listener must not stop the PBX
        log.exception("event listener failed on %s", message.name)
