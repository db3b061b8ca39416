"""Reading Istio security objects: the values :mod:`meshops.semantics.authz` evaluates.

The authorization evaluator's first half: AuthorizationPolicies (their rules, from/to
entries and conditions, each value made a pattern ready to match), the issuers of
RequestAuthentications, and what of Services and waypoint Gateways decides where a
policy applies. Objects are checked as they are read: a malformed one raises one
:class:`ValueError` naming the object and the field and quoting the value. Whether a
call is allowed is the evaluator's business, not this module's; the names here are that
module's, not an API.
"""

from __future__ import annotations

import ipaddress
import re
from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from typing import Literal, cast

from meshops.model.selectors import LabelSelector, label_selector

__all__ = [
    "ABSENT",
    "ACTIONS",
    "CLAIM",
    "CLAIM_SEP",
    "REMOTE_IP",
    "REQUEST_PRINCIPAL",
    "SOURCE_IP",
    "Action",
    "AllowedNamespaces",
    "Entry",
    "FieldTest",
    "Gateway",
    "Policy",
    "Rule",
    "Service",
    "as_mapping",
    "as_string",
    "read_gateway",
    "read_issuers",
    "read_labels",
    "read_policy",
    "read_service",
]

Action = Literal["ALLOW", "DENY", "AUDIT", "CUSTOM"]
ACTIONS: tuple[Action, ...] = ("ALLOW", "DENY", "AUDIT", "CUSTOM")


# --- patterns: how one policy value matches one request value --------------------------


@dataclass(frozen=True)
class _Text:
    """One string value of a policy field, ready to match.

    ``kind``: ``exact``, ``prefix`` or ``suffix`` (of ``stem``); ``nonempty`` (``*`` of
    most fields: any value but the empty one); ``present`` (``*`` of a header or host:
    any value, even empty). ``fold``: compared lowercased (hosts).
    """

    kind: Literal["exact", "prefix", "suffix", "nonempty", "present"]
    stem: str = ""
    fold: bool = False

    def matches(self, value: str) -> bool:
        if self.fold:
            value = value.lower()
        match self.kind:
            case "exact":
                return value == self.stem
            case "prefix":
                return value.startswith(self.stem)
            case "suffix":
                return value.endswith(self.stem)
            case "nonempty":
                return value != ""
            case "present":
                return True


@dataclass(frozen=True)
class _Template:
    """A path template (``{*}``, ``{**}``), as the regex it stands for."""

    regex: re.Pattern[str]

    def matches(self, value: str) -> bool:
        return self.regex.fullmatch(value) is not None


@dataclass(frozen=True)
class _Block:
    """An address or CIDR block."""

    network: ipaddress.IPv4Network | ipaddress.IPv6Network

    def matches(self, value: str) -> bool:
        # Python's ipaddress does the CIDR test (an address of the other family is
        # never in the network).
        return ipaddress.ip_address(value) in self.network


_Pattern = _Text | _Template | _Block


def _string_pattern(text: str, *, fold: bool = False, star: bool = False) -> _Text:
    """Istio's string match: ``*abc`` suffix, ``abc*`` prefix, else exact.

    ``*`` alone is any non-empty value, as Istio's regex ``.+``; with ``star`` (headers
    and hosts, where Istio makes it Envoy's presence match) any value at all.
    """
    stem = text.lower() if fold else text
    if stem == "*":
        return _Text("present" if star else "nonempty")
    if stem.startswith("*"):
        return _Text("suffix", stem[1:], fold)
    if stem.endswith("*"):
        return _Text("prefix", stem[:-1], fold)
    return _Text("exact", stem, fold)


_SEGMENT_OPERATORS = {"{*}": "[^/]+", "{**}": ".*"}


