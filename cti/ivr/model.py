"""IVR flows and the prompt catalogue as data: their format, parsing and validation. Pure rules.

A flow is one YAML file (its name is the file's stem)::

    start: welcome
    nodes:
      welcome: {kind: play, prompt: cti/welcome, next: main}
      main:
        kind: menu
        prompt: cti/menu/main
        keys: {"1": bill, "9": agent}
        default: agent                # after ``tries`` timeouts or invalid keys
      bill: {kind: action, action: bill-inquiry, next: bye, outcomes: {no-account: agent}}
      agent: {kind: transfer, skill: billing}
      bye: {kind: hangup, prompt: cti/goodbye}

The node kinds and their fields are in :data:`FIELDS`. A flow is refused — with the file and
the line of the fault — for a bad kind or field, a node that does not exist, a node no path
reaches, a node from which no path reaches a transfer or a hang-up (a loop with no exit), a key
mapped twice (also the agent key, which every menu already has), or a prompt that no language of
the catalogue provides. Prompt names are those of Asterisk sound files (``cti/menu/main``); the
caller's language picks the file (``CHANNEL(language)``).
"""
from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any, Iterable, Mapping

import yaml

LANGUAGES = ("zh", "en")
KINDS = ("menu", "play", "collect", "say", "action", "branch", "transfer", "hangup")
TERMINAL = ("transfer", "hangup")
SAY_AS = ("amount", "number", "digits", "date")
BRANCH_BY = ("status", "tier", "known", "language")   # "known": cases known / unknown
DIGITS = "0123456789*#"
MAX_RECORD_SECONDS = 300       # a voice message's longest (well inside an AGI command's timeout)

#: Self-service actions: the outcomes each may end with (any outcome not mapped under
#: ``outcomes`` goes to ``next``) and the prompts each plays (checked against the catalogue).
ACTIONS: dict[str, dict[str, tuple[str, ...]]] = {
    "bill-inquiry": {
        "outcomes": ("done", "no-account", "failed"),
        "prompts": ("cti/bill/balance", "cti/bill/owing", "cti/bill/last-bill", "cti/bill/due",
                    "cti/bill/last-payment", "cti/bill/no-account", "cti/yuan", "cti/jiao",
                    "cti/fen", "cti/sorry-failed"),
    },
    "suspend-line": {
        "outcomes": ("done", "pin-failed", "no-account", "failed"),
        "prompts": ("cti/emergency/enter-pin", "cti/emergency/wrong-pin",
                    "cti/emergency/suspended", "cti/emergency/no-account", "cti/sorry-failed"),
    },
    "voice-message": {
        "outcomes": ("done", "empty"),
        "prompts": ("cti/complaint/leave-message", "cti/complaint/thanks"),
    },
    "greet-by-name": {"outcomes": ("named", "tier"), "prompts": ()},
    "verify-pin": {
        "outcomes": ("done", "pin-failed", "no-account", "failed"),
        "prompts": ("cti/emergency/enter-pin", "cti/emergency/wrong-pin", "cti/verify/verified",
                    "cti/verify/no-account", "cti/sorry-failed"),
    },
}

# field: (type, required). ``next``-like fields name nodes.
_COMMON = {"kind": (str, True), "note": (str, False)}
FIELDS: dict[str, dict[str, tuple[type | tuple[type, ...], bool]]] = {
    "menu": {"prompt": (str, True), "keys": (dict, True), "default": (str, True),
             "tries": (int, False), "timeout_ms": (int, False), "timeout_prompt": (str, False),
             "invalid_prompt": (str, False)},
    "play": {"prompt": (str, True), "next": (str, True)},
    "collect": {"prompt": (str, True), "store": (str, True), "next": (str, True),
                "default": (str, True), "min_length": (int, False), "max_length": (int, True),
                "terminator": (str, False), "pattern": (str, False), "tries": (int, False),
                "timeout_ms": (int, False), "invalid_prompt": (str, False)},
    "say": {"as": (str, True), "value": (str, True), "prompt": (str, False),
            "next": (str, True)},
    "action": {"action": (str, True), "next": (str, True), "outcomes": (dict, False),
               "tries": (int, False), "max_seconds": (int, False),
               "silence_seconds": (int, False), "prompt": (str, False),
               "tier_prompts": (dict, False)},
    "branch": {"by": (str, True), "cases": (dict, True), "default": (str, True)},
    "transfer": {"skill": (str, False), "dedicated": (bool, False), "prompt": (str, False)},
    "hangup": {"prompt": (str, False)},
}
NODE_REF_FIELDS = ("next", "default")
TYPE_NAMES = {str: "text", dict: "a mapping", int: "a whole number", bool: "true or false"}


