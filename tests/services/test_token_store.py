"""Sessions kept in the database: a sign-out's delete never overtakes the save of its session.

The store runs its writes on a pool of threads: a delete started while the save of the same
session is still under way could run first, find nothing, and the save would then keep a
signed-out session that the next start brings back.
"""
from __future__ import annotations

import logging

from twisted.internet import defer

from cti.domain.principal import Principal
from cti.services.auth import TokenStore, token_hash


class SlowStore:
    """A session store whose writes finish only when the test says so."""

    def __init__(self):
        self.started: list[tuple[str, str]] = []
        self.pending: list[defer.Deferred] = []

    def _write(self, what: str, hashed: str) -> defer.Deferred:
        self.started.append((what, hashed))
        d = defer.Deferred()
        self.pending.append(d)
        return d

    def save(self, hashed, user, expires):
        return self._write("save", hashed)

    def delete(self, hashed):
        return self._write("delete", hashed)


def agent() -> Principal:
    return Principal(user="agent1001", role="agent", agent_id="1001")


def test_a_sign_out_waits_for_the_save_of_its_session():
    store = SlowStore()
    tokens = TokenStore(lambda: 1000.0, sessions=store)
    token = tokens.issue(agent())
    assert tokens.revoke(token)
    hashed = token_hash(token)
    assert store.started == [("save", hashed)]          # the save is still under way
    assert tokens.authenticate(token) is None            # signed out at once all the same
    store.pending[0].callback(None)
    assert store.started == [("save", hashed), ("delete", hashed)]


def test_a_failed_save_is_logged_and_the_delete_still_runs(caplog):
    store = SlowStore()
    tokens = TokenStore(lambda: 1000.0, sessions=store)
    token = tokens.issue(agent())
    tokens.revoke(token)
    with caplog.at_level(logging.ERROR, logger="cti.services.auth"):
        store.pending[0].errback(RuntimeError("database down"))
    assert "session not kept in the database: database down" in caplog.text
    assert [what for what, _ in store.started] == ["save", "delete"]
    store.pending[1].callback(None)