def _path_pattern(text: str, where: str) -> _Pattern:
    """A path: a template when it holds ``{*}`` or ``{**}``, else an Istio string match."""
    if "{*}" not in text and "{**}" not in text:
        return _string_pattern(text)
    segments = text.split("/")
    operators = [i for i, s in enumerate(segments) if s in _SEGMENT_OPERATORS]
    for i, segment in enumerate(segments):
        if i not in operators and any(c in segment for c in "*{}"):
            raise ValueError(
                f"{where}: path template {text!r} has '*', '{{' or '}}' outside"
                " a whole-segment {*} or {**}"
            )
    if any(segments[i] == "{**}" for i in operators[:-1]):
        raise ValueError(f"{where}: path template {text!r} has an operator after {{**}}")
    parts = [_SEGMENT_OPERATORS.get(s) or re.escape(s) for s in segments]
    return _Template(re.compile("/".join(parts)))


def _ip_pattern(text: str, where: str) -> _Block:
    """An address or CIDR block, as ``ipBlocks`` and ``source.ip`` take them."""
    try:
        network = ipaddress.ip_network(text, strict=False)
    except ValueError:
        raise ValueError(f"{where}: {text!r} is not an IP address or CIDR block") from None
    return _Block(network)


def _port_pattern(text: str, where: str) -> _Text:
    if not text.isdigit() or int(text) > 65535:
        raise ValueError(f"{where}: port {text!r} must be a string of digits 0-65535")
    return _Text("exact", str(int(text)))


# --- the parsed policies ----------------------------------------------------------------

ABSENT = "absent"  # an attribute no call carries (destination IP, SNI, unknown keys)
SOURCE_IP = "source_ip"
REMOTE_IP = "remote_ip"
REQUEST_PRINCIPAL = "request_principal"
CLAIM = "claim:"  # followed by the claim's path, its names joined by CLAIM_SEP
CLAIM_SEP = "\x00"


@dataclass(frozen=True)
class _FieldSpec:
    """What a policy field reads and who can evaluate it.

    Attributes:
        attribute: The request attribute it reads (what the evaluator's ``_Seen.values`` reads).
        kind: How its values match: ``string``, ``header``, ``host``, ``path``, ``port``,
            ``ip`` or ``service_account``.
        l4: ztunnel can enforce it.
        http_only: Envoy (the waypoint) can evaluate it on HTTP only.
    """

    attribute: str
    kind: Literal["string", "header", "host", "path", "port", "ip", "service_account"]
    l4: bool
    http_only: bool


_SOURCE_FIELDS = {
    "principals": _FieldSpec("principal", "string", l4=True, http_only=False),
    "namespaces": _FieldSpec("namespace", "string", l4=True, http_only=False),
    "serviceAccounts": _FieldSpec("service_account", "service_account", True, False),
    "trustDomains": _FieldSpec("trust_domain", "string", l4=True, http_only=False),
    "ipBlocks": _FieldSpec(SOURCE_IP, "ip", l4=True, http_only=False),
    "remoteIpBlocks": _FieldSpec(REMOTE_IP, "ip", l4=False, http_only=False),
    "requestPrincipals": _FieldSpec(REQUEST_PRINCIPAL, "string", l4=False, http_only=True),
}
_OPERATION_FIELDS = {
    "ports": _FieldSpec("port", "port", l4=True, http_only=False),
    "hosts": _FieldSpec("host", "host", l4=False, http_only=True),
    "methods": _FieldSpec("method", "string", l4=False, http_only=True),
    "paths": _FieldSpec("path", "path", l4=False, http_only=True),
}
_CONDITION_KEYS = {
    "source.principal": _FieldSpec("principal", "string", l4=True, http_only=False),
    "source.namespace": _FieldSpec("namespace", "string", l4=True, http_only=False),
    "source.serviceAccount": _FieldSpec("service_account", "string", False, False),
    "source.ip": _FieldSpec(SOURCE_IP, "ip", l4=True, http_only=False),
    "destination.ip": _FieldSpec(ABSENT, "string", l4=True, http_only=False),
    "destination.port": _FieldSpec("port", "port", l4=True, http_only=False),
    "remote.ip": _FieldSpec(REMOTE_IP, "ip", l4=False, http_only=False),
    "request.auth.principal": _FieldSpec(REQUEST_PRINCIPAL, "string", False, True),
    "request.auth.audiences": _FieldSpec(f"{CLAIM}aud", "string", l4=False, http_only=True),
    "request.auth.presenter": _FieldSpec(f"{CLAIM}azp", "string", l4=False, http_only=True),
    "connection.sni": _FieldSpec(ABSENT, "string", l4=False, http_only=False),
}
_UNKNOWN_CONDITION = _FieldSpec(ABSENT, "string", l4=False, http_only=False)