class FlowError(Exception):
    """One fault in a flow or catalogue file, with where it is."""

    def __init__(self, path: str, line: int, message: str):
        super().__init__(f"{path}:{line}: {message}")
        self.path, self.line, self.message = path, line, message


class FlowErrors(Exception):
    """Every fault found in a set of files; ``str`` is the first, then how many more."""

    def __init__(self, errors: list[FlowError]):
        self.errors = errors
        more = f" (and {len(errors) - 1} more)" if len(errors) > 1 else ""
        super().__init__(f"{errors[0]}{more}")


class Marked(dict):
    """A YAML mapping that remembers its line and the line of each of its values."""

    line: int = 0
    lines: dict


class _Loader(yaml.SafeLoader):
    """Safe YAML that keeps line numbers and refuses a key given twice in one mapping."""

    path = "<flow>"

    def construct_mapping(self, node, deep=False):
        out = Marked()
        out.line = node.start_mark.line + 1
        out.lines = {}
        for key_node, value_node in node.value:
            key = self.construct_object(key_node, deep=True)
            key = str(key) if isinstance(key, (int, float)) and not isinstance(key, bool) else key
            if not isinstance(key, str):
                raise FlowError(self.path, key_node.start_mark.line + 1,
                                f"a key must be text, got {key!r}")
            if key in out:
                raise FlowError(self.path, key_node.start_mark.line + 1,
                                f"key {key!r} mapped twice (first on line {out.lines[key]})")
            out[key] = self.construct_object(value_node, deep=True)
            out.lines[key] = key_node.start_mark.line + 1
        return out


_Loader.add_constructor(yaml.resolver.BaseResolver.DEFAULT_MAPPING_TAG, _Loader.construct_mapping)


def read_yaml(text: str, path: str) -> Any:
    loader = _Loader(text)
    loader.path = path
    try:
        return loader.get_single_data()
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        raise FlowError(path, (mark.line + 1) if mark else 1,
                        f"not valid YAML: {exc.problem or exc.context}") from None
    except yaml.YAMLError as exc:
        raise FlowError(path, 1, f"not valid YAML: {exc}") from None
    finally:
        loader.dispose()


# -- the prompt catalogue ---------------------------------------------------------------------
@dataclass(frozen=True)
class PromptCatalogue:
    """Every prompt with its text in each language (what a studio records, what validation
    checks): ``{name: {"zh": text, "en": text}}``."""

    texts: Mapping[str, Mapping[str, str]]

    def provides(self, name: str) -> bool:
        return any((self.texts.get(name) or {}).get(lang) for lang in LANGUAGES)

    def text(self, name: str, language: str) -> str | None:
        return (self.texts.get(name) or {}).get(language)


def parse_catalogue(text: str, path: str) -> PromptCatalogue:
    data = read_yaml(text, path)
    if not isinstance(data, Marked) or not isinstance(data.get("prompts"), Marked):
        raise FlowErrors([FlowError(path, getattr(data, "line", 1),
                                    "the catalogue must be a mapping with 'prompts:'")])
    errors: list[FlowError] = []
    prompts = data["prompts"]
    texts: dict[str, dict[str, str]] = {}
    for name, langs in prompts.items():
        line = prompts.lines[name]
        if not isinstance(langs, Marked):
            errors.append(FlowError(path, line, f"prompt {name!r}: expected {{zh: ..., en: ...}}"))
            continue
        unknown = set(langs) - set(LANGUAGES)
        if unknown:
            errors.append(FlowError(path, line, f"prompt {name!r}: unknown language "
                                                f"{sorted(unknown)[0]!r} (languages: zh, en)"))
        texts[name] = {k: str(v) for k, v in langs.items() if k in LANGUAGES and v}
    if errors:
        raise FlowErrors(errors)
    return PromptCatalogue(texts)


