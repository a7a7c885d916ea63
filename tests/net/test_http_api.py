"""The HTTP API over real loopback sockets: hostile bodies, slow clients, sign-in limits."""
from __future__ import annotations

import json
import socket
import tempfile
import time

import pytest
import pytest_twisted
from twisted.internet import defer, reactor, task, threads

from cti.domain.principal import Principal
from cti.net.http_api import make_site
from cti.services.auth import LoginRefused, LoginThrottle, PasswordChecks, SignIn, TokenStore
from cti.services.control import ControlError


class Panel:
    """A control panel that records what reached it."""

    def __init__(self, sign_in=None):
        self.calls: list[str] = []
        self._sign_in = sign_in

    def status(self):
        self.calls.append("status")
        return {"ok": True}

    def agents(self, principal):
        return []

    calls_ = queue = agents

    def reason_list(self):
        return [{"code": "break", "zh": "休息", "en": "Break"}]

    def agent_action(self, principal, agent_id, action, body):
        self.calls.append(f"{action}:{body}")
        if body.get("reason") == "nope":
            raise ControlError("invalid", "bad-reason", "not a configured reason")
        return {"agent_id": agent_id}

    def login(self, user, password, address=None):
        self.calls.append(f"login:{user}")
        if self._sign_in is None:
            return None
        return self._sign_in.login(user, password, address)

    def logout(self, principal, token, *, leave_queue=False):
        return {"signed_out": True}


ADMIN = {"tok": Principal("root", "admin")}


def listen(panel, **kw):
    site = make_site(panel, ADMIN.get, **kw)
    return reactor.listenTCP(0, site, interface="127.0.0.1")


def exchange(port: int, chunks: list[bytes], *, pause: float = 0.0, read_for: float = 5.0):
    """Send ``chunks`` (stopping when the server closes), then read the answer (blocking:
    run in a thread). Returns (answer bytes, seconds until closed, bytes sent)."""
    sock = socket.create_connection(("127.0.0.1", port), timeout=read_for)
    sent, start = 0, time.monotonic()
    try:
        for chunk in chunks:
            try:
                sock.sendall(chunk)
            except OSError:
                break
            sent += len(chunk)
            if pause:
                time.sleep(pause)
        answer = b""
        while True:
            try:
                data = sock.recv(65536)
            except (ConnectionResetError, socket.timeout):
                break
            if not data:
                break
            answer += data
        return answer, time.monotonic() - start, sent
    finally:
        sock.close()


def status_and_body(answer: bytes) -> tuple[int, dict]:
    head, _, body = answer.partition(b"\r\n\r\n")
    status = int(head.split(b" ", 2)[1])
    if b"transfer-encoding: chunked" in head.lower():
        chunks, rest = [], body
        while rest:
            size, _, rest = rest.partition(b"\r\n")
            n = int(size, 16)
            if n == 0:
                break
            chunks.append(rest[:n])
            rest = rest[n + 2:]
        body = b"".join(chunks)
    return status, json.loads(body) if body.strip() else {}


@pytest.fixture
def no_temp_files(monkeypatch):
    made = []

    def refuse(*a, **kw):
        made.append(a)
        raise AssertionError("a request body went to a temporary file")
    monkeypatch.setattr(tempfile, "TemporaryFile", refuse)
    return made


@pytest_twisted.ensureDeferred
async def test_a_huge_content_length_is_refused_at_once_and_never_buffered(no_temp_files):
    panel = Panel()
    port = listen(panel)
    try:
        head = (b"POST /api/login HTTP/1.1\r\nHost: x\r\ncontent-type: application/json\r\n"
                b"content-length: 1000000000\r\n\r\n")
        answer, seconds, _ = await threads.deferToThread(exchange, port.getHost().port,
                                                         [head], read_for=3.0)
    finally:
        await port.stopListening()
    status, body = status_and_body(answer)
    assert status == 413 and body["error"]["code"] == "too-large"
    assert seconds < 2.5                   # answered on the header, the connection closed
    assert panel.calls == [] and no_temp_files == []


@pytest_twisted.ensureDeferred
async def test_a_chunked_body_stops_being_read_at_the_limit(no_temp_files):
    panel = Panel()
    port = listen(panel)
    chunk = b"x" * 16384
    body = [b"%x\r\n%s\r\n" % (len(chunk), chunk)] * 200          # 3.2 MB if all were read
    head = (b"POST /api/login HTTP/1.1\r\nHost: x\r\ntransfer-encoding: chunked\r\n"
            b"content-type: application/json\r\n\r\n")
    try:
        answer, _, sent = await threads.deferToThread(exchange, port.getHost().port,
                                                      [head] + body, pause=0.001)
    finally:
        await port.stopListening()
    status, payload = status_and_body(answer)
    assert status == 413 and payload["error"]["code"] == "too-large"
    assert sent < 3_000_000                # the server hung up long before the end
    assert panel.calls == [] and no_temp_files == []


