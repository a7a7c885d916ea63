"""Checks of our Asterisk configuration (``asterisk_conf/``, ``dialplan/``) against Asterisk 22.

Parsing is Asterisk's config syntax as :class:`cti.pbxsim.dialplan.config.ConfigReader` and
the simulator's dialplan builder read it (sections, ``(!)`` templates, ``(tmpl)``, ``=>``,
``same =>``, ``#include``, comments). What is checked, each function returning a list of
problems (``file:line: what``), empty when all is well:

* :func:`target_problems` — every context, extension and priority label that ``Goto``,
  ``GotoIf``, ``Gosub``, ``GosubIf``, ``Dial``'s ``U()``/``F()`` options and ``include =>``
  name exists (targets built from ``${...}`` are left alone);
* :func:`application_problems` — every application exists in Asterisk 22
  (``asterisk22/applications.txt``, with its module) and that module is loaded by our
  ``modules.conf``;
* :func:`sound_problems` — every sound file ``Playback``/``Background``/``Read``/
  ``ControlPlayback`` names is a prompt of the catalogue or one of Asterisk's core sounds;
* :func:`variable_problems` — every channel variable ctid reads (``cti/domain/channel_vars.py``)
  is set by the dialplan (``Set``) or by ctid (``SET VARIABLE`` over AGI, ``Setvar`` over AMI);
* :func:`option_problems` — every option of ``chan_dahdi.conf``, ``pjsip.conf`` (by object
  type) and ``manager.conf`` is one Asterisk knows, and the enumerated ones have a known value.
"""
from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path
from typing import Iterable

from cti.pbxsim.dialplan import Dialplan, split_args
from cti.pbxsim.dialplan.args import parse_goto
from cti.pbxsim.dialplan.config import Category, ConfigReader

ROOT = Path(__file__).resolve().parents[2]
DATA = Path(__file__).resolve().parent / "asterisk22"
CONF_DIR = ROOT / "asterisk_conf"
DIALPLAN_DIR = ROOT / "dialplan"
from cti.pbxsim.prompts import DEFAULT_CATALOGUES as CATALOGUES  # noqa: E402
#: where extensions.conf's ``#include "ctid/..."`` finds our files in the repository
INCLUDE_DIRS = {"ctid": DIALPLAN_DIR}


def _data(name: str) -> list[list[str]]:
    rows = []
    for line in (DATA / name).read_text(encoding="utf-8").splitlines():
        if line.strip() and not line.startswith("#"):
            rows.append(line.split())
    return rows


def asterisk_applications() -> dict[str, str]:
    """Application (lower case) -> the module it comes from (``core`` if built in)."""
    return {row[0].lower(): row[1] for row in _data("applications.txt")}


def core_sounds() -> set[str]:
    return {row[0] for row in _data("core-sounds.txt")}


# -- reading files ----------------------------------------------------------------------------
def read_config(path: Path) -> list[Category]:
    """The categories of one config file, includes followed, templates applied."""
    def load(target: str, including: str, required: bool):
        base = Path(including).parent
        head, _, rest = target.partition("/")
        candidates = [INCLUDE_DIRS[head] / rest] if head in INCLUDE_DIRS else []
        candidates += sorted(base.glob(target)) if any(c in target for c in "*?[") else [base / target]
        found = [p for p in candidates if p.is_file()]
        if not found:
            if required:
                from cti.pbxsim.dialplan.errors import DialplanIncludeError
                raise DialplanIncludeError(f"#include {target}: no such file")
            return []
        return [(p.read_text(encoding="utf-8"), str(p)) for p in found[:1]]
    reader = ConfigReader(load)
    reader.read(path.read_text(encoding="utf-8"), str(path))
    return reader.categories


def steps(dialplan: Dialplan):
    for context in dialplan.contexts.values():
        for ext in context.extensions:
            for step in sorted(ext.steps.values(), key=lambda s: s.priority):
                yield context, ext, step


# -- targets ----------------------------------------------------------------------------------
def _dial_targets(data: str) -> list[tuple[str, str]]:
    """``(kind, target)`` of Dial's ``U(context^args)`` and ``F(context^exten^priority)``."""
    args = split_args(data)
    options = args[2] if len(args) > 2 else ""
    found = []
    for letter, body in re.findall(r"([UF])\(([^()]*)\)", options):
        parts = body.split("^")
        if letter == "U":
            found.append(("gosub", f"{parts[0]},s,1"))
        elif len(parts) >= 3:
            found.append(("goto", ",".join(parts[:3])))
        elif len(parts) == 1 and parts[0]:
            found.append(("goto", parts[0]))
    return found


