"""The desktop's files as ctid serves them: by name only, with their types and headers.

No browser here: the site is rendered with Twisted's request helper.
"""
from __future__ import annotations

import json
import re

import pytest
from twisted.web.resource import getChildForRequest
from twisted.web.test.requesthelper import DummyRequest

from cti.net.http_api import make_site
from cti.web import assets


def get(site, path: str) -> tuple[int, dict[bytes, bytes], bytes]:
    request = DummyRequest([p.encode() for p in path.lstrip("/").split("/")])
    body = getChildForRequest(site.resource, request).render(request)
    if not isinstance(body, bytes):                  # written, not returned (NOT_DONE_YET)
        body = b"".join(request.written)
    headers = {k.lower(): v[0] for k, v in request.responseHeaders.getAllRawHeaders()}
    return request.responseCode or 200, headers, body


class Panel:
    """Nothing behind the API: these tests stop at the desktop's files."""


@pytest.fixture
def site():
    return make_site(Panel(), lambda token: None, web_config=lambda: {"push_port": 8766})


def test_the_page_is_served_at_the_root_with_a_strict_policy(site):
    status, headers, body = get(site, "/")
    assert status == 200
    assert headers[b"content-type"] == b"text/html; charset=utf-8"
    assert b'id="login-form"' in body
    assert b"script-src 'self'" in headers[b"content-security-policy"]
    assert headers[b"x-content-type-options"] == b"nosniff"


@pytest.mark.parametrize("name, content_type", [
    ("agent.js", b"text/javascript; charset=utf-8"),
    ("agent.css", b"text/css; charset=utf-8"),
])
def test_script_and_style_are_served_with_their_types(site, name, content_type):
    status, headers, body = get(site, f"/static/{name}")
    assert (status, headers[b"content-type"]) == (200, content_type)
    assert body == (assets.HERE / name).read_bytes()


@pytest.mark.parametrize("path", ["/static/assets.py", "/static/__init__.py", "/static/",
                                  "/static/../assets.py", "/agent.html", "/favicon.ico", "/nope"])
def test_nothing_else_is_reachable(site, path):
    status, _, body = get(site, path)
    assert status == 404
    assert b"import" not in body


def test_web_config_is_asked_on_every_request():
    ports = iter([8766, 9000])
    site = make_site(Panel(), lambda token: None, web_config=lambda: {"push_port": next(ports)})
    first, second = (json.loads(get(site, "/web-config.json")[2]) for _ in range(2))
    assert first == {"push_port": 8766, "push_path": "/push"}
    assert second["push_port"] == 9000


def test_web_config_without_a_source_says_the_port_is_unknown():
    site = make_site(Panel(), lambda token: None)
    status, headers, body = get(site, "/web-config.json")
    assert (status, json.loads(body)) == (200, {"push_port": None, "push_path": "/push"})
    assert headers[b"cache-control"] == b"no-store"


def test_the_api_is_still_behind_its_token(site):
    status, _, body = get(site, "/api/status")
    assert status == 401
    assert json.loads(body)["error"]["code"] == "unauthenticated"


def test_the_page_loads_nothing_from_elsewhere():
    """No CDN, no remote fonts: every URL in the page, script and style is local."""
    for name in ("agent.html", "agent.js", "agent.css"):
        text = (assets.HERE / name).read_text(encoding="utf-8")
        assert not re.search(r"(?:src|href)\s*=\s*[\"'](?:https?:)?//", text), name
        assert not re.search(r"url\(\s*[\"']?(?:https?:)?//", text), name
        assert "https://" not in text and "http://" not in text, name