# -- flows --------------------------------------------------------------------------------------
@dataclass(frozen=True)
class Node:
    name: str
    kind: str
    line: int
    spec: Mapping[str, Any] = field(default_factory=dict)     # the validated fields

    def get(self, key: str, default: Any = None) -> Any:
        return self.spec.get(key, default)

    def successors(self) -> list[str]:
        out = [self.spec[f] for f in NODE_REF_FIELDS if f in self.spec]
        for table in ("keys", "outcomes", "cases"):
            out.extend((self.spec.get(table) or {}).values())
        return out


@dataclass(frozen=True)
class Flow:
    name: str
    path: str
    start: str
    nodes: Mapping[str, Node]

    def node(self, name: str) -> Node:
        return self.nodes[name]


def parse_flow(text: str, path: str, name: str, catalogue: PromptCatalogue, *,
               agent_key: str = "0") -> Flow:
    """The flow in ``text`` (file ``path``), or :class:`FlowErrors` listing every fault."""
    try:
        data = read_yaml(text, path)
    except FlowError as exc:
        raise FlowErrors([exc]) from None
    errors: list[FlowError] = []
    if not isinstance(data, Marked):
        raise FlowErrors([FlowError(path, 1, "a flow must be a mapping with 'start:' and 'nodes:'")])
    for key in data:
        if key not in ("start", "nodes", "description"):
            errors.append(FlowError(path, data.lines[key], f"unknown top-level field {key!r} "
                                    "(fields: start, nodes, description)"))
    raw_nodes = data.get("nodes")
    if not isinstance(raw_nodes, Marked) or not raw_nodes:
        errors.append(FlowError(path, data.lines.get("nodes", data.line),
                                "'nodes:' must be a mapping of node names to nodes"))
        raise FlowErrors(errors)
    start = data.get("start")
    nodes: dict[str, Node] = {}
    for node_name, raw in raw_nodes.items():
        node = _parse_node(node_name, raw, raw_nodes.lines[node_name], path, catalogue,
                           agent_key, errors)
        if node is not None:
            nodes[node_name] = node
    if not isinstance(start, str) or start not in raw_nodes:
        errors.append(FlowError(path, data.lines.get("start", data.line),
                                f"'start:' must name a node of this flow, got {start!r}"))
    else:
        _check_graph(path, start, nodes, raw_nodes, errors)
    if errors:
        raise FlowErrors(sorted(errors, key=lambda e: e.line))
    return Flow(name, path, start, nodes)