def _negative(name: str) -> str:
    return "not" + name[0].upper() + name[1:]


@dataclass(frozen=True)
class FieldTest:
    """One field of a from/to entry, or one half of a condition: all its values, ORed."""

    name: str
    spec: _FieldSpec
    patterns: tuple[_Pattern, ...]
    negative: bool


Entry = tuple[FieldTest, ...]  # a source, an operation or a condition: its tests ANDed


@dataclass(frozen=True)
class Rule:
    """One rule of a policy: from AND to AND when."""

    sources: tuple[Entry, ...]  # ORed; none: any source
    operations: tuple[Entry, ...]  # ORed; none: any operation
    conditions: tuple[Entry, ...]  # ANDed

    def tests(self) -> Iterator[FieldTest]:
        """Every test of the rule, sources, operations and conditions alike."""
        for entry in (*self.sources, *self.operations, *self.conditions):
            yield from entry


@dataclass(frozen=True)
class _Target:
    group: str
    kind: str
    name: str


@dataclass(frozen=True)
class Policy:
    """An AuthorizationPolicy, read."""

    namespace: str
    name: str
    action: Action
    provider: str | None
    selector: Mapping[str, str] | None  # None: no selector
    targets: tuple[_Target, ...]
    rules: tuple[Rule, ...]
    reads: frozenset[str] = frozenset()  # every attribute its rules read

    @property
    def key(self) -> str:
        """``namespace/name``."""
        return f"{self.namespace}/{self.name}"

    def selects(self, labels: Mapping[str, str]) -> bool:
        """Whether the policy's selector (none: every pod) selects ``labels``."""
        selector = self.selector
        return selector is None or all(labels.get(k) == v for k, v in selector.items())


# --- reading objects --------------------------------------------------------------------


def as_mapping(value: object, where: str) -> Mapping[str, object]:
    """``value`` as a mapping, or a ValueError naming ``where``."""
    if not isinstance(value, Mapping):
        raise ValueError(f"{where} must be a mapping, got {value!r}")
    return cast("Mapping[str, object]", value)


def _optional_mapping(value: object, where: str) -> Mapping[str, object]:
    return {} if value is None else as_mapping(value, where)


def _items(value: object, where: str) -> list[object]:
    if value is None:
        return []
    if not isinstance(value, (list, tuple)):
        raise ValueError(f"{where} must be a list, got {value!r}")
    return list(cast("Sequence[object]", value))


def as_string(value: object, where: str) -> str:
    """``value`` as a non-empty string, or a ValueError naming ``where``."""
    if not isinstance(value, str) or not value:
        raise ValueError(f"{where} must be a non-empty string, got {value!r}")
    return value


def _strings(value: object, where: str) -> tuple[str, ...]:
    items = _items(value, where)
    return tuple(as_string(v, f"{where}[{i}]") for i, v in enumerate(items))


def read_labels(value: object, where: str) -> dict[str, str]:
    """Labels (or a matchLabels): a mapping of strings; none when absent."""
    labels = _optional_mapping(value, where)
    for key, v in labels.items():
        if not isinstance(v, str):
            raise ValueError(f"{where}.{key} must be a string, got {v!r}")
    return cast("dict[str, str]", dict(labels))