@pytest.mark.parametrize("path, auth", [("/api/login", None), ("/api/agents/1001/pause", "tok")])
@pytest_twisted.ensureDeferred
async def test_json_nested_too_deeply_is_a_400_with_a_clear_message(path, auth):
    panel = Panel()
    port = listen(panel)
    nested: object = 1
    for _ in range(20):
        nested = [nested]
    for body in (b"[" * 30_000 + b"]" * 30_000, json.dumps({"a": nested}).encode()):
        headers = b"authorization: Bearer tok\r\n" if auth else b""
        request = (b"POST %s HTTP/1.1\r\nHost: x\r\nconnection: close\r\n%scontent-length: %d\r\n\r\n%s"
                   % (path.encode(), headers, len(body), body))
        answer, _, _ = await threads.deferToThread(exchange, port.getHost().port, [request])
        status, payload = status_and_body(answer)
        assert status == 400, answer[:200]
        assert payload["error"]["code"] == "bad-json" and "nested" in payload["error"]["message"]
    await port.stopListening()
    assert not any(c.startswith("pause") for c in panel.calls)


@pytest_twisted.ensureDeferred
async def test_a_refusal_of_the_control_panel_is_a_400_not_a_500():
    port = listen(Panel())
    body = b'{"reason": "nope"}'
    request = (b"POST /api/agents/1001/pause HTTP/1.1\r\nHost: x\r\nconnection: close\r\n"
               b"authorization: Bearer tok\r\ncontent-length: %d\r\n\r\n%s" % (len(body), body))
    answer, _, _ = await threads.deferToThread(exchange, port.getHost().port, [request])
    await port.stopListening()
    status, payload = status_and_body(answer)
    assert (status, payload["error"]["code"]) == (400, "bad-reason")


@pytest_twisted.ensureDeferred
async def test_slow_loris_connections_are_closed_after_the_request_timeout():
    port = listen(Panel(), request_timeout=0.5)
    drip = [b"GET /api/status HTTP/1.1\r\n"] + [b"X-a: b\r\n"] * 40      # one header / 0.1 s
    try:
        results = await defer.gatherResults([
            threads.deferToThread(exchange, port.getHost().port, drip, pause=0.1, read_for=6)
            for _ in range(5)])
    finally:
        await port.stopListening()
    for answer, seconds, _ in results:
        assert answer.startswith(b"HTTP/1.1 408")
        assert seconds < 2.5               # the drip would have lasted 4 s


@pytest_twisted.ensureDeferred
async def test_a_prompt_keep_alive_client_is_served_twice():
    port = listen(Panel(), request_timeout=0.5)
    one = b"GET /api/status HTTP/1.1\r\nHost: x\r\nauthorization: Bearer tok\r\n\r\n"
    two = one.replace(b"Host: x\r\n", b"Host: x\r\nconnection: close\r\n")
    answer, _, _ = await threads.deferToThread(exchange, port.getHost().port, [one, two],
                                               pause=0.2)
    await port.stopListening()
    assert answer.count(b"HTTP/1.1 200") == 2


# -- signing in ----------------------------------------------------------------------------
class Record:
    def __init__(self, user, password_hash):
        self.user, self.password_hash = user, password_hash


def sign_in_with(checked: list, *, clock, users=("alice",), **throttle):
    def verify(password, stored):
        checked.append(stored)
        return stored == "hash-of-alice" and password == "right"

    def find_user(name):
        return defer.succeed(Record(name, "hash-of-alice") if name in users else None)

    checks = PasswordChecks(reactor, verify=verify)
    checks.startService()
    sign_in = SignIn(find_user=find_user, checks=checks, tokens=TokenStore(clock.seconds),
                     throttle=LoginThrottle(clock.seconds, **throttle),
                     principal_of=lambda name: Principal(name, "agent", agent_id="1001"))
    return sign_in, checks


async def post_login(port: int, user: str, password: str):
    body = json.dumps({"user": user, "password": password}).encode()
    request = (b"POST /api/login HTTP/1.1\r\nHost: x\r\nconnection: close\r\n"
               b"content-length: %d\r\n\r\n%s" % (len(body), body))
    answer, _, _ = await threads.deferToThread(exchange, port, [request])
    head = answer.partition(b"\r\n\r\n")[0].lower()
    retry = [line.split(b":", 1)[1].strip() for line in head.split(b"\r\n")
             if line.startswith(b"retry-after:")]
    status, payload = status_and_body(answer)
    return status, payload, int(retry[0]) if retry else None


