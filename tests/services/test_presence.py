"""Agent presence on disk: every change is kept at once, cheaply, and read back in order."""
import json

from cti.domain.agent_state import AgentEvent
from cti.services import presence as presence_module
from cti.services.agents import Agent, AgentService
from cti.services.presence import PresenceStore


class Clock:
    def __init__(self):
        self.now = 1000.0

    def seconds(self):
        return self.now

    def callLater(self, *a, **kw):            # wrap-up timers are not run here
        class Call:
            def active(self):
                return False

            def cancel(self):
                pass
        return Call()


def agents_with(store):
    service = AgentService([Agent("1001", "A", "PJSIP/6001"), Agent("1002", "B", "PJSIP/6002")],
                           Clock(), wrap_up_seconds=30)
    service.subscribe(store)
    return service


def test_changes_survive_a_crash_without_a_rewrite_of_the_snapshot(tmp_path):
    path = tmp_path / "agents.json"
    store = PresenceStore(path)
    store.load()
    agents = agents_with(store)
    snapshot = path.read_bytes()
    agents.login("1001")
    agents.login("1002")
    agents.pause("1002", "lunch")
    agents.logout("1001")
    assert path.read_bytes() == snapshot              # appended, not rewritten
    # a kill -9 now: the next run reads the snapshot and the change lines
    again = PresenceStore(path).load()
    assert again == {"1002": {"state": "not-ready", "reason": "lunch"}}


def test_reading_compacts_and_a_torn_last_line_is_skipped(tmp_path):
    path = tmp_path / "agents.json"
    store = PresenceStore(path)
    store.load()
    agents = agents_with(store)
    agents.login("1001")
    with open(tmp_path / "agents.json.log", "a") as f:
        f.write('["1002", {"state": "rea')                 # the crash cut this line
    assert PresenceStore(path).load() == {"1001": {"state": "ready", "reason": None}}
    assert json.loads(path.read_text()) == {"1001": {"state": "ready", "reason": None}}
    assert (tmp_path / "agents.json.log").read_text() == ""


def test_the_log_is_folded_into_the_snapshot_every_so_many_changes(tmp_path, monkeypatch):
    monkeypatch.setattr(presence_module, "COMPACT_AFTER", 3)
    path = tmp_path / "agents.json"
    store = PresenceStore(path)
    store.load()
    agents = agents_with(store)
    for _ in range(4):
        agents.login("1001")
        agents.logout("1001")
    agents.login("1002")
    assert len((tmp_path / "agents.json.log").read_text().splitlines()) <= 3
    assert PresenceStore(path).load() == {"1002": {"state": "ready", "reason": None}}
