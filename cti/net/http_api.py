"""ctid's local HTTP API: what ``ctictl`` and the desktops ask, as JSON, behind bearer tokens.

Routes (all JSON; errors are ``{"error": {"code", "message"}}`` with a fitting status):

    POST /api/login                     {"user", "password"} -> {"token", "role", "agent_id"}
    GET  /api/status                    health: AMI link, calls waiting, agents by state, backlog
    GET  /api/agents                    agents the caller may see
    GET  /api/calls                     live calls the caller may see
    GET  /api/queue                     waiting calls in routing order with position and wait
    POST /api/agents/<id>/<action>      login | logout | pause {"reason"} | unpause

The resource holds no logic: it authenticates, scopes by role, and asks the control panel
(:class:`ControlPanel`, implemented by the daemon's composition).
"""
from __future__ import annotations

import json
import logging
from typing import Any, Callable, Protocol

from twisted.internet import defer
from twisted.python.failure import Failure
from twisted.web import resource, server

from cti.services.auth import Principal

log = logging.getLogger(__name__)

MAX_BODY = 64 * 1024


class APIError(Exception):
    def __init__(self, status: int, code: str, message: str):
        super().__init__(message)
        self.status, self.code, self.message = status, code, message


class ControlPanel(Protocol):
    def status(self) -> dict[str, Any]: ...
    def agents(self, principal: Principal) -> list[dict[str, Any]]: ...
    def calls(self, principal: Principal) -> list[dict[str, Any]]: ...
    def queue(self, principal: Principal) -> list[dict[str, Any]]: ...
    def agent_action(self, principal: Principal, agent_id: str, action: str,
                     body: dict[str, Any]) -> dict[str, Any]: ...
    def login(self, user: str, password: str) -> dict[str, Any] | None: ...


class API(resource.Resource):
    isLeaf = True

    def __init__(self, panel: ControlPanel, authenticate: Callable[[str | None], Principal | None]):
        super().__init__()
        self._panel = panel
        self._authenticate = authenticate

    def render(self, request: server.Request):
        request.setHeader(b"content-type", b"application/json; charset=utf-8")
        request.setHeader(b"cache-control", b"no-store")
        d = defer.maybeDeferred(self._route, request)
        if d.called:                                   # the common, synchronous case
            box: list = []
            d.addBoth(box.append)
            return self._payload(request, box[0])
        d.addBoth(self._send_later, request)
        return server.NOT_DONE_YET

    def _send_later(self, result, request: server.Request) -> None:
        payload = self._payload(request, result)
        if not request.finished and not getattr(request, "_disconnected", False):
            request.write(payload)
            request.finish()

    @staticmethod
    def _payload(request: server.Request, result) -> bytes:
        """The response body for a route's result or failure; sets the status code."""
        status, body = 200, result
        if isinstance(result, Failure):
            if result.check(APIError):
                exc = result.value
                status, body = exc.status, {"error": {"code": exc.code, "message": exc.message}}
            else:
                log.error("api: %s %s failed: %s", request.method, request.path,
                          result.getTraceback())
                status, body = 500, {"error": {"code": "internal", "message": "internal error"}}
        request.setResponseCode(status)
        return json.dumps(body, ensure_ascii=False).encode("utf-8")

    def _route(self, request: server.Request) -> Any:
        method = request.method.decode("ascii", "replace")
        parts = [p.decode("utf-8", "replace") for p in request.postpath if p]   # below /api/
        if parts == ["login"] and method == "POST":
            body = self._body(request)
            d = defer.maybeDeferred(self._panel.login, str(body.get("user", "")),
                                    str(body.get("password", "")))
            return d.addCallback(_logged_in)
        principal = self._principal(request)
        if method == "GET" and len(parts) == 1:
            if parts[0] == "status":
                return self._panel.status()
            if parts[0] in ("agents", "calls", "queue"):
                return getattr(self._panel, parts[0])(principal)
        if method == "POST" and len(parts) == 3 and parts[0] == "agents":
            return self._panel.agent_action(principal, parts[1], parts[2], self._body(request))
        raise APIError(404, "not-found", f"no route {method} /api/{'/'.join(parts)}")

    def _principal(self, request: server.Request) -> Principal:
        header = (request.getHeader("authorization") or "")
        token = header[7:].strip() if header.lower().startswith("bearer ") else None
        principal = self._authenticate(token)
        if principal is None:
            raise APIError(401, "unauthenticated", "a valid bearer token is required")
        return principal

    @staticmethod
    def _body(request: server.Request) -> dict[str, Any]:
        raw = request.content.read(MAX_BODY + 1) if request.content else b""
        if len(raw) > MAX_BODY:
            raise APIError(413, "too-large", "request body too large")
        if not raw.strip():
            return {}
        try:
            body = json.loads(raw)
        except ValueError:
            raise APIError(400, "bad-json", "request body is not JSON") from None
        if not isinstance(body, dict):
            raise APIError(400, "bad-json", "request body must be a JSON object")
        return body


def _logged_in(result):
    if result is None:
        raise APIError(401, "bad-credentials", "wrong user or password")
    return result


def make_site(panel: ControlPanel, authenticate, *,
              web_config: Callable[[], dict[str, Any]] | None = None) -> server.Site:
    """The API under ``/api/`` and the agent desktop at ``/`` (same origin, so no CORS).

    ``web_config()`` is asked on each ``GET /web-config.json``: it tells the page what only the
    running daemon knows, at least ``{"push_port": n}`` (the push WebSocket's listening port).
    """
    from cti.web.assets import SiteRoot

    root = SiteRoot(web_config)
    api = API(panel, authenticate)
    root.putChild(b"api", api)
    site = server.Site(root)
    site.displayTracebacks = False
    return site