@pytest_twisted.ensureDeferred
async def test_unknown_user_and_wrong_password_cost_the_same_password_check():
    checked: list = []
    sign_in, checks = sign_in_with(checked, clock=task.Clock())
    port = listen(Panel(sign_in))
    try:
        status_unknown, *_ = await post_login(port.getHost().port, "mallory", "x")
        status_wrong, *_ = await post_login(port.getHost().port, "alice", "x")
    finally:
        await port.stopListening()
        checks.stopService()
    assert status_unknown == status_wrong == 401
    assert len(checked) == 2
    assert checked[0].startswith("scrypt$")          # a dummy hash, checked all the same
    assert checked[1] == "hash-of-alice"


@pytest_twisted.ensureDeferred
async def test_repeated_wrong_passwords_lock_the_user_with_retry_after():
    clock = task.Clock()
    checked: list = []
    sign_in, checks = sign_in_with(checked, clock=clock, max_failures=3, lockout=300)
    port = listen(Panel(sign_in))
    p = port.getHost().port
    try:
        for _ in range(3):
            assert (await post_login(p, "alice", "wrong"))[0] == 401
        status, payload, retry = await post_login(p, "alice", "right")   # even the right one
        assert status == 423 and payload["error"]["code"] == "locked"
        assert retry == 300
        assert "锁定" in payload["error"]["message"] and "locked" in payload["error"]["message"]
        assert len(checked) == 3                     # a locked name costs no password check
        clock.advance(301)
        status, payload, _ = await post_login(p, "alice", "right")
        assert status == 200 and payload["token"]
    finally:
        await port.stopListening()
        checks.stopService()


@pytest_twisted.ensureDeferred
async def test_many_failures_from_one_address_are_slowed_down():
    clock = task.Clock()
    sign_in, checks = sign_in_with([], clock=clock, address_failures=4, address_window=60)
    port = listen(Panel(sign_in))
    p = port.getHost().port
    try:
        for n in range(4):
            assert (await post_login(p, f"guess{n}", "x"))[0] == 401
        status, payload, retry = await post_login(p, "alice", "right")
        assert status == 429 and payload["error"]["code"] == "too-many"
        assert 1 <= retry <= 60 and "try again" in payload["error"]["message"]
        clock.advance(61)
        assert (await post_login(p, "alice", "right"))[0] == 200
    finally:
        await port.stopListening()
        checks.stopService()


@pytest_twisted.ensureDeferred
async def test_an_expect_100_continue_upload_that_is_too_large_gets_only_the_413():
    port = listen(Panel())
    head = (b"POST /api/login HTTP/1.1\r\nHost: x\r\nexpect: 100-continue\r\n"
            b"content-length: 5000000\r\n\r\n")
    answer, _, _ = await threads.deferToThread(exchange, port.getHost().port, [head], read_for=3)
    await port.stopListening()
    assert answer.startswith(b"HTTP/1.1 413") and b"100 Continue" not in answer


@pytest_twisted.ensureDeferred
async def test_a_connection_that_says_nothing_is_closed_quietly():
    port = listen(Panel(), request_timeout=0.3)
    answer, seconds, _ = await threads.deferToThread(exchange, port.getHost().port, [],
                                                     read_for=3)
    await port.stopListening()
    assert answer == b"" and seconds < 2


@pytest_twisted.ensureDeferred
async def test_a_percent_encoded_agent_id_reaches_the_panel_decoded():
    """ctictl sends an agent id as one encoded path segment ("10 01" as 10%2001): twisted.web
    splits the path before it decodes each segment, so an encoded "/" cannot change the route
    and the panel gets the id as typed."""
    panel = Panel()
    port = listen(panel)
    answers = []
    for path in (b"/api/agents/10%2001/pause", b"/api/agents/a%2Fb/pause"):
        body = b'{"reason": "break"}'
        request = (b"POST " + path + b" HTTP/1.1\r\nHost: x\r\nconnection: close\r\n"
                   b"authorization: Bearer tok\r\ncontent-length: %d\r\n\r\n%s" % (len(body), body))
        answer, _, _ = await threads.deferToThread(exchange, port.getHost().port, [request])
        answers.append(status_and_body(answer))
    await port.stopListening()
    assert answers == [(200, {"agent_id": "10 01"}), (200, {"agent_id": "a/b"})]


