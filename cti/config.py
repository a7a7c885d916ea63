"""ctid's configuration: defaults, then a YAML file, then its conf.d, then the environment, then flags.

Every key has a default here, so the defaults *are* the reference of what can be set. A value of
the wrong type or an unknown key is a :class:`ConfigError` naming the key and where it came from,
raised before anything starts. Secrets (the AMI secret, the API token) may be given as
``*_file`` paths so they stay out of the main file and out of logs.

Environment: ``CTID_<SECTION>__<KEY>=value`` (double underscore between levels), e.g.
``CTID_AMI__HOST=10.0.0.5``. Values from the environment and flags are parsed as YAML scalars.
"""
from __future__ import annotations

import copy
import os
from pathlib import Path
from typing import Any, Iterable, Mapping

import yaml

DEFAULTS: dict[str, Any] = {
    "ami": {
        "host": "127.0.0.1",
        "port": 5038,
        "username": "ctid",
        "secret": "",
        "secret_file": "",
        "auth": "md5",
        "action_timeout": 10.0,
        "ping_interval": 20.0,
        "ping_timeout": 5.0,
    },
    # allowed_hosts: the addresses (or names, resolved at start) of the Asterisk boxes that may
    # open FastAGI sessions; empty means the AMI host and 127.0.0.1.
    "fastagi": {"interface": "127.0.0.1", "port": 4573, "header_timeout": 5.0, "allowed_hosts": []},
    "api": {"interface": "127.0.0.1", "port": 8765, "token": "", "token_file": "",
            "session_hours": 12.0,          # a sign-in lasts this long (kept across restarts)
            "login_max_failures": 5,        # wrong passwords in a row before a user is locked
            "login_lockout_seconds": 300.0,  # how long that lock lasts
            "request_timeout": 10.0},       # seconds for a request's head and body to arrive
    "web": {"interface": "127.0.0.1", "port": 8766},
    "database": {"url": "sqlite:///var/ctid.sqlite", "threads": 4, "spill_file": "var/ctid-outbox.jsonl"},
    "queue_log": {"file": "var/queue_log"},
    "recordings": {"directory": "/var/spool/asterisk/monitor"},
    "acd": {
        "policy": "service-level",
        "wrap_up_seconds": 10.0,
        "require_desktop": False,   # agents take calls only with a desktop connected
        # A call still in the IVR after this many seconds has its channel checked on the PBX
        # (AMI Status); a channel found missing at two checks in a row (a check every half of
        # this) means no caller: the call is dropped.
        "unqueued_check_seconds": 30.0,
        # How long ctid waits for the PBX to confirm a FastAGI session's channel before it
        # adopts a caller it did not know (the wait route); no answer: not adopted.
        "channel_check_timeout": 2.0,
        "not_ready_reasons": {},    # {code: {zh: label, en: label}}; empty: the built-in list
                                    # (cti.domain.reasons.DEFAULT_REASONS)
        "routing": {},        # the router's settings: tiers, rings, vip_dedicated, familiar,
                              # service_level (cti.domain.routing.config)
    },
    # The customer database's batch files: drop_dir holds incoming/, done/ and rejected/
    # (docs/customer-import.md); empty: no watcher, batches go through `ctictl import` only.
    "customers": {"drop_dir": "", "poll_seconds": 10.0},
    # The IVR (cti/ivr, docs/ivr-flows.md). flows_dir: an operator's flows (and prompts.yaml),
    # replacing shipped flows of the same name; flows: {tier: flow}, empty: VIP tiers hear
    # "vip", the others "standard"; agent_key: reaches an agent from every menu ("" = off);
    # agent_skill: the skill it asks for ("" = default_skill); tier_skills: {tier: skill} of
    # each tier's dedicated agents ("" = default_skill); voice_messages_dir: where Asterisk
    # records voice messages (a path on the PBX); timeout_ms: a menu's wait for a key.
    "ivr": {"default_skill": "general", "timeout_ms": 5000, "flows_dir": "", "flows": {},
            "agent_key": "0", "agent_skill": "", "tier_skills": {},
            "voice_messages_dir": "/var/spool/asterisk/ctid-messages", "voice_format": "wav",
            "timezone": "Asia/Shanghai"},
    # the agent side of the IVR: feature codes, agent -> flow -> same agent, the survey
    # (cti/agentivr/plugin.py says what each key does)
    "agentivr": {"hold_seconds": 60.0, "pin_max_failures": 3, "pin_lockout_seconds": 300.0,
                 "survey": {"enabled": False, "tiers": [], "skills": []}},
    "pbxsim": {
        "ami_port": 15038,
        "agents": 20,
        "calls_per_hour": 600.0,
        "talk_seconds": 60.0,
        "seed": 1,
    },
    "log": {"level": "INFO"},
}