def _gosub_target(data: str) -> str:
    """``Gosub(context,exten,priority(arg1,...))`` without the arguments."""
    return re.sub(r"\(.*\)\s*$", "", data.strip())


def _targets(step) -> list[str]:
    app, data = step.app.lower(), step.data or ""
    if app == "goto":
        return [data]
    if app == "gotoif":
        _, _, branches = data.partition("?")
        return [b for b in branches.split(":", 1) if b.strip()]
    if app == "gosub":
        return [_gosub_target(data)]
    if app == "gosubif":
        _, _, branches = data.partition("?")
        return [_gosub_target(b) for b in branches.split(":", 1) if b.strip()]
    if app == "dial":
        return [t for _, t in _dial_targets(data)]
    return []


def target_problems(dialplan: Dialplan) -> list[str]:
    problems = []
    for context, ext, step in steps(dialplan):
        for target in _targets(step):
            if "$" in target:
                continue
            where = parse_goto(target.split(","), (context.name, ext.name))
            to_context, to_exten, priority = where
            if isinstance(priority, str) and priority[:1] in "+-":
                continue
            if to_context not in dialplan.contexts:
                problems.append(f"{step.source}: {step.app}({step.data}): no context '{to_context}'")
                continue
            if isinstance(priority, int):
                ok = dialplan.find(to_context, to_exten, priority) is not None
            else:
                ok = dialplan.label_priority(to_context, to_exten, priority) is not None
            if not ok:
                problems.append(f"{step.source}: {step.app}({step.data}): "
                                f"no {to_context},{to_exten},{priority}")
    for context in dialplan.contexts.values():
        for included in context.includes:
            name = included.split(",", 1)[0].strip()
            if name not in dialplan.contexts:
                problems.append(f"{context.source}: [{context.name}] includes unknown context '{name}'")
    return problems


# -- applications and modules -----------------------------------------------------------------
@dataclass
class Modules:
    autoload: bool
    loaded: set[str]
    noload: set[str]

    def loads(self, module: str) -> bool:
        if module == "core":
            return True
        if module in self.noload:
            return False
        return self.autoload or module in self.loaded


def read_modules(path: Path) -> Modules:
    autoload, loaded, noload = False, set(), set()
    for category in read_config(path):
        for d in category.directives:
            key = d.key.lower()
            if key == "autoload":
                autoload = d.value.lower() in ("yes", "true", "1")
            elif key in ("load", "preload", "require", "preload-require"):
                loaded.add(d.value)
            elif key == "noload":
                noload.add(d.value)
    return Modules(autoload, loaded, noload)


def application_problems(dialplan: Dialplan, modules: Modules) -> list[str]:
    known = asterisk_applications()
    problems = []
    for _, _, step in steps(dialplan):
        module = known.get(step.app.lower())
        if module is None:
            problems.append(f"{step.source}: no application '{step.app}' in Asterisk 22")
        elif not modules.loads(module):
            problems.append(f"{step.source}: {step.app} needs {module}, which modules.conf does not load")
    return problems


# -- sounds ------------------------------------------------------------------------------------
_SOUND_ARGS = {"playback": 0, "background": 0, "read": 1, "controlplayback": 0}


def sound_names(dialplan: Dialplan):
    for _, _, step in steps(dialplan):
        index = _SOUND_ARGS.get(step.app.lower())
        if index is None:
            continue
        args = split_args(step.data or "")
        if len(args) <= index:
            continue
        for name in args[index].split("&"):
            name = name.strip()
            if name and "$" not in name and not name.startswith("/"):
                yield step, name


def sound_problems(dialplan: Dialplan, prompts: set[str], core: set[str]) -> list[str]:
    return [f"{step.source}: {step.app} plays '{name}': neither a prompt of the catalogue nor "
            f"an Asterisk core sound"
            for step, name in sound_names(dialplan) if name not in prompts and name not in core]


# -- channel variables -------------------------------------------------------------------------
_NAME = re.compile(r"^[A-Z][A-Z0-9_]*$")
_SETTERS = re.compile(r"set_variable\(|\"Setvar\"|SET VARIABLE")


def variables_ctid_reads(module) -> dict[str, str]:
    """Constant name -> channel variable name, for the variable names of ``channel_vars``."""
    return {attr: value for attr, value in vars(module).items()
            if attr.isupper() and isinstance(value, str) and _NAME.match(value)}