def _parse_node(name: str, raw: Any, line: int, path: str, catalogue: PromptCatalogue,
                agent_key: str, errors: list[FlowError]) -> Node | None:
    if not isinstance(raw, Marked):
        errors.append(FlowError(path, line, f"node {name!r} must be a mapping with 'kind:'"))
        return None
    kind = raw.get("kind")
    if kind not in KINDS:
        errors.append(FlowError(path, raw.lines.get("kind", line),
                                f"node {name!r}: kind {kind!r} is not one of {', '.join(KINDS)}"))
        return None
    allowed = {**_COMMON, **FIELDS[kind]}
    before = len(errors)
    for key, value in raw.items():
        where = raw.lines[key]
        if key not in allowed:
            errors.append(FlowError(path, where, f"node {name!r}: unknown field {key!r} for a "
                                    f"{kind} node (fields: {', '.join(sorted(FIELDS[kind]))})"))
            continue
        want = allowed[key][0]
        if not isinstance(value, want) or (want is int and isinstance(value, bool)):
            errors.append(FlowError(path, where, f"node {name!r}: {key!r} must be "
                                    f"{TYPE_NAMES[want]}, got {value!r}"))
    for key, (_, required) in FIELDS[kind].items():
        if required and key not in raw:
            errors.append(FlowError(path, line, f"node {name!r}: a {kind} node needs {key!r}"))
    if len(errors) > before:
        return None
    spec = {k: v for k, v in raw.items() if k not in ("kind", "note")}
    here = _NodeCheck(name, raw, path, errors)
    for key in ("prompt", "timeout_prompt", "invalid_prompt"):
        if key in spec:
            here.prompt(spec[key], catalogue, raw.lines[key])
    for key in ("tries", "timeout_ms", "max_length", "min_length", "max_seconds",
                "silence_seconds"):
        if key in spec and spec[key] < (0 if key == "min_length" else 1):
            errors.append(FlowError(path, raw.lines[key], f"node {name!r}: {key!r} must be "
                                    f"{'0' if key == 'min_length' else '1'} or more"))
    if kind == "menu":
        spec["keys"] = here.keys(spec["keys"], agent_key)
    elif kind == "collect":
        here.collect(spec)
    elif kind == "say" and spec["as"] not in SAY_AS:
        errors.append(FlowError(path, raw.lines["as"], f"node {name!r}: 'as' must be one of "
                                f"{', '.join(SAY_AS)}, got {spec['as']!r}"))
    elif kind == "action":
        here.action(spec, catalogue)
    elif kind == "branch":
        if spec["by"] not in BRANCH_BY:
            errors.append(FlowError(path, raw.lines["by"], f"node {name!r}: 'by' must be one "
                                    f"of {', '.join(BRANCH_BY)}, got {spec['by']!r}"))
        spec["cases"] = {str(k).lower(): str(v) for k, v in spec["cases"].items()}
    elif kind == "transfer" and "skill" in spec and spec.get("dedicated"):
        errors.append(FlowError(path, line, f"node {name!r}: give 'skill' or 'dedicated: true', "
                                "not both"))
    return Node(name, kind, line, spec) if len(errors) == before else None


@dataclass
class _NodeCheck:
    name: str
    raw: Marked
    path: str
    errors: list[FlowError]

    def fail(self, line: int, message: str) -> None:
        self.errors.append(FlowError(self.path, line, f"node {self.name!r}: {message}"))

    def prompt(self, prompt: str, catalogue: PromptCatalogue, line: int) -> None:
        if not catalogue.provides(prompt):
            self.fail(line, f"prompt {prompt!r} is provided by no language of the prompt "
                            "catalogue")

    def keys(self, keys: Marked, agent_key: str) -> dict[str, str]:
        out: dict[str, str] = {}
        for key, target in keys.items():
            line = keys.lines[key]
            if len(key) != 1 or key not in DIGITS:
                self.fail(line, f"key {key!r} is not one phone key (0-9, * or #)")
            elif key == agent_key:
                self.fail(line, f"key {key!r} mapped twice: it is already the agent key "
                                "(自动转人工, ivr.agent_key) in every menu")
            elif not isinstance(target, str):
                self.fail(line, f"key {key!r} must lead to a node name")
            else:
                out[key] = target
        return out

    def collect(self, spec: dict) -> None:
        lines = self.raw.lines
        if spec.get("min_length", 1) > spec["max_length"]:
            self.fail(lines["max_length"], "'max_length' is less than 'min_length'")
        if spec.get("terminator", "#") != "#":
            self.fail(lines["terminator"], f"terminator {spec['terminator']!r}: Asterisk's "
                                           "GET DATA ends input on '#' only")
        if "pattern" in spec:
            try:
                re.compile(spec["pattern"])
            except re.error as exc:
                self.fail(lines["pattern"], f"pattern {spec['pattern']!r} is not a regular "
                                            f"expression: {exc}")

    def action(self, spec: dict, catalogue: PromptCatalogue) -> None:
        lines = self.raw.lines
        action = spec["action"]
        if action not in ACTIONS:
            self.fail(lines["action"], f"action {action!r} is not one of "
                                       f"{', '.join(ACTIONS)}")
            return
        for prompt in ACTIONS[action]["prompts"]:
            if not catalogue.provides(prompt):
                self.fail(lines["action"], f"action {action!r} plays {prompt!r}, which no "
                                           "language of the prompt catalogue provides")
        if spec.get("max_seconds", 0) > MAX_RECORD_SECONDS:
            self.fail(lines["max_seconds"], f"'max_seconds' must be at most {MAX_RECORD_SECONDS}")
        outcomes = spec.get("outcomes") or Marked()
        for outcome, target in outcomes.items():
            if outcome not in ACTIONS[action]["outcomes"]:
                self.fail(outcomes.lines[outcome], f"action {action!r} has no outcome "
                          f"{outcome!r} (outcomes: {', '.join(ACTIONS[action]['outcomes'])})")
            elif not isinstance(target, str):
                self.fail(outcomes.lines[outcome], f"outcome {outcome!r} must lead to a node")
        tier_prompts = spec.get("tier_prompts") or Marked()
        for tier, prompt in tier_prompts.items():
            self.prompt(str(prompt), catalogue, tier_prompts.lines[tier])