@pytest_twisted.ensureDeferred
async def test_a_body_that_passes_the_limit_and_ends_in_one_read_is_never_acted_on():
    """A chunked body whose last chunk crosses the limit and whose terminator comes in the
    same read: the client gets 413 and the route never runs on what was buffered."""
    panel = Panel()
    port = listen(panel)
    body = b'{"reason": "lunch"}' + b" " * 70000
    request = (b"POST /api/agents/1001/pause HTTP/1.1\r\nHost: x\r\nconnection: close\r\n"
               b"authorization: Bearer tok\r\ntransfer-encoding: chunked\r\n\r\n"
               b"%x\r\n%s\r\n0\r\n\r\n" % (len(body), body))
    try:
        answer, _, _ = await threads.deferToThread(exchange, port.getHost().port, [request])
        await task.deferLater(reactor, 0.2, lambda: None)
    finally:
        await port.stopListening()
    status, _ = status_and_body(answer)
    assert status == 413
    assert not any(c.startswith("pause") for c in panel.calls)


@pytest_twisted.ensureDeferred
async def test_the_busy_limit_covers_the_user_look_up_and_in_flight_guesses_count():
    """A sign-in holds its place from the user look-up on (a flood cannot pile up look-ups on
    the sign-in's threads), and guesses still in flight count toward the lockout."""
    clock = task.Clock()
    lookups: list = []

    def find_user(name):
        d = defer.Deferred()                        # the database is slow
        lookups.append(d)
        return d

    checks = PasswordChecks(reactor, verify=lambda password, stored: False, max_pending=3)
    checks.startService()
    sign_in = SignIn(find_user=find_user, checks=checks, tokens=TokenStore(clock.seconds),
                     throttle=LoginThrottle(clock.seconds, max_failures=2),
                     principal_of=lambda name: Principal(name, "agent"))
    try:
        first = sign_in.login("alice", "a", "10.0.0.1")
        second = sign_in.login("alice", "b", "10.0.0.2")
        with pytest.raises(LoginRefused) as third:   # two guesses in flight: the limit
            await sign_in.login("alice", "c", "10.0.0.3")
        assert third.value.code == "busy"
        sign_in.login("bob", "x", "10.0.0.4")
        with pytest.raises(LoginRefused) as flood:   # three look-ups waiting: no fourth
            await sign_in.login("carol", "x", "10.0.0.5")
        assert flood.value.code == "busy" and len(lookups) == 3
        for d in lookups:
            d.callback(None)
        assert await first is None and await second is None
        await task.deferLater(reactor, 0.2, lambda: None)
        assert checks.pending == 0
        with pytest.raises(LoginRefused) as locked:
            await sign_in.login("alice", "d", "10.0.0.6")
        assert locked.value.code == "locked"
    finally:
        checks.stopService()


# -- routes a capability mounts ---------------------------------------------------------------
def _get(port, path, token="tok", method="GET", body=b""):
    head = (f"{method} {path} HTTP/1.1\r\nHost: x\r\nConnection: close\r\n"
            f"Content-Length: {len(body)}\r\n")
    if token:
        head += f"Authorization: Bearer {token}\r\n"
    answer, _, _ = exchange(port, [head.encode() + b"\r\n" + body])
    status = int(answer.split(b" ", 2)[1])
    return status, json.loads(answer.split(b"\r\n\r\n", 1)[1] or b"null")


@pytest_twisted.inlineCallbacks
def test_a_mounted_route_gets_its_params_the_principal_and_the_error_mapping():
    from cti.net.http_api import Route
    seen = []

    def handler(principal, params, body):
        seen.append((principal.user, params, body))
        if params["call_id"] == "gone":
            raise ControlError("not-found", "no-call", "no such call")
        return {"ok": params["call_id"]}

    routes = [Route("POST", "calls/{call_id}/ivr", handler),
              Route("GET", "things", lambda p, params, body: {"query": body}),
              Route("GET", "open", lambda p, params, body: {"who": p}, public=True)]
    port = listen(Panel(), routes=routes)
    try:
        n = port.getHost().port
        status, body = yield threads.deferToThread(
            _get, n, "/api/calls/c-1/ivr", method="POST", body=b'{"flow": "pin"}')
        assert (status, body) == (200, {"ok": "c-1"})
        assert seen == [("root", {"call_id": "c-1"}, {"flow": "pin"})]
        status, body = yield threads.deferToThread(
            _get, n, "/api/calls/gone/ivr", method="POST")
        assert status == 404 and body["error"]["code"] == "no-call"
        status, body = yield threads.deferToThread(_get, n, "/api/things?since=2026&x=1&x=2")
        assert body == {"query": {"since": "2026", "x": "2"}}
        status, _ = yield threads.deferToThread(_get, n, "/api/things", token=None)
        assert status == 401
        status, body = yield threads.deferToThread(_get, n, "/api/open", token=None)
        assert (status, body) == (200, {"who": None})
        status, _ = yield threads.deferToThread(_get, n, "/api/calls/c-1/ivr")   # wrong method
        assert status == 404
    finally:
        yield port.stopListening()