def _known_fields(data: Mapping[str, object], known: Iterable[str], where: str) -> None:
    unknown = sorted(set(data) - set(known))
    if unknown:
        raise ValueError(f"{where} has unknown field {unknown[0]!r}")


def _patterns(
    spec: _FieldSpec, values: tuple[str, ...], namespace: str, where: str
) -> tuple[_Pattern, ...]:
    """The values of one field, ready to match (``namespace``: the policy's)."""
    made: list[_Pattern] = []
    for i, value in enumerate(values):
        at = f"{where}[{i}]"
        match spec.kind:
            case "string":
                made.append(_string_pattern(value))
            case "header":
                made.append(_string_pattern(value, star=True))
            case "host":
                made.append(_string_pattern(value, fold=True, star=True))
            case "path":
                made.append(_path_pattern(value, at))
            case "port":
                made.append(_port_pattern(value, at))
            case "ip":
                made.append(_ip_pattern(value, at))
            case "service_account":
                made.append(_Text("exact", value if "/" in value else f"{namespace}/{value}"))
    return tuple(made)


def _entry(
    data: Mapping[str, object], fields: Mapping[str, _FieldSpec], namespace: str, where: str
) -> Entry:
    """A source or an operation: one test per field set."""
    names = {n: (s, False) for n, s in fields.items()}
    names.update({_negative(n): (s, True) for n, s in fields.items()})
    _known_fields(data, names, where)
    tests: list[FieldTest] = []
    for name, value in data.items():
        spec, negative = names[name]
        values = _strings(value, f"{where}.{name}")
        if values:
            patterns = _patterns(spec, values, namespace, f"{where}.{name}")
            tests.append(FieldTest(name, spec, patterns, negative))
    return tuple(tests)


def _condition_spec(key: str, where: str) -> _FieldSpec:
    if key in _CONDITION_KEYS:
        return _CONDITION_KEYS[key]
    if key.startswith("request.headers["):
        if not key.endswith("]") or len(key) == len("request.headers[]"):
            raise ValueError(f"{where}.key {key!r} must be request.headers[<name>]")
        header = key[len("request.headers[") : -1].lower()
        return _FieldSpec(f"header:{header}", "header", l4=False, http_only=True)
    if key.startswith("request.auth.claims["):
        return _FieldSpec(CLAIM + CLAIM_SEP.join(_claim_path(key, where)), "string", False, True)
    if key.startswith("request.auth."):
        return _FieldSpec(ABSENT, "string", l4=False, http_only=True)
    return _UNKNOWN_CONDITION


def _claim_path(key: str, where: str) -> list[str]:
    """``request.auth.claims[a][b]`` as ``["a", "b"]`` (nested claims, Istio's form)."""
    rest = key[len("request.auth.claims") :]
    if not rest.endswith("]") or "[]" in rest:  # it starts with "[": the caller checked
        raise ValueError(f"{where}.key {key!r} must be request.auth.claims[<name>]...")
    names = rest[1:-1].split("][")
    if any("[" in n or "]" in n for n in names):
        raise ValueError(f"{where}.key {key!r} must be request.auth.claims[<name>]...")
    return names


def _condition(data: Mapping[str, object], namespace: str, where: str) -> Entry:
    _known_fields(data, ("key", "values", "notValues"), where)
    key = as_string(data.get("key"), f"{where}.key")
    spec = _condition_spec(key, where)
    tests: list[FieldTest] = []
    for name, negative in (("values", False), ("notValues", True)):
        values = _strings(data.get(name), f"{where}.{name}")
        if values:
            patterns = _patterns(spec, values, namespace, f"{where}.{name}")
            tests.append(FieldTest(key, spec, patterns, negative))
    if not tests:
        raise ValueError(f"{where} (key {key!r}) needs values or notValues")
    return tuple(tests)


