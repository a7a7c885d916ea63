"""AGI routes: one module per ``agi_network_script``, gathered by :func:`build_routes`.

A route is ``async def route(session: AGISession) -> None`` (or a callable returning a
Deferred). It drives one channel through :class:`cti.net.fastagi.AGISession` and returns when
the channel should go on in the dialplan; if it raises, the FastAGI server sends the channel to
the fallback context. The daemon calls :func:`build_routes` once, passing the services routes
need (call tracker, ACD, customer repository, ...) as keyword arguments; each route module takes
what it needs and ignores the rest.
"""
from __future__ import annotations

from typing import Any, Callable

from cti.services.agi_routes import inbound, probe, wait


def build_routes(**deps: Any) -> dict[str, Callable]:
    """``{agi_network_script: route}`` for :class:`cti.net.fastagi.FastAGIFactory`."""
    routes = {probe.SCRIPT: probe.make_route(**deps)}
    if "tracker" in deps:                       # the call path needs the daemon's services
        routes[inbound.SCRIPT] = inbound.make_route(**deps)
        routes[wait.SCRIPT] = wait.make_route(**deps)
    return routes
