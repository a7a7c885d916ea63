"""The demo: ctid on embedded defaults beside the PBX simulator, with callers and agents.

``ctid --demo`` seeds a SQLite database (agents 1001…, their phones PJSIP/6001…, customers of
every tier), starts the simulator's AMI server running our own ``dialplan/`` files, starts
ctid against it, logs the agents in, and lets Poisson callers of mixed tiers ring the hotline.
It prints where to look and a live one-line summary (at most 80 columns, on a line of its own).

The demo keeps its files where ctid's defaults put them (``var/``), so ``ctictl`` run from the
same checkout finds the token without being told where.
"""
from __future__ import annotations

import logging
import random
import sys
from pathlib import Path

from twisted.application import internet, service

from cti import app
from cti.cli.main import DEFAULT_TOKEN_FILE, DEFAULT_URL
from cti.config import data_directory
from cti.customers import store as customer_seed
from cti.domain import channel_vars as V
from cti.pbxsim.ami.accounts import parse_manager_conf
from cti.pbxsim.ami.server import AMIServerFactory
from cti.pbxsim.dialplan import Dialplan
from cti.pbxsim.engine.callers import CallerArrivals, Tier
from cti.pbxsim.engine.journeys import hotline_mix
from cti.pbxsim.engine.pbx import PBX
from cti.pbxsim.engine.phones import PhoneScript, Phones
from cti.pbxsim.prompts import shipped_sounds
from cti.services import journal
from cti.storage.repositories.agents import add_agent, add_user, list_agents, set_skill
from cti.storage.unit_of_work import Database

log = logging.getLogger(__name__)

ROOT = Path(__file__).resolve().parent.parent
DIALPLAN = ROOT / "dialplan" / "extensions_cti.conf"
DEMO_SECRET = "demo-secret"

DEMO_OVERRIDES = [
    "ami.port=15038",
    f"ami.secret={DEMO_SECRET}",
    "ami.auth=md5",
    "log.level=WARNING",            # the live summary line says what is going on
    "agentivr.survey.enabled=true",  # callers whose agent hangs up rate the call (1-5)
]

# Share of callers per tier (15 % VIP, as on a large mobile hotline).
TIER_MIX = {"platinum": 0.02, "diamond": 0.03, "gold": 0.04, "silver": 0.06, "standard": 0.85}
SKILLS = ("general", "billing", "service", "complaints")
SUMMARY_WIDTH = 80


def manager_conf(username: str, secret: str) -> str:
    """The simulator's manager.conf: our own asterisk_conf/ file with the demo's secret."""
    text = (ROOT / "asterisk_conf" / "manager.conf").read_text()
    text = text.replace("[ctid]", f"[{username}]").replace("secret = change-me", f"secret = {secret}")
    return "\n".join(line for line in text.splitlines() if not line.startswith("#tryinclude"))