def _rule(data: Mapping[str, object], namespace: str, where: str) -> Rule:
    _known_fields(data, ("from", "to", "when"), where)
    sources: list[Entry] = []
    for i, item in enumerate(_items(data.get("from"), f"{where}.from")):
        at = f"{where}.from[{i}]"
        wrapper = as_mapping(item, at)
        _known_fields(wrapper, ("source",), at)
        source = as_mapping(wrapper.get("source"), f"{at}.source")
        sources.append(_entry(source, _SOURCE_FIELDS, namespace, f"{at}.source"))
    operations: list[Entry] = []
    for i, item in enumerate(_items(data.get("to"), f"{where}.to")):
        at = f"{where}.to[{i}]"
        wrapper = as_mapping(item, at)
        _known_fields(wrapper, ("operation",), at)
        operation = as_mapping(wrapper.get("operation"), f"{at}.operation")
        operations.append(_entry(operation, _OPERATION_FIELDS, namespace, f"{at}.operation"))
    conditions = [
        _condition(as_mapping(item, f"{where}.when[{i}]"), namespace, f"{where}.when[{i}]")
        for i, item in enumerate(_items(data.get("when"), f"{where}.when"))
    ]
    return Rule(tuple(sources), tuple(operations), tuple(conditions))


def _targets(spec: Mapping[str, object], where: str) -> tuple[_Target, ...]:
    refs = _items(spec.get("targetRefs"), f"{where}.targetRefs")
    paths = [f"{where}.targetRefs[{i}]" for i in range(len(refs))]
    if spec.get("targetRef") is not None:
        refs.append(spec["targetRef"])
        paths.append(f"{where}.targetRef")
    targets: list[_Target] = []
    for ref, at in zip(refs, paths, strict=True):
        data = as_mapping(ref, at)
        group = data.get("group", "")
        if not isinstance(group, str):
            raise ValueError(f"{at}.group must be a string, got {group!r}")
        kind = as_string(data.get("kind"), f"{at}.kind")
        targets.append(_Target(group, kind, as_string(data.get("name"), f"{at}.name")))
    return tuple(targets)


_SPEC_FIELDS = ("action", "provider", "rules", "selector", "targetRef", "targetRefs")


def read_policy(namespace: str, name: str, spec_value: object, where: str) -> Policy:
    """An AuthorizationPolicy's spec, read and checked."""
    spec = _optional_mapping(spec_value, f"{where}: spec")
    _known_fields(spec, _SPEC_FIELDS, f"{where}: spec")
    action = spec.get("action") or "ALLOW"
    if action not in ACTIONS:
        raise ValueError(f"{where}: spec.action {action!r} is not one of {', '.join(ACTIONS)}")
    provider = _optional_mapping(spec.get("provider"), f"{where}: spec.provider").get("name")
    if provider is not None:
        provider = as_string(provider, f"{where}: spec.provider.name")
    selector: dict[str, str] | None = None
    if spec.get("selector") is not None:
        selector_data = as_mapping(spec["selector"], f"{where}: spec.selector")
        selector = read_labels(
            selector_data.get("matchLabels"), f"{where}: spec.selector.matchLabels"
        )
    targets = _targets(spec, f"{where}: spec")
    if selector is not None and targets:
        raise ValueError(f"{where}: spec sets both selector and targetRefs; at most one may be")
    rules = tuple(
        _rule(
            as_mapping(item, f"{where}: spec.rules[{i}]"), namespace, f"{where}: spec.rules[{i}]"
        )
        for i, item in enumerate(_items(spec.get("rules"), f"{where}: spec.rules"))
    )
    return Policy(
        namespace,
        name,
        action,
        provider,
        selector,
        targets,
        rules,
        frozenset(t.spec.attribute for r in rules for t in r.tests()),
    )


