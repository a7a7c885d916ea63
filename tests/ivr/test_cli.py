"""The IVR's ctictl commands: what they ask ctid and what they print."""
from cti.cli.main import build_parser


class Client:
    def __init__(self, answers):
        self.answers, self.asked = answers, []

    def call(self, method, path, body=None):
        self.asked.append((method, path, body))
        return self.answers[path.split("?")[0]]


def run(argv, answers, capsys):
    args = build_parser().parse_args(argv)
    client = Client(answers)
    assert args.run_with(client, args) == 0
    return client.asked, capsys.readouterr().out


def test_voicemail_list_asks_with_since_and_prints_a_table(capsys):
    message = {"recorded_at": "2026-12-03T10:00:00+00:00", "caller_number": "13800000001",
               "customer_name": "李雷", "duration_seconds": 12.5, "call_id": "cti-1",
               "file": "/spool/cti-1"}
    asked, out = run(["voicemail", "list", "--since", "7d"],
                     {"/api/ivr/voice-messages": [message]}, capsys)
    assert asked == [("GET", "/api/ivr/voice-messages?since=7d&limit=200", None)]
    assert "李雷" in out and "12.5" in out and out.splitlines()[0].startswith("RECORDED_AT")


def test_containment_prints_flows_then_nodes(capsys):
    answer = {"since": None,
              "flows": [{"flow": "standard", "calls": 4, "contained": 2, "rate": 0.5,
                         "to_agent": 1, "hung_up": 1}],
              "nodes": [{"flow": "standard", "node": "bill", "calls": 2, "contained": 2,
                         "rate": 1.0}]}
    asked, out = run(["ivr", "containment"], {"/api/ivr/containment": answer}, capsys)
    assert asked == [("GET", "/api/ivr/containment", None)]
    lines = out.splitlines()
    assert lines[0].split() == ["FLOW", "CALLS", "CONTAINED", "RATE", "TO_AGENT", "HUNG_UP"]
    assert lines[1].split() == ["standard", "4", "2", "0.5", "1", "1"]
    assert lines[-1].split() == ["standard", "bill", "2", "2", "1.0"]


def test_reload_posts_and_shows_which_tier_hears_which_flow(capsys):
    answer = {"flows": {"standard": {"file": "/etc/f/standard.yaml", "nodes": 18}},
              "tiers": {"gold": "vip", "standard": "standard"}}
    asked, out = run(["reload"], {"/api/ivr/reload": answer}, capsys)
    assert asked == [("POST", "/api/ivr/reload", {})]
    assert "/etc/f/standard.yaml" in out and any(l.split() == ["gold", "vip"]
                                                 for l in out.splitlines())