SECRET_KEYS = {("ami", "secret"), ("api", "token")}

#: Settings that existed once and did nothing; an old file that still sets one is told why.
REMOVED = {
    "acd.ring_timeout": "removed: the ring timeout that applies is the dialplan's "
                        "CTI_RING_TIMEOUT (dialplan/extensions_cti.conf)",
    "queue_log.queue_name": "removed: queue_log lines name the call's skill as the queue",
    "ivr.menu": "removed: menus are IVR flows now (ivr.flows_dir, docs/ivr-flows.md)",
    "ivr.prompt": "removed: prompts are named in IVR flows (ivr.flows_dir, docs/ivr-flows.md)",
}
VOICE_FORMATS = ("wav", "wav49", "gsm", "ulaw", "alaw", "sln", "g722")

LOG_LEVELS = ("DEBUG", "INFO", "WARNING", "ERROR", "CRITICAL")

#: Durations and counts that ctid uses as timer intervals, timeouts or pool sizes: zero or
#: less would spin a timer, time out at once or stop ctid with a traceback when it starts.
POSITIVE = ("ami.action_timeout", "ami.ping_interval", "ami.ping_timeout",
            "fastagi.header_timeout", "acd.unqueued_check_seconds", "acd.channel_check_timeout",
            "ivr.timeout_ms", "pbxsim.talk_seconds", "api.session_hours",
            "api.login_lockout_seconds", "api.request_timeout", "customers.poll_seconds",
            "agentivr.hold_seconds", "agentivr.pin_lockout_seconds")
NOT_NEGATIVE = ("acd.wrap_up_seconds", "pbxsim.agents", "pbxsim.calls_per_hour")
AT_LEAST_ONE = ("database.threads", "api.login_max_failures", "agentivr.pin_max_failures")


class ConfigError(Exception):
    """A configuration value is missing, unknown or of the wrong type."""


def load(path: str | os.PathLike | None = None, *, environ: Mapping[str, str] | None = None,
         overrides: Iterable[str] = ()) -> dict[str, Any]:
    """Build the configuration; ``overrides`` are ``section.key=value`` strings from flags."""
    config = copy.deepcopy(DEFAULTS)
    if path is not None:
        path = Path(path)
        _merge(config, _read_yaml(path), str(path))
        confd = path.with_name(path.stem + ".d")
        if confd.is_dir():
            for part in sorted(confd.glob("*.yaml")):
                _merge(config, _read_yaml(part), str(part))
    environ = os.environ if environ is None else environ
    for name, value in sorted(environ.items()):
        if name.startswith("CTID_") and "__" in name:
            keys = name[5:].lower().split("__")
            _merge(config, _nest(keys, _scalar(value)), f"environment {name}")
    for item in overrides:
        key, sep, value = item.partition("=")
        if not sep:
            raise ConfigError(f"flag --set {item!r}: expected section.key=value")
        _merge(config, _nest(key.split("."), _scalar(value)), f"flag --set {key}")
    _resolve_secret_files(config)
    validate(config)
    return config


