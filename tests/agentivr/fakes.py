"""A scripted FastAGI session for the agent-side routes: keys to give, what it was told."""
from __future__ import annotations

from twisted.internet import defer


class FakeSession:
    def __init__(self, *args: str, channel: str = "PJSIP/6001-0000002a",
                 uniqueid: str = "1.1", keys: list[str] | None = None,
                 missing: tuple[str, ...] = ()):
        self.args = list(args)
        self.channel = channel
        self.uniqueid = uniqueid
        self.env = {"agi_callerid": "6001"}
        self.keys = list(keys or [])      # one entry per GET DATA / WAIT FOR DIGIT
        self.missing = missing            # prompts that are not recorded
        self.played: list[str] = []
        self.variables: dict[str, str] = {}
        self.hung_up = False

    def get_data(self, prompt, timeout_ms=None, max_digits=None):
        self.played.append(prompt)
        return defer.succeed(self.keys.pop(0) if self.keys else "")

    def wait_for_digit(self, timeout_ms):
        return defer.succeed(self.keys.pop(0) if self.keys else None)

    def stream_file(self, name, escape_digits=""):
        from cti.agi_errors import AGICommandFailed
        if name in self.missing:
            return defer.fail(AGICommandFailed(f"no {name}"))
        self.played.append(name)
        return defer.succeed(None)

    def set_variable(self, name, value):
        self.variables[name] = str(value)
        return defer.succeed(None)
