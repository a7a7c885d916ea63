"""ctid's local HTTP API: what ``ctictl`` and the desktops ask, as JSON, behind bearer tokens.

Routes (all JSON; errors are ``{"error": {"code", "message"}}`` with a fitting status):

    POST /api/login                     {"user", "password"} -> {"token", "role", "agent_id"}
    POST /api/logout                    {"leave_queue": bool} ends the token's session
    GET  /api/status                    health: AMI link, calls waiting, agents by state, backlog
    GET  /api/agents                    agents the caller may see
    GET  /api/calls                     live calls the caller may see
    GET  /api/queue                     waiting calls in routing order with position and wait
    GET  /api/reasons                   the not-ready reason codes with their labels
    POST /api/agents/<id>/<action>      login | logout | pause {"reason"} | unpause

A capability adds its own routes as :class:`Route` objects (its ``http.py``), handed to
:func:`make_site` by the composition root: they get the same guards, the same bearer-token
authentication and the same error mapping (raise :class:`ControlError`).

The resource holds no logic: it authenticates, scopes by role, asks the control panel
(:class:`ControlPanel`, implemented by the daemon's composition) and maps its refusals to
status codes. The channel under it is guarded against hostile clients: a body larger than
``max_body`` is refused on its ``Content-Length`` (or, chunked, as soon as it passes the limit)
with 413 and is never buffered beyond it; a request whose head and body are not in within
``request_timeout`` seconds (a slow-loris client) gets 408 and is disconnected.
"""
from __future__ import annotations

import io
import json
import logging
from dataclasses import dataclass
from typing import Any, Callable, Protocol, Sequence

from twisted.internet import defer
from twisted.python.failure import Failure
from twisted.web import http, resource, server

from cti.domain.principal import Principal
from cti.domain.reasons import bilingual
from cti.services.auth import LoginRefused
from cti.services.control import ControlError

log = logging.getLogger(__name__)

MAX_BODY = 64 * 1024
MAX_JSON_DEPTH = 16
REQUEST_TIMEOUT = 10.0
STATUS_OF_KIND = {"not-found": 404, "forbidden": 403, "invalid": 400, "conflict": 409}
STATUS_OF_LOGIN_REFUSAL = {"locked": 423, "too-many": 429, "busy": 429}


class APIError(Exception):
    def __init__(self, status: int, code: str, message: str, *,
                 headers: dict[bytes, bytes] | None = None):
        super().__init__(message)
        self.status, self.code, self.message = status, code, message
        self.headers = headers or {}


@dataclass(frozen=True)
class Route:
    """``method`` and ``pattern`` under ``/api/`` (``"calls/{call_id}/ivr"``: a ``{name}`` part
    matches one path segment), and ``handler(principal, params, body)`` returning a JSON-able
    value or a Deferred of one. ``public`` routes are served without a token (``principal`` is
    None). ``body`` is the parsed JSON object, or for GET and DELETE the query string's
    arguments (the last value of each, as text)."""

    method: str
    pattern: str
    handler: Callable[..., Any]
    public: bool = False

    def match(self, method: str, parts: list[str]) -> dict[str, str] | None:
        pattern = [p for p in self.pattern.split("/") if p]
        if method != self.method or len(pattern) != len(parts):
            return None
        params: dict[str, str] = {}
        for want, got in zip(pattern, parts):
            if want.startswith("{") and want.endswith("}"):
                params[want[1:-1]] = got
            elif want != got:
                return None
        return params


class ControlPanel(Protocol):
    def status(self) -> dict[str, Any]: ...
    def agents(self, principal: Principal) -> list[dict[str, Any]]: ...
    def calls(self, principal: Principal) -> list[dict[str, Any]]: ...
    def queue(self, principal: Principal) -> list[dict[str, Any]]: ...
    def reason_list(self) -> list[dict[str, str]]: ...
    def agent_action(self, principal: Principal, agent_id: str, action: str,
                     body: dict[str, Any]) -> dict[str, Any]: ...
    def login(self, user: str, password: str, address: str | None = None) -> Any: ...
    def logout(self, principal: Principal, token: str, *, leave_queue: bool = False) -> dict: ...