def validate(config: Mapping[str, Any]) -> None:
    """Check what the types alone do not: every value ctid would otherwise trip over later.

    Pure (no files, no sockets): it runs before anything is created. The routing policy and
    its settings are checked by building them the way the daemon will.
    """
    from cti.domain.routing import POLICIES
    from cti.domain.routing.config import RoutingConfig
    from cti.domain.routing.errors import ConfigError as RoutingError

    level = config["log"]["level"]
    if str(level).upper() not in LOG_LEVELS:
        raise ConfigError(f"'log.level' must be one of {', '.join(LOG_LEVELS)}, got {level!r}")
    policy = config["acd"]["policy"]
    if policy not in POLICIES:
        raise ConfigError(f"'acd.policy' must be one of {', '.join(sorted(POLICIES))}, "
                          f"got {policy!r}")
    try:
        RoutingConfig.from_mapping(config["acd"]["routing"])
    except RoutingError as exc:
        raise ConfigError(f"'acd.routing': {exc}") from None
    listeners = ("fastagi", "api", "web")
    for section in listeners:
        port = config[section]["port"]
        if not 0 <= port <= 65535:
            raise ConfigError(f"'{section}.port' must be between 0 and 65535, got {port}")
    for i, first in enumerate(listeners):          # each probe alone would pass; the binds not
        for second in listeners[i + 1:]:
            a, b = config[first], config[second]
            if a["port"] and a["port"] == b["port"] and (
                    a["interface"] == b["interface"]
                    or {a["interface"], b["interface"]} & {"", "0.0.0.0", "::"}):
                raise ConfigError(f"'{second}.port' {b['port']} is also '{first}.port' on "
                                  f"{b['interface'] or '*'}: each listener needs its own port")
    url = config["database"]["url"]
    if not url or "://" not in url:
        raise ConfigError(f"'database.url' must be a database URL such as "
                          f"sqlite:///var/ctid.sqlite, got {url!r}")
    for key in POSITIVE + NOT_NEGATIVE + AT_LEAST_ONE:
        section, name = key.split(".")
        value = config[section][name]
        if key in POSITIVE and not value > 0:
            raise ConfigError(f"'{key}' must be more than 0, got {value}")
        if key in NOT_NEGATIVE and value < 0:
            raise ConfigError(f"'{key}' must be 0 or more, got {value}")
        if key in AT_LEAST_ONE and value < 1:
            raise ConfigError(f"'{key}' must be 1 or more, got {value}")
    from cti.domain.reasons import ReasonList
    try:
        ReasonList.from_mapping(config["acd"]["not_ready_reasons"])
    except (ValueError, TypeError, AttributeError) as exc:
        raise ConfigError(f"'acd.not_ready_reasons': {exc}") from None
    _validate_ivr(config["ivr"])
    for host in config["fastagi"]["allowed_hosts"]:
        if not host.strip():
            raise ConfigError("'fastagi.allowed_hosts' has an empty entry")
    for key in ("tiers", "skills"):
        if any(not name.strip() for name in config["agentivr"]["survey"][key]):
            raise ConfigError(f"'agentivr.survey.{key}' has an empty entry")


def _validate_ivr(ivr: Mapping[str, Any]) -> None:
    """The IVR's settings; its flows are checked when they are loaded (file and line)."""
    key = ivr["agent_key"]
    if key and (len(key) != 1 or key not in "0123456789*#"):
        raise ConfigError(f"'ivr.agent_key' must be one phone key (0-9, * or #) or empty, "
                          f"got {key!r}")
    for name in ("flows", "tier_skills"):
        for tier, value in ivr[name].items():
            if not isinstance(value, str) or not value.strip():
                raise ConfigError(f"'ivr.{name}.{tier}' must be a name, got {value!r}")
    if ivr["voice_format"] not in VOICE_FORMATS:
        raise ConfigError(f"'ivr.voice_format' must be one of {', '.join(VOICE_FORMATS)}, "
                          f"got {ivr['voice_format']!r}")
    from zoneinfo import ZoneInfo
    try:
        ZoneInfo(ivr["timezone"])
    except (ValueError, KeyError, OSError):
        raise ConfigError(f"'ivr.timezone' must be a time zone such as Asia/Shanghai, "
                          f"got {ivr['timezone']!r}") from None