def dialplan_sets(dialplan: Dialplan) -> set[str]:
    names = set()
    for _, _, step in steps(dialplan):
        if step.app.lower() == "set":
            name = (step.data or "").partition("=")[0].strip().lstrip("_")
            names.add(name)
        elif step.app.lower() == "read":
            names.add(split_args(step.data or "")[0].strip().lstrip("_"))
    return names


def code_sets(code_root: Path, constants: dict[str, str], skip: Iterable[Path] = ()) -> set[str]:
    """Variables ctid's code sets: the constant is used within 10 lines of an AGI
    ``SET VARIABLE`` (``set_variable(``) or an AMI ``Setvar``."""
    skipped = [p.resolve() for p in skip]
    found = set()
    for path in code_root.rglob("*.py"):
        if any(path.resolve().is_relative_to(s) for s in skipped):
            continue
        lines = path.read_text(encoding="utf-8").splitlines()
        setter_lines = [i for i, line in enumerate(lines) if _SETTERS.search(line)]
        if not setter_lines:
            continue
        for attr, name in constants.items():
            pattern = re.compile(rf"\b(?:V|channel_vars)\.{attr}\b|[\"']{re.escape(name)}[\"']")
            for i, line in enumerate(lines):
                if pattern.search(line) and any(abs(i - s) <= 10 for s in setter_lines):
                    found.add(name)
                    break
    return found


def variable_problems(reads: dict[str, str], set_by_dialplan: set[str], set_by_code: set[str]) -> list[str]:
    return [f"channel variable {name} ({attr}) is read by ctid but set nowhere"
            for attr, name in sorted(reads.items())
            if name not in set_by_dialplan and name not in set_by_code]


# -- options -----------------------------------------------------------------------------------
#: allowed values of the enumerated chan_dahdi options we use
DAHDI_VALUES = {
    "signalling": {"pri_cpe", "pri_net", "ss7", "mfcr2", "bri_cpe", "bri_net", "bri_cpe_ptmp",
                   "bri_net_ptmp", "em", "em_e1", "em_w", "fxs_ls", "fxs_gs", "fxs_ks", "fxo_ls",
                   "fxo_gs", "fxo_ks", "featd", "featdmf", "featb", "sf", "auto"},
    "switchtype": {"national", "ni1", "dms100", "4ess", "5ess", "euroisdn", "qsig"},
    "ss7type": {"itu", "ansi"},
    "networkindicator": {"national", "national_spare", "international", "international_spare"},
    "mfcr2_variant": {"ar", "br", "cn", "cz", "co", "ec", "itu", "mx", "ph", "ve"},
    "mfcr2_category": {"national_subscriber", "national_priority_subscriber",
                       "international_subscriber", "international_priority_subscriber",
                       "collect_call"},
    "ss7_called_nai": {"unknown", "subscriber", "national", "international", "dynamic"},
    "ss7_calling_nai": {"unknown", "subscriber", "national", "international", "dynamic"},
}


def option_problems(path: Path) -> list[str]:
    name = path.name
    categories = read_config(path)
    problems = []
    if name == "chan_dahdi.conf":
        known = {row[0] for row in _data("chan_dahdi.txt")}
        for category in categories:
            for d in category.directives:
                key = d.key.lower()
                if key not in known:
                    problems.append(f"{d.source}: chan_dahdi has no option '{d.key}'")
                elif key in DAHDI_VALUES and d.value.lower() not in DAHDI_VALUES[key]:
                    problems.append(f"{d.source}: {d.key} = {d.value}: not a value chan_dahdi takes")
    elif name == "pjsip.conf":
        known: dict[str, set[str]] = {}
        for kind, option in _data("pjsip.txt"):
            known.setdefault(kind, set()).add(option)
        for category in categories:
            kinds = [d.value for d in category.directives if d.key == "type"]
            if not kinds:
                problems.append(f"{category.source}: [{category.name}] has no type")
                continue
            kind = kinds[-1]
            for d in category.directives:
                if kind not in known:
                    problems.append(f"{d.source}: unknown pjsip object type '{kind}'")
                    break
                if d.key not in known[kind]:
                    problems.append(f"{d.source}: a pjsip {kind} has no option '{d.key}'")
    elif name == "manager.conf":
        known_rows = _data("manager.txt")
        general = {o for k, o in known_rows if k == "general"}
        user = {o for k, o in known_rows if k == "user"}
        for category in categories:
            allowed = general if category.name.lower() == "general" else user
            for d in category.directives:
                if d.key.lower() not in allowed and not d.key.lower().startswith("eventfilter("):
                    problems.append(f"{d.source}: manager.conf [{category.name}] has no option '{d.key}'")
    return problems
