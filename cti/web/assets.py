"""The agent desktop's files as Twisted web resources, served by ctid's API port.

The page, its script and its style sheet are read once at start-up and served from memory,
only by name: nothing else in this package (Python sources, caches) is reachable. The page
and the API share one origin, so there is no CORS; ``/web-config.json`` tells the page where
the push WebSocket listens (it has a port of its own, known only once it listens).

    GET /                   agent.html
    GET /static/<name>      agent.js, agent.css
    GET /web-config.json    {"push_port": n, "push_path": "/push"}
"""
from __future__ import annotations

import json
from pathlib import Path
from typing import Any, Callable

from twisted.web import pages, resource, server

HERE = Path(__file__).resolve().parent
PAGE = "agent.html"
STATIC = {
    "agent.js": b"text/javascript; charset=utf-8",
    "agent.css": b"text/css; charset=utf-8",
}

# The page runs only its own script and style; the push socket is on another port of the
# same host, hence ws: in connect-src.
CONTENT_SECURITY_POLICY = (
    b"default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
    b"connect-src 'self' ws: wss:; form-action 'self'; base-uri 'none'; frame-ancestors 'none'"
)


class Asset(resource.Resource):
    """One file, read once, served with its type and the page's security headers."""

    isLeaf = True

    def __init__(self, path: Path, content_type: bytes):
        super().__init__()
        self._body = path.read_bytes()
        self._type = content_type

    def render_GET(self, request: server.Request) -> bytes:
        request.setHeader(b"content-type", self._type)
        request.setHeader(b"cache-control", b"no-cache")
        request.setHeader(b"x-content-type-options", b"nosniff")
        request.setHeader(b"content-security-policy", CONTENT_SECURITY_POLICY)
        request.setHeader(b"referrer-policy", b"no-referrer")
        return self._body


class StaticAssets(resource.Resource):
    """``/static/<name>`` for the names in :data:`STATIC` only."""

    def __init__(self):
        super().__init__()
        for name, content_type in STATIC.items():
            self.putChild(name.encode("ascii"), Asset(HERE / name, content_type))

    def getChild(self, path: bytes, request: server.Request) -> resource.Resource:
        return pages.notFound()


class WebConfig(resource.Resource):
    """What the page must know that only the running daemon knows (the push port)."""

    isLeaf = True

    def __init__(self, web_config: Callable[[], dict[str, Any]] | None):
        super().__init__()
        self._web_config = web_config

    def render_GET(self, request: server.Request) -> bytes:
        body: dict[str, Any] = {"push_port": None, "push_path": "/push"}
        if self._web_config is not None:
            body.update(self._web_config())
        request.setHeader(b"content-type", b"application/json; charset=utf-8")
        request.setHeader(b"cache-control", b"no-store")
        return json.dumps(body).encode("utf-8")


class SiteRoot(resource.Resource):
    """The root of ctid's web site: the desktop's files; anything unknown is a plain 404."""

    def __init__(self, web_config: Callable[[], dict[str, Any]] | None = None):
        super().__init__()
        self.putChild(b"", Asset(HERE / PAGE, b"text/html; charset=utf-8"))
        self.putChild(b"static", StaticAssets())
        self.putChild(b"web-config.json", WebConfig(web_config))

    def getChild(self, path: bytes, request: server.Request) -> resource.Resource:
        return pages.notFound()
