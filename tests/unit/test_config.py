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
    main.write_text("ami:\n  host: 10.0.0.1\n  port: 5039\nacd:\n  ring_timeout: 20\n")
    (tmp_path / "ctid.d").mkdir()
    (tmp_path / "ctid.d" / "10-site.yaml").write_text("ami:\n  port: 5040\n")
    c = cfg.load(main, environ={"CTID_AMI__PORT": "5041", "UNRELATED": "x"},
                 overrides=["acd.ring_timeout=25"])
    assert c["ami"]["host"] == "10.0.0.1"
    assert c["ami"]["port"] == 5041
    assert c["acd"]["ring_timeout"] == 25


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
                    "ivr:\n  menu: {'1': billing}\n")
    c = cfg.load(main, environ={})
    assert c["acd"]["routing"] == {"tiers": [{"name": "gold", "target": 0.85}]}
    assert c["ivr"]["menu"] == {"1": "billing"}