def data_directory(config: Mapping[str, Any]) -> Path:
    """Where ctid keeps its own files (token, journal, presence, outbox, lock): the directory
    of ``database.spill_file``."""
    return Path(config["database"]["spill_file"]).parent


def redacted(config: Mapping[str, Any]) -> dict[str, Any]:
    """A copy safe to log or show: secrets replaced by ``***``."""
    out = copy.deepcopy(dict(config))
    for section, key in SECRET_KEYS:
        if out.get(section, {}).get(key):
            out[section][key] = "***"
    return out


def _read_yaml(path: Path) -> dict[str, Any]:
    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8"))
    except OSError as exc:
        raise ConfigError(f"{path}: cannot read: {exc.strerror}") from None
    except yaml.YAMLError as exc:
        raise ConfigError(f"{path}: not valid YAML: {exc}") from None
    if data is None:
        return {}
    if not isinstance(data, dict):
        raise ConfigError(f"{path}: the top level must be a mapping of sections")
    return data


def _merge(into: dict[str, Any], new: Mapping[str, Any], origin: str, prefix: str = "") -> None:
    for key, value in new.items():
        where = f"{prefix}{key}"
        if key not in into:
            why = REMOVED.get(where)
            raise ConfigError(f"{origin}: unknown setting {where!r}" + (f" ({why})" if why else ""))
        current = into[key]
        if isinstance(current, dict):
            if not isinstance(value, dict):
                raise ConfigError(f"{origin}: {where!r} must be a mapping")
            if not current:            # free-form sections (tiers, skills): taken whole
                into[key] = copy.deepcopy(value)
            else:
                _merge(current, value, origin, where + ".")
        else:
            into[key] = _coerce(current, value, where, origin)


def _coerce(default: Any, value: Any, where: str, origin: str) -> Any:
    if isinstance(default, bool):
        if isinstance(value, bool):
            return value
    elif isinstance(default, float):
        if isinstance(value, (int, float)) and not isinstance(value, bool):
            return float(value)
    elif isinstance(default, int):
        if isinstance(value, int) and not isinstance(value, bool):
            return value
    elif isinstance(default, str):
        if isinstance(value, (str, int, float)) and not isinstance(value, bool):
            return str(value)
    elif isinstance(default, list):
        if isinstance(value, str):             # environment and flags: comma-separated
            return [part.strip() for part in value.split(",") if part.strip()]
        if isinstance(value, list) and all(isinstance(v, str) for v in value):
            return list(value)
        raise ConfigError(f"{origin}: {where!r} must be a list of strings")
    raise ConfigError(
        f"{origin}: {where!r} must be {type(default).__name__}, got {type(value).__name__}")


def _nest(keys: list[str], value: Any) -> dict[str, Any]:
    out: Any = value
    for key in reversed(keys):
        out = {key: out}
    return out


def _scalar(text: str) -> Any:
    try:
        return yaml.safe_load(text) if text.strip() else ""
    except yaml.YAMLError:
        return text


def _resolve_secret_files(config: dict[str, Any]) -> None:
    for section, key in SECRET_KEYS:
        file_name = config[section].get(f"{key}_file")
        if file_name:
            try:
                config[section][key] = Path(file_name).read_text(encoding="utf-8").strip()
            except OSError as exc:
                raise ConfigError(f"{section}.{key}_file: cannot read {file_name}: {exc.strerror}") from None