class API(resource.Resource):
    isLeaf = True

    def __init__(self, panel: ControlPanel, authenticate: Callable[[str | None], Principal | None],
                 routes: Sequence[Route] = ()):
        super().__init__()
        self._panel = panel
        self._authenticate = authenticate
        self._routes = list(routes)

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
            exc = _api_error(result.value)
            if exc is not None:
                status, body = exc.status, {"error": {"code": exc.code, "message": exc.message}}
                for name, value in exc.headers.items():
                    request.setHeader(name, value)
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
            d = defer.maybeDeferred(self._panel.login, _text(body.get("user")),
                                    _text(body.get("password")), _address(request))
            return d.addCallback(_logged_in)
        for route in self._routes:
            params = route.match(method, parts)
            if params is not None:
                principal = None if route.public else self._principal(request)
                body = (self._body(request) if method in ("POST", "PUT", "PATCH")
                        else _query(request))
                return route.handler(principal, params, body)
        principal = self._principal(request)
        if parts == ["logout"] and method == "POST":
            body = self._body(request)
            return self._panel.logout(principal, _bearer(request) or "",
                                      leave_queue=body.get("leave_queue") is True)
        if method == "GET" and len(parts) == 1:
            if parts[0] == "status":
                return self._panel.status()
            if parts[0] in ("agents", "calls", "queue"):
                return getattr(self._panel, parts[0])(principal)
            if parts[0] == "reasons":
                return self._panel.reason_list()
        if method == "POST" and len(parts) == 3 and parts[0] == "agents":
            return self._panel.agent_action(principal, parts[1], parts[2], self._body(request))
        raise APIError(404, "not-found", f"no route {method} /api/{'/'.join(parts)}")

    def _principal(self, request: server.Request) -> Principal:
        principal = self._authenticate(_bearer(request))
        if principal is None:
            raise APIError(401, "unauthenticated", "a valid bearer token is required")
        return principal

    @staticmethod
    def _body(request: server.Request) -> dict[str, Any]:
        return parse_json_body(request.content.read(MAX_BODY + 1) if request.content else b"")


def parse_json_body(raw: bytes) -> dict[str, Any]:
    """A request body as a JSON object; :class:`APIError` 400/413 for anything else."""
    if len(raw) > MAX_BODY:
        raise APIError(413, "too-large", "request body too large")
    if not raw.strip():
        return {}
    try:
        body = json.loads(raw)
    except RecursionError:
        raise APIError(400, "bad-json", "request body is nested too deeply") from None
    except ValueError:
        raise APIError(400, "bad-json", "request body is not JSON") from None
    if not isinstance(body, dict):
        raise APIError(400, "bad-json", "request body must be a JSON object")
    if _depth(body) > MAX_JSON_DEPTH:
        raise APIError(400, "bad-json", f"request body is nested deeper than {MAX_JSON_DEPTH}")
    return body


def _depth(value: Any) -> int:
    """How deeply ``value`` nests lists and objects (iterative: no recursion to exhaust)."""
    deepest, stack = 0, [(value, 1)]
    while stack:
        item, level = stack.pop()
        if isinstance(item, dict):
            item = list(item.values())
        if isinstance(item, list):
            deepest = max(deepest, level)
            stack.extend((child, level + 1) for child in item)
    return deepest


def _api_error(exc: BaseException) -> APIError | None:
    if isinstance(exc, APIError):
        return exc
    if isinstance(exc, ControlError):
        return APIError(STATUS_OF_KIND[exc.kind], exc.code, exc.message)
    if isinstance(exc, LoginRefused):
        return APIError(STATUS_OF_LOGIN_REFUSAL.get(exc.code, 429), exc.code, exc.message,
                        headers={b"retry-after": str(exc.retry_after).encode("ascii")})
    return None


def _bearer(request: server.Request) -> str | None:
    header = request.getHeader("authorization") or ""
    return header[7:].strip() if header.lower().startswith("bearer ") else None


def _address(request: server.Request) -> str | None:
    peer = request.getClientAddress()
    return getattr(peer, "host", None)


def _query(request: server.Request) -> dict[str, str]:
    return {key.decode("utf-8", "replace"): values[-1].decode("utf-8", "replace")
            for key, values in (request.args or {}).items() if values}


def _text(value: Any) -> str:
    return value if isinstance(value, str) else ""


def _logged_in(result):
    if result is None:
        raise APIError(401, "bad-credentials", bilingual("用户名或密码错误", "wrong user or password"))
    return result


