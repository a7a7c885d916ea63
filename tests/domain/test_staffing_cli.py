"""``ctictl staffing``: argument checks, table and JSON output (the calculator is pure)."""
import argparse
import io
import json

import pytest

from cti.cli import staffing


def run(argv):
    parser = argparse.ArgumentParser(prog="ctictl")
    sub = parser.add_subparsers()
    staffing.add_parser(sub)
    args = parser.parse_args(["staffing", *argv])
    out, err = io.StringIO(), io.StringIO()
    return args.handler(args, out, err), out.getvalue(), err.getvalue()


def test_table_with_erlang_c_and_erlang_a():
    code, out, _ = run(["--calls-per-hour", "1200", "--aht", "180", "--target", "0.8",
                        "--within", "20", "--patience", "120"])
    assert code == 0
    assert "60.00 Erlangs" in out
    lines = out.splitlines()
    assert lines[2].split()[:3] == ["erlang-c", "66", "82.3%"]
    assert lines[3].split()[:2] == ["erlang-a", "60"]


def test_json_and_percent_target():
    code, out, _ = run(["--calls-per-hour", "1200", "--aht", "180", "--target", "80",
                        "--within", "20", "--json"])
    data = json.loads(out)
    assert code == 0 and data["target"] == 0.8
    [result] = data["results"]
    assert result["model"] == "erlang-c" and result["agents"] == 66
    assert result["service_level"] >= 0.8 and result["abandon_rate"] is None


@pytest.mark.parametrize("argv", [
    ["--calls-per-hour", "abc", "--aht", "180", "--target", "0.8", "--within", "20"],
    ["--calls-per-hour", "100", "--aht", "0", "--target", "0.8", "--within", "20"],
    ["--calls-per-hour", "100", "--aht", "180", "--target", "150", "--within", "20"],
    ["--calls-per-hour", "100", "--aht", "180", "--target", "0.8"],
])
def test_bad_arguments_exit_with_a_usage_error(argv, capsys):
    with pytest.raises(SystemExit) as exc:
        run(argv)
    assert exc.value.code == 2
    assert "error" in capsys.readouterr().err
