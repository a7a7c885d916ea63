"""The IVR's API over the real HTTP stack: reload as an admin (a bad file refused with its line,
the flows in force kept), agents refused, voice messages for a supervisor."""
import pytest_twisted
from twisted.internet import reactor, threads

from cti.domain.principal import Principal
from cti.ivr import http
from cti.ivr.service import FlowBook
from cti.net.http_api import make_site
from tests.net.test_http_api import Panel, _get

TOKENS = {"root": Principal("root", "admin"), "boss": Principal("boss", "supervisor"),
          "agent": Principal("a", "agent", agent_id="1001")}
GOOD = ("start: hi\nnodes:\n  hi: {kind: play, prompt: cti/welcome, next: agent}\n"
        "  agent: {kind: transfer, skill: general}\n")


class Records:
    def voice_messages(self, since, limit):
        return [{"call_id": "cti-1", "since": since, "limit": limit}]


@pytest_twisted.inlineCallbacks
def test_reload_over_http_keeps_the_flows_in_force_on_a_bad_file(tmp_path):
    (tmp_path / "standard.yaml").write_text(GOOD, encoding="utf-8")
    book = FlowBook(flows_dir=tmp_path, tier_names=["gold", "standard"], vip_tiers=["gold"],
                    chosen={})
    book.load()
    port = reactor.listenTCP(0, make_site(Panel(), TOKENS.get,
                                          routes=http.routes(book, Records())),
                             interface="127.0.0.1")
    n = port.getHost().port
    try:
        (tmp_path / "standard.yaml").write_text(GOOD.replace("next: agent", "next: nobody"),
                                                encoding="utf-8")
        status, body = yield threads.deferToThread(_get, n, "/api/ivr/reload", token="root",
                                                   method="POST", body=b"{}")
        assert status == 400 and body["error"]["code"] == "bad-flow"
        assert f"{tmp_path / 'standard.yaml'}:3:" in body["error"]["message"]
        assert "原流程继续生效" in body["error"]["message"]
        assert book.get("standard").node("hi").get("next") == "agent"
        status, _ = yield threads.deferToThread(_get, n, "/api/ivr/reload", token="boss",
                                                method="POST", body=b"{}")
        assert status == 403
        (tmp_path / "standard.yaml").write_text(GOOD.replace("skill: general", "skill: billing"),
                                                encoding="utf-8")
        status, body = yield threads.deferToThread(_get, n, "/api/ivr/reload", token="root",
                                                   method="POST", body=b"{}")
        assert status == 200 and body["tiers"] == {"gold": "vip", "standard": "standard"}
        assert book.get("standard").node("agent").get("skill") == "billing"
        status, body = yield threads.deferToThread(_get, n, "/api/ivr/voice-messages?since=7d",
                                                   token="boss")
        assert (status, body) == (200, [{"call_id": "cti-1", "since": "7d", "limit": 200}])
        status, _ = yield threads.deferToThread(_get, n, "/api/ivr/voice-messages", token="agent")
        assert status == 403
    finally:
        yield port.stopListening()