def seed(db: Database, agents: int, rng: random.Random) -> dict[str, list[str]]:
    """Agents, users and customers, once; returns the customers' numbers by tier."""
    def work(session):
        numbers: dict[str, list[str]] = {t: [] for t in TIER_MIX}
        if list_agents(session):
            return None
        for i in range(agents):
            number, seat = f"{1001 + i}", f"{6001 + i}"
            group = "vip" if i < max(1, agents // 5) else "general"
            add_agent(session, number, f"Agent {number}", f"PJSIP/{seat}", "demo",
                      group=group, team="red" if i % 2 else "blue")
            for skill in SKILLS:
                set_skill(session, number, skill, rng.randint(4, 10))
            add_user(session, f"agent{number}", "demo", "agent", agent_number=number)
        add_user(session, "supervisor", "demo", "supervisor", agent_number="1001",
                 teams=("red", "blue"))
        for n in range(400):
            tier = rng.choices(list(TIER_MIX), weights=list(TIER_MIX.values()))[0]
            phone = f"138{n:08d}"
            customer_seed.add_customer(session, f"客户{n:03d}", [phone], tier=tier, language="zh")
            numbers[tier].append(phone)
        seed_accounts(session, rng)
        return numbers
    numbers = db.run_blocking(work)
    if numbers is None:                     # seeded before: read the numbers back
        from sqlalchemy import select

        from cti.customers.store import SubscriberLine

        def read(session):
            out: dict[str, list[str]] = {t: [] for t in TIER_MIX}
            for number, tier in session.execute(
                    select(SubscriberLine.number, SubscriberLine.tier)):
                out.setdefault(tier, []).append(number)
            return out
        numbers = db.run_blocking(read)
    return numbers


DEMO_PIN = "123456"
STATUS_MIX = {"normal": 0.85, "arrears": 0.07, "suspended": 0.05, "cancelled": 0.03}


def seed_accounts(session, rng: random.Random) -> None:
    """Every demo line gets a status, a PIN, a balance, 6 months of bills with items, payments,
    status changes and call summaries, so the IVR's bill inquiry has real answers. The first
    line of each tier stays in service (simulated callers of every tier reach an agent)."""
    import datetime as dt

    from sqlalchemy import select

    from cti.customers import store as cs
    from cti.storage.passwords import hash_password

    pin = hash_password(DEMO_PIN, cost=(2**11, 8, 1))
    now = dt.datetime(2026, 12, 3, 2, 0, tzinfo=dt.timezone.utc)
    months = [f"2026-{m:02d}" for m in range(6, 12)]
    first_of_tier: set[str] = set()
    for line in session.scalars(select(cs.SubscriberLine).order_by(cs.SubscriberLine.id)):
        status = rng.choices(list(STATUS_MIX), weights=list(STATUS_MIX.values()))[0]
        if line.tier not in first_of_tier:
            first_of_tier.add(line.tier)
            status = "normal"
        line.status, line.pin_hash = status, pin
        line.product = rng.choice(["4G畅享套餐", "5G尊享套餐", "宽带融合套餐"])
        line.region = "GZ"
        line.balance_fen = rng.randint(-5000, 30000) if status != "arrears" else -rng.randint(100, 9000)
        line.balance_at = now
        for i, period in enumerate(months):
            year, month = map(int, period.split("-"))
            fee, calls, data = 5800, rng.randint(0, 3000), rng.randint(0, 2000)
            bill = cs.Bill(line_id=line.id, period=period, amount_fen=fee + calls + data,
                           due_date=dt.date(year + month // 12, month % 12 + 1, 15),
                           paid=i < len(months) - 1)
            session.add(bill)
            session.flush()
            session.add_all([
                cs.BillItem(bill_id=bill.id, item_no=1, category="月租", description="套餐月费", amount_fen=fee),
                cs.BillItem(bill_id=bill.id, item_no=2, category="通话", description="语音通话费", amount_fen=calls),
                cs.BillItem(bill_id=bill.id, item_no=3, category="流量", description="超出流量费", amount_fen=data),
                cs.CallSummary(line_id=line.id, period=period, category="local", calls=rng.randint(10, 200),
                               minutes=rng.randint(20, 900), amount_fen=calls)])
            if bill.paid:
                session.add(cs.Payment(payment_key=f"DEMO-{line.number}-{period}", line_id=line.id,
                                       amount_fen=bill.amount_fen, channel=rng.choice(["微信", "支付宝", "营业厅"]),
                                       paid_at=dt.datetime(year, month, 20, 2, 0, tzinfo=dt.timezone.utc)))
        if status != "normal":
            session.add(cs.StatusChange(change_key=f"DEMO-{line.number}", line_id=line.id,
                                        old_status="normal", new_status=status, reason="演示数据",
                                        source="billing", changed_at=now))


def drop_sample_batch(config: dict, numbers: dict[str, list[str]]) -> None:
    """A small LINE update in the drop directory, so the watcher visibly applies it (once)."""
    from cti.customers.watcher import layout

    drop = config["customers"]["drop_dir"]
    if not drop:
        return
    incoming, done, _ = layout(Path(drop))
    incoming.mkdir(parents=True, exist_ok=True)
    name = "PAYMENT_GZ_20261203_000001.txt"
    if (done / name).exists() or (incoming / name).exists():
        return
    phones = [n for tier in numbers.values() for n in tier][:3]
    rows = [f"A|DEMO-BATCH-{i}|{phone}|5000|20261203100000|营业厅" for i, phone in enumerate(phones)]
    (incoming / name).write_text(f"HDR|PAYMENT|BOSS-DEMO|1|20261203100000|{len(rows)}|UTF-8\n"
                                 + "".join(r + "\n" for r in rows), encoding="utf-8")


class Demo:
    def __init__(self, config: dict, reactor, *, summary_every: float = 2.0, out=sys.stdout):
        self.reactor = reactor
        self.out = out
        sim = config["pbxsim"]
        rng = random.Random(sim["seed"])
        if not config["customers"]["drop_dir"]:     # the watcher applies the sample batch
            config["customers"]["drop_dir"] = str(data_directory(config) / "customer-drop")
        db = app.open_database(config, reactor)
        numbers = seed(db, sim["agents"], rng)
        drop_sample_batch(config, numbers)
        agents = db.run_blocking(list_agents)
        db.engine.dispose()
        # The simulated PBX runs in this process: the calls of the previous run ended with it.
        # Carried over, they would be recorded again as ended "while ctid was down".
        if journal.discard(data_directory(config) / journal.JOURNAL_FILE):
            log.info("demo: the previous run's simulated calls ended with it: not carried over")
        self.daemon = app.build(config, reactor)
        self.phones = Phones.of({
            a.endpoint.split("/", 1)[1]: PhoneScript(ring_delay=2.0, talk_time=sim["talk_seconds"],
                                                     jitter=0.5)
            for a in agents})
        dialplan = Dialplan.from_files([DIALPLAN])
        # ctid's prompts: the files scripts/make-prompts synthesised into var/sounds, if any
        self.pbx = PBX(dialplan, reactor=reactor, phones=self.phones, seed=sim["seed"],
                       sounds=shipped_sounds(data_directory(config) / "sounds"),
                       agi_hosts={"127.0.0.1:4573": ("127.0.0.1", config["fastagi"]["port"])})
        accounts = parse_manager_conf(manager_conf(config["ami"]["username"], config["ami"]["secret"]))
        self.ami_server = AMIServerFactory(accounts, self.pbx, reactor)
        rate = sim["calls_per_hour"] / 3600.0
        # Callers walk the IVR: most standard callers finish in self-service (bill inquiry,
        # emergency suspension, voice message), some ask for an agent or hang up mid-menu;
        # VIP callers mostly go straight to their dedicated agents.
        tiers = self.daemon.ivr.book
        self.callers = CallerArrivals(self.pbx, [
            Tier(rate * share, numbers.get(tier) or [f"139{rng.randrange(10**8):08d}"],
                 V.CTX_INBOUND, "10010",     # patience counts once they wait for an agent
                 journeys=hotline_mix(vip=tiers.flow_for_tier(tier) != "standard"))
            for tier, share in TIER_MIX.items()])
        self.service = service.MultiService()
        internet.TCPServer(sim["ami_port"], self.ami_server, interface="127.0.0.1").setServiceParent(self.service)
        self.daemon.service.setServiceParent(self.service)
        _Hooks(self).setServiceParent(self.service)
        ticker = internet.TimerService(summary_every, self.print_summary)
        ticker.clock = reactor
        ticker.setServiceParent(self.service)
        self._tty = getattr(out, "isatty", lambda: False)()
        self._summary_open = False

    def start_traffic(self) -> None:
        d = self.daemon
        for agent in d.agents.all():
            if agent.state.value == "logged-out":
                d.agents.login(agent.agent_id)
        self.callers.start()
        for line in self.banner():
            self.say(line)

    def banner(self) -> list[str]:
        """Where to look, one short line each (in English, and the first steps in Chinese too):
        only links a browser opens without a token."""
        cfg = self.daemon.config
        port = cfg["api"]["port"]
        first = self.first_agent()
        ctictl = "./scripts/ctictl"
        url = f"http://127.0.0.1:{port}"
        if url != DEFAULT_URL:
            ctictl += f" --url {url}"
        token = data_directory(cfg) / app.TOKEN_FILE
        if token != Path(DEFAULT_TOKEN_FILE):
            ctictl += f" --token-file {token}"
        return [
            f"ctid demo: agent desktop {url}/",
            f"ctid demo:   sign in as agent{first} / demo (a general agent: gets calls soon)",
            f"ctid 演示：坐席页面 {url}/ 账号 agent{first} 密码 demo",
            f"ctid demo: operator CLI  {ctictl} status",
            "ctid demo:   (the JSON API under /api/ needs a token; ctictl sends it)",
            f"ctid 演示：运维命令 {ctictl} status（/api/ 需令牌）",
            f"ctid demo: simulated Asterisk AMI 127.0.0.1:{cfg['pbxsim']['ami_port']}, "
            f"ctid FastAGI 127.0.0.1:{cfg['fastagi']['port']}",
            f"ctid demo: IVR       {ctictl} ivr containment | voicemail list",
            f"ctid demo: customer batches: drop files into {cfg['customers']['drop_dir']}/incoming"
            " (docs/customer-import.md) or ./scripts/ctictl import FILE",
            f"ctid demo: queue_log {cfg['queue_log']['file']}",
            f"ctid demo: database  {cfg['database']['url']}",
        ]

    def first_agent(self) -> str:
        """The account to suggest: a general agent (VIP-dedicated ones wait for VIP callers)."""
        agents = sorted(self.daemon.agents.all(), key=lambda a: a.agent_id)
        general = [a for a in agents if a.group != "vip"]
        return (general or agents)[0].agent_id if agents else "1001"

    def say(self, line: str) -> None:
        """A line of its own, even while the live summary is being redrawn in place."""
        if self._summary_open:
            self.out.write("\n")
            self._summary_open = False
        print(line, file=self.out)
        self.out.flush()

    def summary(self) -> str:
        d = self.daemon
        states: dict[str, int] = {}
        for a in d.agents.all():
            states[a.state.value] = states.get(a.state.value, 0) + 1
        waiting = sum(1 for c in d.tracker.calls() if c.state.value == "queued")
        placed = len(self.callers.calls)
        abandoned = sum(1 for c in self.callers.calls if c.abandoned)
        ivr = self.callers.outcomes().get("self-service", 0)
        line = (f"calls {placed:4d} ivr {ivr:3d} wait {waiting:3d} gone {abandoned:3d} "
                f"rdy {states.get('ready', 0):2d} busy {states.get('busy', 0):2d} "
                f"acw {states.get('after-call-work', 0):2d} away {states.get('not-ready', 0):2d}"
                f" | ami {'ok' if d.ami.connected else 'down'}")
        if d.outbox.backlog:
            line += f" db {d.outbox.backlog}"
        return line[:SUMMARY_WIDTH - 1]         # a full-width line wraps on many terminals

    def print_summary(self) -> None:
        line = self.summary()
        if self._tty:
            self.out.write("\r" + line + "\x1b[K")   # redraw in place, clear what is left
            self._summary_open = True
            self.out.flush()
        else:
            print(line, file=self.out)


class _Hooks(service.Service):
    """Starts the traffic once ctid is connected and resynchronised."""

    def __init__(self, demo: Demo):
        self.demo = demo

    def startService(self):
        super().startService()
        d = self.demo.daemon.ami.when_ready()
        d.addCallback(lambda _: self.demo.start_traffic())
        d.addErrback(lambda f: print(f"ctid demo: AMI not ready: {f.getErrorMessage()}",
                                     file=self.demo.out))

    def stopService(self):
        self.demo.callers.stop()
        return super().stopService()
