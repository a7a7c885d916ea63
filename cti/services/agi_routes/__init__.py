"""AGI routes: one module per ``agi_network_script``, gathered by :func:`build_routes`.

A route is ``async def route(session: AGISession) -> None`` (or a callable returning a
Deferred). It drives one channel through :class:`cti.net.fastagi.AGISession` and returns when
the channel should go on in the dialplan; if it raises, the FastAGI server sends the channel to
the fallback context. The daemon calls :func:`build_routes` once, passing the services routes
need (call tracker, ACD, ...) as keyword arguments; each route module takes what it needs and
ignores the rest. The core keeps ``probe`` and ``wait``; a capability brings its own routes
(``extra``: the IVR's ``inbound``), wired by the composition root.
"""
from __future__ import annotations

from typing import Any, Callable, Mapping

from cti.services.agi_routes import probe, wait


def build_routes(extra: Mapping[str, Callable] | None = None, **deps: Any) -> dict[str, Callable]:
    """``{agi_network_script: route}`` for :class:`cti.net.fastagi.FastAGIFactory`; ``extra``
    routes of capabilities may not take a core route's name."""
    routes = {probe.SCRIPT: probe.make_route(**deps)}
    if "tracker" in deps:                       # the call path needs the daemon's services
        routes[wait.SCRIPT] = wait.make_route(**deps)
    for script, route in (extra or {}).items():
        if script in routes:
            raise ValueError(f"AGI route {script!r} is the core's")
        routes[script] = route
    return routes
