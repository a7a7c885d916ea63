"""Layered configuration: defaults < file < conf.d < environment < flags, with clear errors."""
import pytest

from cti import config as cfg
from cti.config import ConfigError


def test_defaults_stand_alone():
    c = cfg.load(environ={})
    assert c["ami"]["port"] == 5038
    assert c["acd"]["policy"] == "service-level"


def test_layers_override_in_order(tmp_path):
    main = tmp_path / "ctid.yaml"
    main.write_text("ami:\n  host: 10.0.0.1\n  port: 5039\nacd:\n  wrap_up_seconds: 20\n")
    (tmp_path / "ctid.d").mkdir()
    (tmp_path / "ctid.d" / "10-site.yaml").write_text("ami:\n  port: 5040\n")
    c = cfg.load(main, environ={"CTID_AMI__PORT": "5041", "UNRELATED": "x"},
                 overrides=["acd.wrap_up_seconds=25"])
    assert c["ami"]["host"] == "10.0.0.1"
    assert c["ami"]["port"] == 5041
    assert c["acd"]["wrap_up_seconds"] == 25.0


def test_unknown_key_names_key_and_origin(tmp_path):
    main = tmp_path / "ctid.yaml"
    main.write_text("ami:\n  hots: x\n")
    with pytest.raises(ConfigError, match=r"ctid.yaml: unknown setting 'ami.hots'"):
        cfg.load(main, environ={})


def test_wrong_type_is_refused():
    with pytest.raises(ConfigError, match=r"'ami.port' must be int"):
        cfg.load(environ={"CTID_AMI__PORT": "not-a-number"})


def test_broken_yaml_is_a_clear_error(tmp_path):
    main = tmp_path / "ctid.yaml"
    main.write_text("ami: [unclosed\n")
    with pytest.raises(ConfigError, match="not valid YAML"):
        cfg.load(main, environ={})


def test_secret_file_and_redaction(tmp_path):
    secret = tmp_path / "ami-secret"
    secret.write_text("s3cret\n")
    c = cfg.load(environ={"CTID_AMI__SECRET_FILE": str(secret)})
    assert c["ami"]["secret"] == "s3cret"
    shown = cfg.redacted(c)
    assert shown["ami"]["secret"] == "***"
    assert c["ami"]["secret"] == "s3cret"
    assert "s3cret" not in repr(shown)


def test_free_form_sections_are_taken_whole(tmp_path):
    main = tmp_path / "ctid.yaml"
    main.write_text("acd:\n  routing:\n    tiers:\n      - {name: gold, target: 0.85}\n"
                    "ivr:\n  tier_skills: {gold: vip}\n")
    c = cfg.load(main, environ={})
    assert c["acd"]["routing"] == {"tiers": [{"name": "gold", "target": 0.85}]}
    assert c["ivr"]["tier_skills"] == {"gold": "vip"}


@pytest.mark.parametrize("key, hint", [("acd.ring_timeout", "CTI_RING_TIMEOUT"),
                                       ("queue_log.queue_name", "skill"),
                                       ("ivr.menu", "flows")])
def test_settings_that_did_nothing_are_gone_and_say_why(tmp_path, key, hint):
    section, name = key.split(".")
    main = tmp_path / "ctid.yaml"
    main.write_text(f"{section}:\n  {name}: 20\n")
    with pytest.raises(ConfigError, match=rf"unknown setting '{key}' \(removed: .*{hint}"):
        cfg.load(main, environ={})


@pytest.mark.parametrize("override, message", [
    ("acd.policy=nonsense", r"'acd.policy' must be one of .*got 'nonsense'"),
    ("acd.routing.tiers=7", r"'acd.routing': tiers must be a list"),
    ("log.level=LOUD", r"'log.level' must be one of DEBUG"),
    ("api.port=70000", r"'api.port' must be between 0 and 65535"),
    ("database.url=ctid.sqlite", r"'database.url' must be a database URL"),
    ("acd.unqueued_check_seconds=-1", r"'acd.unqueued_check_seconds' must be more than 0"),
    ("acd.unqueued_check_seconds=0", r"'acd.unqueued_check_seconds' must be more than 0"),
    ("acd.channel_check_timeout=0", r"'acd.channel_check_timeout' must be more than 0"),
    ("acd.wrap_up_seconds=-5", r"'acd.wrap_up_seconds' must be 0 or more"),
    ("database.threads=0", r"'database.threads' must be 1 or more"),
    ("fastagi.header_timeout=0", r"'fastagi.header_timeout' must be more than 0"),
    ("ami.ping_interval=0", r"'ami.ping_interval' must be more than 0"),
    ("ami.action_timeout=-1", r"'ami.action_timeout' must be more than 0"),
    ("web.port=8765", r"'web.port' 8765 is also 'api.port'"),
    ("fastagi.port=8766", r"'web.port' 8766 is also 'fastagi.port'"),
])
def test_values_the_daemon_would_trip_over_are_refused_at_load(override, message):
    with pytest.raises(ConfigError, match=message):
        cfg.load(environ={}, overrides=[override])


def test_allowed_hosts_from_file_or_environment(tmp_path):
    main = tmp_path / "ctid.yaml"
    main.write_text("fastagi:\n  allowed_hosts: [10.0.0.5, pbx1.example]\n")
    assert cfg.load(main, environ={})["fastagi"]["allowed_hosts"] == ["10.0.0.5", "pbx1.example"]
    c = cfg.load(environ={"CTID_FASTAGI__ALLOWED_HOSTS": "10.0.0.5, 10.0.0.6"})
    assert c["fastagi"]["allowed_hosts"] == ["10.0.0.5", "10.0.0.6"]
    with pytest.raises(ConfigError, match="must be a list of strings"):
        cfg.load(main, environ={}, overrides=["fastagi.allowed_hosts=[1, 2]"])


def test_zero_wrap_up_and_the_defaults_are_accepted():
    assert cfg.load(environ={}, overrides=["acd.wrap_up_seconds=0"])["acd"]["wrap_up_seconds"] == 0


def test_listeners_on_different_interfaces_or_any_free_port_may_share_a_number():
    cfg.load(environ={}, overrides=["web.port=8765", "web.interface=10.0.0.1"])
    cfg.load(environ={}, overrides=["web.port=0", "api.port=0", "fastagi.port=0"])