def _check_graph(path: str, start: str, nodes: Mapping[str, Node], raw_nodes: Marked,
                 errors: list[FlowError]) -> None:
    for node in nodes.values():
        for target in node.successors():
            if target not in raw_nodes:
                errors.append(FlowError(path, _line_of_ref(node, raw_nodes, target),
                                        f"node {node.name!r} leads to {target!r}, which is no "
                                        "node of this flow"))
    if any(e.message.endswith("no node of this flow") for e in errors):
        return
    reached, todo = {start}, [start]
    while todo:
        node = nodes.get(todo.pop())
        for target in node.successors() if node else ():
            if target not in reached:
                reached.add(target)
                todo.append(target)
    for name, node in nodes.items():
        if name not in reached:
            errors.append(FlowError(path, node.line, f"node {name!r} is unreachable: no path "
                                                     f"from {start!r} leads to it"))
    # Nodes from which a transfer or a hang-up can be reached: the rest loop with no exit.
    exits = {n for n, node in nodes.items() if node.kind in TERMINAL}
    changed = True
    while changed:
        changed = False
        for name, node in nodes.items():
            if name not in exits and any(t in exits for t in node.successors()):
                exits.add(name)
                changed = True
    for name, node in nodes.items():
        if name in reached and name not in exits:
            errors.append(FlowError(path, node.line, f"node {name!r} is in a loop with no exit: "
                                                     "no path from it reaches a transfer or a "
                                                     "hang-up"))


def _line_of_ref(node: Node, raw_nodes: Marked, target: str) -> int:
    raw = raw_nodes[node.name]
    for key in NODE_REF_FIELDS:
        if raw.get(key) == target:
            return raw.lines[key]
    for table in ("keys", "outcomes", "cases"):
        sub = raw.get(table)
        if isinstance(sub, Marked):
            for key, value in sub.items():
                if value == target:
                    return sub.lines[key]
    return node.line


def flows_for_tiers(tier_names: Iterable[str], vip: Iterable[str], chosen: Mapping[str, str],
                    flows: Mapping[str, Flow]) -> dict[str, str]:
    """Which flow each tier hears: ``chosen`` (config ``ivr.flows``), else ``vip`` for VIP
    tiers and ``standard`` for the others. A flow that does not exist is a ValueError."""
    vip = set(vip)
    out = {}
    for tier in tier_names:
        name = chosen.get(tier) or ("vip" if tier in vip else "standard")
        if name not in flows:
            raise ValueError(f"tier {tier!r} is to hear flow {name!r}, which is not loaded "
                             f"(flows: {', '.join(sorted(flows)) or 'none'})")
        out[tier] = name
    for tier in chosen:
        if tier not in out:
            raise ValueError(f"'ivr.flows' names tier {tier!r}, which is not configured")
    return out