def read_issuers(spec_value: object, where: str) -> tuple[str, ...]:
    """The issuers a RequestAuthentication's ``jwtRules`` accept."""
    spec = _optional_mapping(spec_value, f"{where}: spec")
    rules = _items(spec.get("jwtRules"), f"{where}: spec.jwtRules")
    issuers: list[str] = []
    for i, item in enumerate(rules):
        at = f"{where}: spec.jwtRules[{i}]"
        issuers.append(as_string(as_mapping(item, at).get("issuer"), f"{at}.issuer"))
    return tuple(issuers)


@dataclass(frozen=True)
class Service:
    """What of a Service the evaluator needs: its labels and target ports."""

    labels: Mapping[str, str]
    target_ports: Mapping[int, int | str]  # service port -> targetPort


#: Who may use a waypoint: namespaces ``All``, the ``Same`` as the waypoint's, or those
#: whose labels a selector selects (its HBONE listener's ``allowedRoutes.namespaces``).
AllowedNamespaces = Literal["All", "Same"] | LabelSelector


@dataclass(frozen=True)
class Gateway:
    """A waypoint candidate: a Gateway and who may use its HBONE listener."""

    namespace: str
    name: str
    class_name: str
    labels: Mapping[str, str]
    allowed: AllowedNamespaces

    @property
    def key(self) -> str:
        """``namespace/name``."""
        return f"{self.namespace}/{self.name}"


def read_service(meta: Mapping[str, object], spec_value: object, where: str) -> Service:
    """A Service, read."""
    spec = _optional_mapping(spec_value, f"{where}: spec")
    ports: dict[int, int | str] = {}
    for i, item in enumerate(_items(spec.get("ports"), f"{where}: spec.ports")):
        data = as_mapping(item, f"{where}: spec.ports[{i}]")
        port = data.get("port")
        if not isinstance(port, int):
            raise ValueError(f"{where}: spec.ports[{i}].port must be an integer, got {port!r}")
        target = data.get("targetPort", port)
        if not isinstance(target, (int, str)):
            raise ValueError(
                f"{where}: spec.ports[{i}].targetPort must be a number or a name, got {target!r}"
            )
        ports[port] = target
    return Service(read_labels(meta.get("labels"), f"{where}: metadata.labels"), ports)


def _allowed(listeners: list[object], where: str) -> AllowedNamespaces:
    """Who may use the waypoint, as Istio reads it.

    From its first HBONE listener on port 15008; ``Same`` when it has none, or when the
    listener's ``allowedRoutes`` says nothing.
    """
    for i, item in enumerate(listeners):
        at = f"{where}: spec.listeners[{i}]"
        listener = as_mapping(item, at)
        if listener.get("protocol") != "HBONE" or listener.get("port") != 15008:
            continue
        routes = _optional_mapping(listener.get("allowedRoutes"), f"{at}.allowedRoutes")
        at = f"{at}.allowedRoutes.namespaces"
        spaces = _optional_mapping(routes.get("namespaces"), at)
        allowed = spaces.get("from")
        if allowed is None or allowed == "Same":
            return "Same"
        if allowed == "All":
            return "All"
        if allowed != "Selector":
            raise ValueError(f"{at}.from {allowed!r} is not one of All, Same, Selector")
        if spaces.get("selector") is None:
            raise ValueError(f"{at}.selector must be set when from is Selector")
        return label_selector(spaces["selector"], f"{at}.selector")
    return "Same"


def read_gateway(
    namespace: str, name: str, meta: Mapping[str, object], spec_value: object, where: str
) -> Gateway:
    """A Gateway, read for its waypoint use."""
    spec = _optional_mapping(spec_value, f"{where}: spec")
    return Gateway(
        namespace,
        name,
        as_string(spec.get("gatewayClassName"), f"{where}: spec.gatewayClassName"),
        read_labels(meta.get("labels"), f"{where}: metadata.labels"),
        _allowed(_items(spec.get("listeners"), f"{where}: spec.listeners"), where),
    )
