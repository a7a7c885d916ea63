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
    "fastagi": {"interface": "127.0.0.1", "port": 4573, "header_timeout": 5.0},
    "api": {"interface": "127.0.0.1", "port": 8765, "token": "", "token_file": "",
            "session_hours": 12.0,          # a sign-in lasts this long (kept across restarts)
            "login_max_failures": 5,        # wrong passwords in a row before a user is locked
            "login_lockout_seconds": 300.0,  # how long that lock lasts
            "request_timeout": 10.0},       # seconds for a request's head and body to arrive
    "web": {"interface": "127.0.0.1", "port": 8766},
    "database": {"url": "sqlite:///var/ctid.sqlite", "threads": 4, "spill_file": "var/ctid-outbox.jsonl"},
    "queue_log": {"file": "var/queue_log", "queue_name": "hotline"},
    "recordings": {"directory": "/var/spool/asterisk/monitor"},
    "acd": {
        "policy": "service-level",
        "ring_timeout": 15,
        "wrap_up_seconds": 10.0,
        "require_desktop": False,   # agents take calls only with a desktop connected
        "not_ready_reasons": {},    # {code: {zh: label, en: label}}; empty: the built-in list
                                    # (cti.domain.reasons.DEFAULT_REASONS)
        "routing": {},        # the router's settings: tiers, rings, vip_dedicated, familiar,
                              # service_level (cti.domain.routing.config)
    },
    "ivr": {"menu": {}, "default_skill": "general", "prompt": "cti/menu", "timeout_ms": 5000},
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
    return config


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
            raise ConfigError(f"{origin}: unknown setting {where!r}")
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
