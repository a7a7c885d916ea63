"""The customers section of ctid's configuration."""
import pytest

from cti import config as ctid_config
from cti.cli.main import main as ctictl


def test_defaults_leave_the_watcher_off_and_poll_every_ten_seconds():
    loaded = ctid_config.load(environ={})
    assert loaded["customers"] == {"drop_dir": "", "poll_seconds": 10.0}


@pytest.mark.parametrize("value", ["0", "-1"])
def test_a_poll_interval_of_zero_or_less_is_one_clear_error(value):
    with pytest.raises(ctid_config.ConfigError, match="'customers.poll_seconds' must be more than 0"):
        ctid_config.load(environ={}, overrides=[f"customers.poll_seconds={value}"])


def test_ctictl_import_with_a_bad_config_exits_2(tmp_path, capsys):
    conf = tmp_path / "ctid.yaml"
    conf.write_text("customers:\n  poll_seconds: 0\n")
    assert ctictl(["import", "x.txt", "--config", str(conf)]) == 2
    assert "customers.poll_seconds" in capsys.readouterr().err


def test_ctictl_import_against_a_missing_sqlite_file_says_so(tmp_path, capsys):
    url = f"sqlite:///{tmp_path / 'nowhere' / 'ctid.sqlite'}"
    assert ctictl(["import", "x.txt", "--set", f"database.url={url}"]) == 2
    assert "does not exist" in capsys.readouterr().err


def test_a_drop_directory_that_cannot_be_made_is_one_clear_error(tmp_path):
    from twisted.application import service
    from twisted.internet import reactor
    from cti.customers import plugin
    blocker = tmp_path / "a-file"
    blocker.write_text("")
    config = ctid_config.load(environ={}, overrides=[f"customers.drop_dir={blocker / 'drop'}"])
    with pytest.raises(ctid_config.ConfigError, match="'customers.drop_dir': cannot create"):
        plugin.install(config, reactor, db=None, parent=service.MultiService())