# -- the guarded channel ---------------------------------------------------------------------
class GuardedRequest(server.Request):
    """A request whose body is kept in memory up to the site's ``max_body`` and no further."""

    _received = 0

    def gotLength(self, length: int | None) -> None:
        self.content = io.BytesIO()          # never a temporary file
        limit = self.channel.site.max_body
        if length is not None and length > limit:
            self.channel.refuse(413, "too-large", bilingual("请求内容过大", "request body too large"))

    def handleContentChunk(self, data: bytes) -> None:
        if self.channel.refused:
            return
        self._received += len(data)
        if self._received > self.channel.site.max_body:
            self.channel.refuse(413, "too-large", bilingual("请求内容过大", "request body too large"))
            return
        self.content.write(data)


class GuardedChannel(http.HTTPChannel):
    """HTTP/1.1 with a deadline per request (head and body) and an early refusal."""

    refused = False
    _deadline = None
    _begun = False                             # some of the current request has arrived

    def connectionMade(self) -> None:
        super().connectionMade()
        self._start_deadline()

    def dataReceived(self, data: bytes) -> None:
        if self.refused:                       # said no: read nothing more
            return
        self._begun = True
        super().dataReceived(data)

    def _send100Continue(self) -> None:
        if not self.refused:                   # no "100 Continue" after a 413
            super()._send100Continue()

    def allContentReceived(self) -> None:
        self._stop_deadline()
        if self.refused:        # the body passed the limit in the read that also ended it
            return
        super().allContentReceived()

    def requestDone(self, request) -> None:
        super().requestDone(request)
        if self.persistent and not self.refused:
            self._start_deadline()             # the next request on this connection

    def connectionLost(self, reason) -> None:
        self._stop_deadline()
        super().connectionLost(reason)

    def refuse(self, status: int, code: str, message: str) -> None:
        """Answer ``status`` at once, before the rest of the request, and hang up."""
        if self.refused:
            return
        self.refused = True
        self._stop_deadline()
        body = json.dumps({"error": {"code": code, "message": message}},
                          ensure_ascii=False).encode("utf-8")
        phrase = http.RESPONSES.get(status, b"Error")
        self.transport.write(
            b"HTTP/1.1 %d %s\r\ncontent-type: application/json; charset=utf-8\r\n"
            b"content-length: %d\r\nconnection: close\r\n\r\n%s" % (status, phrase, len(body), body))
        self._networkProducer.pauseProducing()
        self.transport.loseConnection()
        self._abort_later()

    def _start_deadline(self) -> None:
        self._stop_deadline()
        self._begun = False
        timeout = getattr(self.site, "request_timeout", None)
        if timeout:
            self._deadline = self.callLater(timeout, self._too_slow)

    def _stop_deadline(self) -> None:
        if self._deadline is not None and self._deadline.active():
            self._deadline.cancel()
        self._deadline = None

    def _too_slow(self) -> None:
        self._deadline = None
        if not self._begun:                    # an idle connection: close it quietly
            self.refused = True
            self.transport.loseConnection()
            return
        peer = self.transport.getPeer()
        log.info("api: %s too slow to send a request: disconnected", getattr(peer, "host", peer))
        self.refuse(408, "too-slow", "request not received in time")

    def _abort_later(self) -> None:
        """A client that does not read our answer is cut after a short grace."""
        def abort():
            if self.transport is not None and self.transport.connected:
                self.transport.abortConnection()
        self.callLater(2.0, abort)


class GuardedSite(server.Site):
    protocol = GuardedChannel
    requestFactory = GuardedRequest

    def __init__(self, root, *, max_body: int = MAX_BODY, request_timeout: float = REQUEST_TIMEOUT,
                 idle_timeout: float = 120.0):
        super().__init__(root, timeout=idle_timeout)
        self.max_body = max_body
        self.request_timeout = request_timeout


def make_site(panel: ControlPanel, authenticate, *,
              web_config: Callable[[], dict[str, Any]] | None = None,
              request_timeout: float = REQUEST_TIMEOUT,
              routes: Sequence[Route] = ()) -> server.Site:
    """The API under ``/api/`` and the agent desktop at ``/`` (same origin, so no CORS).

    ``web_config()`` is asked on each ``GET /web-config.json``: it tells the page what only the
    running daemon knows, at least ``{"push_port": n}`` (the push WebSocket's listening port).
    """
    from cti.web.assets import SiteRoot

    root = SiteRoot(web_config)
    api = API(panel, authenticate, routes)
    root.putChild(b"api", api)
    site = GuardedSite(root, request_timeout=request_timeout)
    site.displayTracebacks = False
    return site
