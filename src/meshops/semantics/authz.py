"""Istio AuthorizationPolicies in ambient mode: would this call be allowed, and why.

A reference evaluator over plain Kubernetes objects (as ``meshops render`` prints them or
a cluster holds them). :meth:`Policies.check` follows one call the way Istio's ambient
data plane carries it and evaluates the AuthorizationPolicies at each enforcement point
on its way, in order:

1. the called Service's **waypoint**, if the call passes one. Policies *attached* there
   by ``targetRefs`` apply: to the called Service, to the waypoint's own Gateway, or
   (from the root namespace) to the ``istio-waypoint`` GatewayClass, i.e. every
   waypoint. All attributes, L7 included, are enforced;
2. the destination pods' **ztunnel**. Policies *targeted* at the pods apply: those with a
   ``selector`` matching the pods, namespace-wide ones (no selector, no targetRefs), and
   the same two kinds from the root namespace, which reach every namespace. ztunnel
   enforces L4 only, and after a waypoint it sees the waypoint's identity, never the
   caller's.

At each point: a matching CUSTOM policy hands the call to its external provider (we
cannot know its answer: the decision records it in :attr:`Decision.conditions` and goes
on as if the provider allowed); then any matching DENY rule denies; then, if no ALLOW
policy applies the call is allowed, else it is allowed only if some ALLOW rule matches.
AUDIT policies never change the decision.

Semantics, and where they come from (Istio 1.30):

* *Authorization Policy* reference (istio.io/docs/reference/config/security/
  authorization-policy/): the CUSTOM → DENY → ALLOW order; a policy without rules
  matches nothing (an ALLOW one so denies everything: ``spec: {}``), a rule ``{}``
  matches everything; a rule is from AND to AND when; ``from`` and ``to`` entries are
  ORed, the fields of one entry ANDed, the values of one field ORed, ``notX`` means no
  value matches; strings match exactly, by prefix ``abc*``, by suffix ``*abc`` or by
  presence ``*``; paths may be templates with ``{*}`` (one path segment) and ``{**}``
  (anything, only as the last operator); hosts match case-insensitively and exactly as
  the Host header is sent (``a.example.com`` does not match ``a.example.com:8080``;
  Istio advises also listing ``a.example.com:*``); for a non-HTTP call a waypoint drops
  an ALLOW rule that needs an HTTP attribute and treats HTTP attributes of a DENY rule
  as matching. Selector and root-namespace scope: a policy in the root namespace applies
  in every namespace.
* *Authorization Policy Conditions* (…/security/conditions/): the ``when`` keys.
* *Use Layer 4 security policy* (istio.io/docs/ambient/usage/l4-policy/) and *Use
  Layer 7 features* (…/ambient/usage/l7-features/): the enforcement-point table above,
  the L4 attribute list (principals, namespaces, ipBlocks, ports and the ``source.ip``,
  ``source.namespace``, ``source.principal``, ``destination.ip``, ``destination.port``
  conditions), and that an L7 policy enforced by ztunnel "fails safe". Exactly how, from
  istiod's ambient translation (``handleRule``) and ztunnel's ``rbac.rs``: in an ALLOW
  policy, a rule using any other attribute is left out (it never matches); in a DENY
  policy, the L7 attributes are dropped and the rest enforced, but a from/to entry or a
  condition left with nothing to check never matches (ztunnel skips empty matches, Istio
  issue #61126), so a DENY rule made only of L7 attributes denies nothing at ztunnel.
  ztunnel ignores CUSTOM and AUDIT policies.
* istiod's policy attachment (``WorkloadPolicyMatcher``): waypoints never use selector
  or namespace-wide policies; a Service targetRef is group ``""`` (or ``core``), a
  Gateway or GatewayClass targetRef group ``gateway.networking.k8s.io``.
* Waypoint use (istiod ``fetchWaypointForTarget``, *Configure waypoint proxies*): the
  Service's ``istio.io/use-waypoint`` label wins over its Namespace's, ``none`` opts
  out, ``istio.io/use-waypoint-namespace`` names another namespace; the Gateway must
  take service traffic (``istio.io/waypoint-for``: ``service``, the default, or
  ``all``) and allow the Service's namespace on its HBONE listener (``allowedRoutes``,
  ``Same`` by default). Only calls to a Service go through it; an ingress gateway sends
  straight to the pods unless the Service (or else its namespace) is labelled
  ``istio.io/ingress-use-waypoint=true``. A waypoint's identity is the service account
  named after its Gateway, in the Gateway's namespace.

Choices where the documents are silent (see also :class:`Call`):

* A waypoint named by a label but absent from the objects makes the call DENIED (a hop
  with action ``"missing"``). Istio itself would mark the Service ``WaypointIsNotReady``
  and send the traffic straight to the pods, skipping every policy attached to the
  Service; but from objects alone we cannot tell a missing waypoint from one that lives
  outside the set given, and a check should flag, not pass, a call whose enforcement
  point cannot be found. A Gateway that is present but does not take this Service
  (traffic type, ``allowedRoutes``) is treated as Istio does: no waypoint, with a note.
* A caller off the mesh (no identity) never passes a Service's waypoint: only ztunnel
  on the destination side sees it (waypoint redirection happens at the caller's
  ztunnel). Its principal, namespace and service account are absent.
* The call carries no IP address, JWT or SNI: a positive match on ``ipBlocks``,
  ``remoteIpBlocks``, ``requestPrincipals`` or a condition on ``source.ip``,
  ``destination.ip``, ``remote.ip``, ``request.auth.*``, ``connection.sni`` (or an
  unknown key) fails; the negative forms match. ``request.headers[...]`` reads
  :attr:`Call.headers`. A condition matches when its value is among ``values`` (if
  set) and not among ``notValues`` (if set).
* ``serviceAccounts`` are ``namespace/name`` (a bare name is in the policy's namespace);
  ``trustDomains`` compare with the trust domain given to :meth:`Policies.from_objects`
  and are taken to be L4 (peer-certificate) attributes at ztunnel.
* A destination is on the mesh when its pods' labels say ``istio.io/dataplane-mode:
  ambient``, or say nothing and its Namespace (among the objects) does; otherwise no
  proxy enforces anything there and the call is ALLOWED.
* At the waypoint ports compare with the Service port called, at ztunnel with the pod
  port (the Service's numeric ``targetPort`` when the Service is among the objects).
* Malformed objects raise one :class:`ValueError` naming the object and the field and
  quoting the value: unknown fields, an unknown action, ports that are not strings of
  digits, invalid path templates, both ``selector`` and ``targetRefs``.

Example:
    >>> objects = [
    ...     {"apiVersion": "v1", "kind": "Namespace", "metadata": {
    ...         "name": "shop", "labels": {"istio.io/dataplane-mode": "ambient"}}},
    ...     {"apiVersion": "security.istio.io/v1", "kind": "AuthorizationPolicy",
    ...      "metadata": {"name": "db", "namespace": "shop"},
    ...      "spec": {"selector": {"matchLabels": {"app": "db"}}, "rules": [
    ...          {"from": [{"source": {"principals": ["cluster.local/ns/shop/sa/cart"]}}]}]}},
    ... ]
    >>> policies = Policies.from_objects(objects)
    >>> db = Workload("shop", "db", {"app": "db"})
    >>> policies.check(Call(Workload("shop", "cart"), db, "db", 5432)).verdict
    'ALLOWED'
    >>> print(policies.check(Call(Workload("shop", "web"), db, "db", 5432)).explanation)
    DENIED by ztunnel (pods app=db in shop): no rule of the ALLOW policies here (shop/db) matches
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from types import MappingProxyType
from typing import Any, Literal, cast

from meshops.model.ambient import (
    DATAPLANE_MODE_LABEL,
    INGRESS_USE_WAYPOINT_LABEL,
    USE_WAYPOINT_LABEL,
    WAYPOINT_FOR_LABEL,
    waypoint_named,
)
from meshops.model.selectors import LabelSelector, label_selector

__all__ = ["Call", "Decision", "Hop", "Policies", "Workload"]

WAYPOINT_CLASS = "istio-waypoint"
GATEWAY_GROUP = "gateway.networking.k8s.io"
CLUSTER_DOMAIN = "cluster.local"
_NAME_LABEL = "kubernetes.io/metadata.name"

Action = Literal["ALLOW", "DENY", "AUDIT", "CUSTOM"]
_ACTIONS: tuple[Action, ...] = ("ALLOW", "DENY", "AUDIT", "CUSTOM")


# --- the public values ------------------------------------------------------------------


_NO_LABELS: Mapping[str, str] = MappingProxyType({})


def _frozen_labels(labels: Mapping[str, str]) -> Mapping[str, str]:
    return MappingProxyType(dict(labels))


def _check_port(port: object) -> None:
    if isinstance(port, bool) or not isinstance(port, int) or not 1 <= port <= 65535:
        raise ValueError(f"port {port!r} must be 1-65535")


@dataclass(frozen=True)
class Workload:
    """Pods: a caller, or the pods behind the called Service.

    Attributes:
        namespace: The pods' namespace.
        service_account: The pods' ServiceAccount, which makes their mesh identity.
        labels: The pods' labels (what policy selectors match).
    """

    namespace: str
    service_account: str
    labels: Mapping[str, str] = field(default_factory=dict[str, str], hash=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "labels", _frozen_labels(self.labels))

    def principal(self, trust_domain: str = "cluster.local") -> str:
        """The SPIFFE identity Istio gives these pods, without ``spiffe://``.

        Example:
            >>> Workload("shop", "cart").principal()
            'cluster.local/ns/shop/sa/cart'
        """
        return f"{trust_domain}/ns/{self.namespace}/sa/{self.service_account}"


@dataclass(frozen=True)
class Call:
    """One call to check.

    A call is HTTP when any of ``method``, ``path``, ``host`` or ``headers`` is given,
    plain TCP otherwise. Paths are taken as already normalized; a query string is not
    part of the path Istio matches and is dropped.

    Attributes:
        source: The caller, or None for a caller off the mesh (no identity).
        destination: The pods that serve the call.
        service: The Service called, in ``destination.namespace``; None when the caller
            dials a pod address directly (no waypoint sees that).
        port: The port called: the Service port, or the pod port when ``service`` is None.
        method: The HTTP method.
        path: The HTTP path.
        host: The Host header as sent; for an HTTP call to a Service it defaults to
            ``<service>.<namespace>.svc.cluster.local`` (add ``:port`` yourself if the
            client sends it).
        headers: HTTP request headers (names are case-insensitive).
        from_ingress: The caller is an ingress gateway.
    """

    source: Workload | None
    destination: Workload
    service: str | None
    port: int
    method: str | None = None
    path: str | None = None
    host: str | None = None
    headers: Mapping[str, str] = field(default_factory=dict[str, str], hash=False)
    from_ingress: bool = False

    def __post_init__(self) -> None:
        _check_port(self.port)
        object.__setattr__(self, "headers", _frozen_labels(self.headers))

    @property
    def http(self) -> bool:
        """Whether the call is an HTTP request (else plain TCP)."""
        given = (self.method, self.path, self.host)
        return any(v is not None for v in given) or bool(self.headers)


HopAction = Literal["DENY", "ALLOW", "default", "missing"]


@dataclass(frozen=True)
class Hop:
    """What one enforcement point decided.

    Attributes:
        enforcer: Who enforced, e.g. ``"waypoint shop/waypoint"`` or
            ``"ztunnel (pods app=cart in shop)"``.
        allowed: Whether it let the call through.
        action: What decided: a ``"DENY"`` rule; an ``"ALLOW"`` rule (or, when denied
            with ``policy`` None, the lack of one among the ALLOW policies that apply);
            ``"default"`` (no ALLOW policy applies); ``"missing"`` (the waypoint the
            call must pass is not among the objects). A matching CUSTOM policy never
            decides here: see :attr:`Decision.conditions`.
        policy: The deciding policy as ``namespace/name``, or None.
        rule: The index of the deciding rule in that policy, or None.
        reason: One sentence saying why.
        notes: What else the reader should know about this point (ignored attributes,
            policies that apply elsewhere, the identity ztunnel sees).
    """

    enforcer: str
    allowed: bool
    action: HopAction
    policy: str | None
    rule: int | None
    reason: str
    notes: tuple[str, ...] = ()

    def to_dict(self) -> dict[str, Any]:
        """This hop as plain JSON-ready values."""
        return {
            "enforcer": self.enforcer,
            "allowed": self.allowed,
            "action": self.action,
            "policy": self.policy,
            "rule": self.rule,
            "reason": self.reason,
            "notes": list(self.notes),
        }


@dataclass(frozen=True)
class Decision:
    """Whether a call is allowed, and which hop, policy and rule decided.

    Attributes:
        allowed: The verdict as a bool.
        hops: The enforcement points the call reached, in the order traffic passes
            them (waypoint, then the destination's ztunnel). Empty when nothing enforces.
        explanation: One line for a person.
        conditions: Things the verdict depends on that the objects cannot tell: each
            matching CUSTOM policy, whose external provider must also allow the call.
    """

    allowed: bool
    hops: tuple[Hop, ...]
    explanation: str
    conditions: tuple[str, ...] = ()

    @property
    def verdict(self) -> Literal["ALLOWED", "DENIED"]:
        """``"ALLOWED"`` or ``"DENIED"``."""
        return "ALLOWED" if self.allowed else "DENIED"

    @property
    def deciding(self) -> Hop | None:
        """The hop that decided: the one that denied, else the last; None without hops."""
        for hop in self.hops:
            if not hop.allowed:
                return hop
        return self.hops[-1] if self.hops else None

    def to_dict(self) -> dict[str, Any]:
        """This decision as plain JSON-ready values (for ``--output json``)."""
        deciding = self.deciding
        return {
            "verdict": self.verdict,
            "allowed": self.allowed,
            "explanation": self.explanation,
            "conditions": list(self.conditions),
            "deciding_hop": None if deciding is None else self.hops.index(deciding),
            "hops": [hop.to_dict() for hop in self.hops],
        }

    def to_json(self) -> str:
        """This decision as a JSON document."""
        return json.dumps(self.to_dict(), indent=2)


# --- patterns: how one policy value matches one request value --------------------------


@dataclass(frozen=True)
class _Pattern:
    """One value of a policy field, ready to match."""

    kind: Literal["exact", "prefix", "suffix", "presence", "template"]
    stem: str
    fold: bool = False
    regex: re.Pattern[str] | None = None

    def matches(self, value: str) -> bool:
        if self.fold:
            value = value.lower()
        if self.kind == "presence":
            return value != ""
        if self.kind == "prefix":
            return value.startswith(self.stem)
        if self.kind == "suffix":
            return value.endswith(self.stem)
        if self.regex is not None:
            return self.regex.fullmatch(value) is not None
        return value == self.stem


def _string_pattern(text: str, *, fold: bool = False) -> _Pattern:
    """Istio's string match: ``*`` presence, ``*abc`` suffix, ``abc*`` prefix, else exact."""
    stem = text.lower() if fold else text
    if stem == "*":
        return _Pattern("presence", "", fold)
    if stem.startswith("*"):
        return _Pattern("suffix", stem[1:], fold)
    if stem.endswith("*"):
        return _Pattern("prefix", stem[:-1], fold)
    return _Pattern("exact", stem, fold)


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
    return _Pattern("template", text, regex=re.compile("/".join(parts)))


def _port_pattern(text: str, where: str) -> _Pattern:
    if not text.isdigit() or int(text) > 65535:
        raise ValueError(f"{where}: port {text!r} must be a string of digits 0-65535")
    return _Pattern("exact", str(int(text)))


# --- the parsed policies ----------------------------------------------------------------

_ABSENT = "absent"  # an attribute no call carries (IP addresses, JWT claims, SNI)


@dataclass(frozen=True)
class _FieldSpec:
    """What a policy field reads and who can evaluate it.

    Attributes:
        attribute: The request attribute it reads (see :meth:`_Seen.value`).
        kind: How its values match: ``string``, ``host``, ``path``, ``port`` or
            ``service_account``.
        l4: ztunnel can enforce it.
        http_only: Envoy (the waypoint) can evaluate it on HTTP only.
    """

    attribute: str
    kind: str
    l4: bool
    http_only: bool


_SOURCE_FIELDS = {
    "principals": _FieldSpec("principal", "string", l4=True, http_only=False),
    "namespaces": _FieldSpec("namespace", "string", l4=True, http_only=False),
    "serviceAccounts": _FieldSpec("service_account", "service_account", True, False),
    "trustDomains": _FieldSpec("trust_domain", "string", l4=True, http_only=False),
    "ipBlocks": _FieldSpec(_ABSENT, "string", l4=True, http_only=False),
    "remoteIpBlocks": _FieldSpec(_ABSENT, "string", l4=False, http_only=False),
    "requestPrincipals": _FieldSpec(_ABSENT, "string", l4=False, http_only=True),
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
    "source.ip": _FieldSpec(_ABSENT, "string", l4=True, http_only=False),
    "destination.ip": _FieldSpec(_ABSENT, "string", l4=True, http_only=False),
    "destination.port": _FieldSpec("port", "port", l4=True, http_only=False),
    "remote.ip": _FieldSpec(_ABSENT, "string", l4=False, http_only=False),
    "connection.sni": _FieldSpec(_ABSENT, "string", l4=False, http_only=False),
}
_UNKNOWN_CONDITION = _FieldSpec(_ABSENT, "string", l4=False, http_only=False)


def _negative(name: str) -> str:
    return "not" + name[0].upper() + name[1:]


@dataclass(frozen=True)
class _Test:
    """One field of a from/to entry, or one half of a condition: all its values, ORed."""

    name: str
    spec: _FieldSpec
    patterns: tuple[_Pattern, ...]
    negative: bool


_Entry = tuple[_Test, ...]  # a source, an operation or a condition: its tests ANDed


@dataclass(frozen=True)
class _Rule:
    sources: tuple[_Entry, ...]  # ORed; none: any source
    operations: tuple[_Entry, ...]  # ORed; none: any operation
    conditions: tuple[_Entry, ...]  # ANDed

    def tests(self) -> Iterator[_Test]:
        for entry in (*self.sources, *self.operations, *self.conditions):
            yield from entry


@dataclass(frozen=True)
class _Target:
    group: str
    kind: str
    name: str


@dataclass(frozen=True)
class _Policy:
    namespace: str
    name: str
    action: Action
    provider: str | None
    selector: Mapping[str, str] | None  # None: no selector
    targets: tuple[_Target, ...]
    rules: tuple[_Rule, ...]

    @property
    def key(self) -> str:
        return f"{self.namespace}/{self.name}"

    def selects(self, labels: Mapping[str, str]) -> bool:
        selector = self.selector
        return selector is None or all(labels.get(k) == v for k, v in selector.items())


# --- reading objects --------------------------------------------------------------------


def _mapping(value: object, where: str) -> Mapping[str, object]:
    if not isinstance(value, Mapping):
        raise ValueError(f"{where} must be a mapping, got {value!r}")
    return cast("Mapping[str, object]", value)


def _optional_mapping(value: object, where: str) -> Mapping[str, object]:
    return {} if value is None else _mapping(value, where)


def _items(value: object, where: str) -> list[object]:
    if value is None:
        return []
    if not isinstance(value, (list, tuple)):
        raise ValueError(f"{where} must be a list, got {value!r}")
    return list(cast("Sequence[object]", value))


def _string(value: object, where: str) -> str:
    if not isinstance(value, str) or not value:
        raise ValueError(f"{where} must be a non-empty string, got {value!r}")
    return value


def _strings(value: object, where: str) -> tuple[str, ...]:
    items = _items(value, where)
    return tuple(_string(v, f"{where}[{i}]") for i, v in enumerate(items))


def _labels(value: object, where: str) -> dict[str, str]:
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
        if spec.kind == "port":
            made.append(_port_pattern(value, at))
        elif spec.kind == "path":
            made.append(_path_pattern(value, at))
        elif spec.kind == "host":
            made.append(_string_pattern(value, fold=True))
        elif spec.kind == "service_account":
            made.append(_Pattern("exact", value if "/" in value else f"{namespace}/{value}"))
        else:
            made.append(_string_pattern(value))
    return tuple(made)


def _entry(
    data: Mapping[str, object], fields: Mapping[str, _FieldSpec], namespace: str, where: str
) -> _Entry:
    """A source or an operation: one test per field set."""
    names = {n: (s, False) for n, s in fields.items()}
    names.update({_negative(n): (s, True) for n, s in fields.items()})
    _known_fields(data, names, where)
    tests: list[_Test] = []
    for name, value in data.items():
        spec, negative = names[name]
        values = _strings(value, f"{where}.{name}")
        if values:
            patterns = _patterns(spec, values, namespace, f"{where}.{name}")
            tests.append(_Test(name, spec, patterns, negative))
    return tuple(tests)


def _condition_spec(key: str, where: str) -> _FieldSpec:
    if key in _CONDITION_KEYS:
        return _CONDITION_KEYS[key]
    if key.startswith("request.headers["):
        if not key.endswith("]") or len(key) == len("request.headers[]"):
            raise ValueError(f"{where}.key {key!r} must be request.headers[<name>]")
        header = key[len("request.headers[") : -1].lower()
        return _FieldSpec(f"header:{header}", "string", l4=False, http_only=True)
    if key.startswith("request.auth."):
        return _FieldSpec(_ABSENT, "string", l4=False, http_only=True)
    return _UNKNOWN_CONDITION


def _condition(data: Mapping[str, object], namespace: str, where: str) -> _Entry:
    _known_fields(data, ("key", "values", "notValues"), where)
    key = _string(data.get("key"), f"{where}.key")
    spec = _condition_spec(key, where)
    tests: list[_Test] = []
    for name, negative in (("values", False), ("notValues", True)):
        values = _strings(data.get(name), f"{where}.{name}")
        if values:
            patterns = _patterns(spec, values, namespace, f"{where}.{name}")
            tests.append(_Test(key, spec, patterns, negative))
    if not tests:
        raise ValueError(f"{where} (key {key!r}) needs values or notValues")
    return tuple(tests)


def _rule(data: Mapping[str, object], namespace: str, where: str) -> _Rule:
    _known_fields(data, ("from", "to", "when"), where)
    sources: list[_Entry] = []
    for i, item in enumerate(_items(data.get("from"), f"{where}.from")):
        at = f"{where}.from[{i}]"
        wrapper = _mapping(item, at)
        _known_fields(wrapper, ("source",), at)
        source = _mapping(wrapper.get("source"), f"{at}.source")
        sources.append(_entry(source, _SOURCE_FIELDS, namespace, f"{at}.source"))
    operations: list[_Entry] = []
    for i, item in enumerate(_items(data.get("to"), f"{where}.to")):
        at = f"{where}.to[{i}]"
        wrapper = _mapping(item, at)
        _known_fields(wrapper, ("operation",), at)
        operation = _mapping(wrapper.get("operation"), f"{at}.operation")
        operations.append(_entry(operation, _OPERATION_FIELDS, namespace, f"{at}.operation"))
    conditions = [
        _condition(_mapping(item, f"{where}.when[{i}]"), namespace, f"{where}.when[{i}]")
        for i, item in enumerate(_items(data.get("when"), f"{where}.when"))
    ]
    return _Rule(tuple(sources), tuple(operations), tuple(conditions))


def _targets(spec: Mapping[str, object], where: str) -> tuple[_Target, ...]:
    refs = _items(spec.get("targetRefs"), f"{where}.targetRefs")
    paths = [f"{where}.targetRefs[{i}]" for i in range(len(refs))]
    if spec.get("targetRef") is not None:
        refs.append(spec["targetRef"])
        paths.append(f"{where}.targetRef")
    targets: list[_Target] = []
    for ref, at in zip(refs, paths, strict=True):
        data = _mapping(ref, at)
        group = data.get("group", "")
        if not isinstance(group, str):
            raise ValueError(f"{at}.group must be a string, got {group!r}")
        kind = _string(data.get("kind"), f"{at}.kind")
        targets.append(_Target(group, kind, _string(data.get("name"), f"{at}.name")))
    return tuple(targets)


_SPEC_FIELDS = ("action", "provider", "rules", "selector", "targetRef", "targetRefs")


def _policy(namespace: str, name: str, spec_value: object, where: str) -> _Policy:
    spec = _optional_mapping(spec_value, f"{where}: spec")
    _known_fields(spec, _SPEC_FIELDS, f"{where}: spec")
    action = spec.get("action") or "ALLOW"
    if action not in _ACTIONS:
        raise ValueError(f"{where}: spec.action {action!r} is not one of {', '.join(_ACTIONS)}")
    provider = _optional_mapping(spec.get("provider"), f"{where}: spec.provider").get("name")
    selector: dict[str, str] | None = None
    if spec.get("selector") is not None:
        selector_data = _mapping(spec["selector"], f"{where}: spec.selector")
        selector = _labels(selector_data.get("matchLabels"), f"{where}: spec.selector.matchLabels")
    targets = _targets(spec, f"{where}: spec")
    if selector is not None and targets:
        raise ValueError(f"{where}: spec sets both selector and targetRefs; at most one may be")
    rules = tuple(
        _rule(_mapping(item, f"{where}: spec.rules[{i}]"), namespace, f"{where}: spec.rules[{i}]")
        for i, item in enumerate(_items(spec.get("rules"), f"{where}: spec.rules"))
    )
    return _Policy(
        namespace,
        name,
        action,
        provider if isinstance(provider, str) else None,
        selector,
        targets,
        rules,
    )


@dataclass(frozen=True)
class _Service:
    labels: Mapping[str, str]
    target_ports: Mapping[int, int | str]  # service port -> targetPort


@dataclass(frozen=True)
class _Gateway:
    namespace: str
    name: str
    class_name: str
    labels: Mapping[str, str]
    allowed_from: str  # Same, All or Selector: who may use it (its HBONE listener)
    allowed_selector: LabelSelector

    @property
    def key(self) -> str:
        return f"{self.namespace}/{self.name}"

    def workload(self) -> Workload:
        """The waypoint's own pods: their ServiceAccount is named after the Gateway."""
        return Workload(self.namespace, self.name)


def _service(meta: Mapping[str, object], spec_value: object, where: str) -> _Service:
    spec = _optional_mapping(spec_value, f"{where}: spec")
    ports: dict[int, int | str] = {}
    for i, item in enumerate(_items(spec.get("ports"), f"{where}: spec.ports")):
        data = _mapping(item, f"{where}: spec.ports[{i}]")
        port = data.get("port")
        if not isinstance(port, int):
            raise ValueError(f"{where}: spec.ports[{i}].port must be an integer, got {port!r}")
        target = data.get("targetPort", port)
        if not isinstance(target, (int, str)):
            raise ValueError(f"{where}: spec.ports[{i}].targetPort is {target!r}")
        ports[port] = target
    return _Service(_labels(meta.get("labels"), f"{where}: metadata.labels"), ports)


def _gateway(
    namespace: str, name: str, meta: Mapping[str, object], spec_value: object, where: str
) -> _Gateway:
    spec = _optional_mapping(spec_value, f"{where}: spec")
    class_name = spec.get("gatewayClassName")
    allowed_from: str = "Same"
    selector = LabelSelector()
    for i, item in enumerate(_items(spec.get("listeners"), f"{where}: spec.listeners")):
        at = f"{where}: spec.listeners[{i}]"
        listener = _mapping(item, at)
        if listener.get("protocol") != "HBONE" or listener.get("port") != 15008:
            continue
        routes = _optional_mapping(listener.get("allowedRoutes"), f"{at}.allowedRoutes")
        spaces = _optional_mapping(routes.get("namespaces"), f"{at}.allowedRoutes.namespaces")
        allowed_from = str(spaces.get("from") or "Same")
        selector = label_selector(
            spaces.get("selector"), f"{at}.allowedRoutes.namespaces.selector"
        )
    return _Gateway(
        namespace,
        name,
        class_name if isinstance(class_name, str) else "",
        _labels(meta.get("labels"), f"{where}: metadata.labels"),
        allowed_from,
        selector,
    )


# --- what an enforcement point sees -----------------------------------------------------


@dataclass(frozen=True)
class _Seen:
    """The request as one enforcement point sees it."""

    principal: str | None
    namespace: str | None
    service_account: str | None
    trust_domain: str | None
    port: int
    http: bool
    method: str | None
    path: str | None
    host: str | None
    headers: Mapping[str, str]

    def value(self, attribute: str) -> str | None:
        if attribute.startswith("header:"):
            return self.headers.get(attribute[len("header:") :])
        if attribute == "port":
            return str(self.port)
        if attribute == _ABSENT:
            return None
        return cast("str | None", getattr(self, attribute))


def _test_passes(test: _Test, seen: _Seen) -> bool:
    value = seen.value(test.spec.attribute)
    hit = value is not None and any(p.matches(value) for p in test.patterns)
    return not hit if test.negative else hit


def _unsupported(test: _Test, seen: _Seen, at_ztunnel: bool) -> bool:
    """Whether this point cannot evaluate ``test``: L7 at ztunnel, HTTP-only on TCP."""
    if at_ztunnel:
        return not test.spec.l4
    return test.spec.http_only and not seen.http


def _entry_matches(entry: _Entry, seen: _Seen, at_ztunnel: bool) -> bool:
    kept = [t for t in entry if not _unsupported(t, seen, at_ztunnel)]
    if not kept:
        # ztunnel skips a match with nothing to check; Envoy treats it as matching anything.
        return not at_ztunnel
    return all(_test_passes(t, seen) for t in kept)


def _dropped(rule: _Rule, seen: _Seen, at_ztunnel: bool) -> list[str]:
    """The fields of ``rule`` this point cannot evaluate, each named once."""
    names = [t.name for t in rule.tests() if _unsupported(t, seen, at_ztunnel)]
    return list(dict.fromkeys(names))


def _rule_matches(rule: _Rule, action: Action, seen: _Seen, at_ztunnel: bool) -> bool:
    if action != "DENY" and _dropped(rule, seen, at_ztunnel):
        return False  # a rule that needs what this point cannot see never allows
    sources_ok = not rule.sources or any(_entry_matches(e, seen, at_ztunnel) for e in rule.sources)
    operations_ok = not rule.operations or any(
        _entry_matches(e, seen, at_ztunnel) for e in rule.operations
    )
    return (
        sources_ok
        and operations_ok
        and all(_entry_matches(c, seen, at_ztunnel) for c in rule.conditions)
    )


def _first_match(policy: _Policy, seen: _Seen, at_ztunnel: bool) -> int | None:
    for i, rule in enumerate(policy.rules):
        if _rule_matches(rule, policy.action, seen, at_ztunnel):
            return i
    return None


def _dropped_notes(policy: _Policy, seen: _Seen, at_ztunnel: bool) -> list[str]:
    notes: list[str] = []
    for i, rule in enumerate(policy.rules):
        fields = ", ".join(_dropped(rule, seen, at_ztunnel))
        if not fields:
            continue
        where = f"rule {i} of {policy.key}"
        if at_ztunnel and policy.action == "DENY":
            notes.append(
                f"L7 fields ({fields}) of {where} ignored: ztunnel enforces L4 only"
                " (a from/to entry or condition left with nothing to check never matches)"
            )
        elif at_ztunnel:
            notes.append(
                f"{where} left out: it uses L7 fields ({fields}) and ztunnel enforces L4 only"
            )
        elif policy.action == "DENY":
            notes.append(f"HTTP fields ({fields}) of {where} count as matching: not an HTTP call")
        else:
            notes.append(
                f"{where} cannot match: it needs HTTP fields ({fields}), not an HTTP call"
            )
    return notes


@dataclass(frozen=True)
class _Outcome:
    allowed: bool
    action: HopAction
    reason: str
    policy: str | None = None
    rule: int | None = None


def _outcome(
    denies: Sequence[_Policy], allows: Sequence[_Policy], seen: _Seen, at_ztunnel: bool
) -> _Outcome:
    """DENY, then ALLOW: what one enforcement point decides."""
    for policy in denies:
        rule = _first_match(policy, seen, at_ztunnel)
        if rule is not None:
            reason = f"rule {rule} of DENY policy {policy.key} matches"
            return _Outcome(False, "DENY", reason, policy.key, rule)
    if not allows:
        return _Outcome(True, "default", "no ALLOW policy applies here: allowed by default")
    for policy in allows:
        rule = _first_match(policy, seen, at_ztunnel)
        if rule is not None:
            reason = f"rule {rule} of ALLOW policy {policy.key} matches"
            return _Outcome(True, "ALLOW", reason, policy.key, rule)
    keys = ", ".join(p.key for p in allows)
    return _Outcome(False, "ALLOW", f"no rule of the ALLOW policies here ({keys}) matches")


def _custom_conditions(customs: Sequence[_Policy], seen: _Seen, enforcer: str) -> list[str]:
    """One condition per matching CUSTOM policy: its provider must allow the call too."""
    conditions: list[str] = []
    for policy in customs:
        rule = _first_match(policy, seen, at_ztunnel=False)
        if rule is not None:
            provider = repr(policy.provider) if policy.provider else "(none named)"
            conditions.append(
                f"ext-authz provider {provider} allows the call"
                f" (CUSTOM policy {policy.key} rule {rule} matches at {enforcer})"
            )
    return conditions


def _enforce(
    enforcer: str, policies: Iterable[_Policy], seen: _Seen, at_ztunnel: bool, notes: list[str]
) -> tuple[Hop, list[str]]:
    """CUSTOM, then DENY, then ALLOW at one point. Returns the hop and its conditions."""
    by_action: dict[str, list[_Policy]] = {a: [] for a in _ACTIONS}
    for policy in sorted(policies, key=lambda p: p.key):
        by_action[policy.action].append(policy)
    customs, denies, allows = by_action["CUSTOM"], by_action["DENY"], by_action["ALLOW"]
    if at_ztunnel:
        for policy in customs + by_action["AUDIT"]:
            notes.append(
                f"{policy.key} ignored: ztunnel does not support the {policy.action} action"
            )
    for policy in (*customs, *denies, *allows):
        notes.extend(_dropped_notes(policy, seen, at_ztunnel))
    conditions = [] if at_ztunnel else _custom_conditions(customs, seen, enforcer)
    o = _outcome(denies, allows, seen, at_ztunnel)
    return Hop(enforcer, o.allowed, o.action, o.policy, o.rule, o.reason, tuple(notes)), conditions


# --- the evaluator ----------------------------------------------------------------------


@dataclass(frozen=True)
class _Route:
    """Whether a call passes a waypoint."""

    waypoint: _Gateway | None = None
    missing: str | None = None  # the waypoint the call must pass, not among the objects
    reason: str = ""
    notes: tuple[str, ...] = ()


class Policies:
    """AuthorizationPolicies and the objects that decide where they apply, indexed.

    Build one with :meth:`from_objects`, then :meth:`check` as many calls as needed: each
    check looks only at the policies of the namespaces involved.
    """

    def __init__(
        self,
        *,
        root_namespace: str,
        trust_domain: str,
        namespaces: Mapping[str, Mapping[str, str]],
        services: Mapping[tuple[str, str], _Service],
        gateways: Mapping[tuple[str, str], _Gateway],
        class_labels: Mapping[str, Mapping[str, str]],
        policies: Iterable[_Policy],
    ) -> None:
        """Index parsed objects; use :meth:`from_objects` instead."""
        self.root_namespace = root_namespace
        self.trust_domain = trust_domain
        self._namespaces = namespaces
        self._services = services
        self._gateways = gateways
        self._class_labels = class_labels
        self._pods: dict[str, list[_Policy]] = {}  # by namespace: ztunnel's
        self._by_service: dict[tuple[str, str], list[_Policy]] = {}
        self._by_gateway: dict[tuple[str, str], list[_Policy]] = {}
        self._every_waypoint: list[_Policy] = []
        for policy in policies:
            self._index(policy)

    def _index(self, policy: _Policy) -> None:
        if not policy.targets:
            self._pods.setdefault(policy.namespace, []).append(policy)
        for target in policy.targets:
            key = (policy.namespace, target.name)
            if target.kind == "Service" and target.group in ("", "core"):
                self._by_service.setdefault(key, []).append(policy)
            elif target.group != GATEWAY_GROUP:
                continue
            elif target.kind == "Gateway":
                self._by_gateway.setdefault(key, []).append(policy)
            elif (
                target.kind == "GatewayClass"
                and target.name == WAYPOINT_CLASS
                and policy.namespace == self.root_namespace
            ):
                self._every_waypoint.append(policy)

    @classmethod
    def from_objects(
        cls,
        objects: Iterable[Mapping[str, Any]],
        *,
        root_namespace: str = "istio-system",
        trust_domain: str = "cluster.local",
    ) -> Policies:
        """Read AuthorizationPolicies, Namespaces, Services, Gateways and GatewayClasses.

        Other kinds are ignored.

        Args:
            objects: Kubernetes objects as mappings.
            root_namespace: Istio's root namespace: its policies apply mesh-wide.
            trust_domain: The mesh's trust domain, which starts every principal.

        Raises:
            ValueError: An object is malformed; the message names it and the field.
        """
        namespaces: dict[str, dict[str, str]] = {}
        services: dict[tuple[str, str], _Service] = {}
        gateways: dict[tuple[str, str], _Gateway] = {}
        class_labels: dict[str, dict[str, str]] = {}
        policies: list[_Policy] = []
        for i, value in enumerate(objects):
            obj = _mapping(value, f"object {i}")
            kind, group = obj.get("kind"), str(obj.get("apiVersion", "")).rpartition("/")[0]
            meta = _mapping(obj.get("metadata"), f"object {i} ({kind}): metadata")
            name = _string(meta.get("name"), f"object {i} ({kind}): metadata.name")
            where = f"{kind} {name}"
            if kind == "Namespace" and group == "":
                namespaces[name] = _labels(meta.get("labels"), f"{where}: metadata.labels")
                namespaces[name].setdefault(_NAME_LABEL, name)
                continue
            if kind == "GatewayClass" and group == GATEWAY_GROUP:
                class_labels[name] = _labels(meta.get("labels"), f"{where}: metadata.labels")
                continue
            if (kind, group) not in (
                ("Service", ""),
                ("Gateway", GATEWAY_GROUP),
                ("AuthorizationPolicy", "security.istio.io"),
            ):
                continue
            namespace = _string(meta.get("namespace"), f"{where}: metadata.namespace")
            where = f"{kind} {namespace}/{name}"
            if kind == "Service":
                services[namespace, name] = _service(meta, obj.get("spec"), where)
            elif kind == "Gateway":
                gateways[namespace, name] = _gateway(namespace, name, meta, obj.get("spec"), where)
            else:
                policies.append(_policy(namespace, name, obj.get("spec"), where))
        return cls(
            root_namespace=root_namespace,
            trust_domain=trust_domain,
            namespaces=namespaces,
            services=services,
            gateways=gateways,
            class_labels=class_labels,
            policies=policies,
        )

    # -- checking ----------------------------------------------------------------------

    def check(self, call: Call) -> Decision:
        """Whether ``call`` would be allowed, and which hop, policy and rule decided."""
        off_mesh = self._off_mesh(call.destination)
        if off_mesh is not None:
            return Decision(True, (), f"ALLOWED: {off_mesh}: nothing enforces policy there")
        route = self._route(call)
        if route.missing is not None:
            hop = Hop(f"waypoint {route.missing}", False, "missing", None, None, route.reason)
            return _decision([hop], [])
        hops: list[Hop] = []
        conditions: list[str] = []
        source = call.source
        notes = list(route.notes)
        if route.waypoint is not None:
            hop, found = self._at_waypoint(call, route.waypoint)
            hops.append(hop)
            conditions += found
            if not hop.allowed:
                return _decision(hops, conditions)
            source = route.waypoint.workload()
            notes.append(
                f"ztunnel sees the waypoint's identity {source.principal(self.trust_domain)},"
                " not the caller's"
            )
        hop, found = self._at_ztunnel(call, source, route.waypoint is not None, notes)
        hops.append(hop)
        return _decision(hops, conditions + found)

    def _off_mesh(self, pods: Workload) -> str | None:
        """Why ``pods`` are off the ambient mesh, or None when they are on it."""
        mode = pods.labels.get(DATAPLANE_MODE_LABEL)
        if mode == "ambient":
            return None
        if mode is not None:
            return f"the pods are labelled {DATAPLANE_MODE_LABEL}={mode}, off the ambient mesh"
        labels = self._namespaces.get(pods.namespace)
        if labels is None:
            return f"Namespace {pods.namespace} is not among the objects: taken as off the mesh"
        if labels.get(DATAPLANE_MODE_LABEL) != "ambient":
            return (
                f"Namespace {pods.namespace} is not on the ambient mesh"
                f" (no label {DATAPLANE_MODE_LABEL}=ambient)"
            )
        return None

    def _use_waypoint(self, call: Call) -> tuple[str, str, str] | None:
        """The waypoint the called Service names: (namespace, name, which label says so)."""
        if call.service is None:
            return None
        namespace = call.destination.namespace
        service = self._services.get((namespace, call.service))
        for labels, owner in (
            (service.labels if service else _NO_LABELS, f"Service {namespace}/{call.service}"),
            (self._namespaces.get(namespace, _NO_LABELS), f"Namespace {namespace}"),
        ):
            if USE_WAYPOINT_LABEL not in labels:
                continue  # the namespace decides
            named = waypoint_named(labels, namespace)
            if named is None:
                return None  # opted out
            where, name = named
            return where, name, f"label {USE_WAYPOINT_LABEL}={name} on {owner}"
        return None

    def _ingress_uses_waypoint(self, call: Call) -> bool:
        namespace = call.destination.namespace
        service = self._services.get((namespace, str(call.service)))
        value = service.labels.get(INGRESS_USE_WAYPOINT_LABEL) if service else None
        if value is None:
            value = self._namespaces.get(namespace, _NO_LABELS).get(INGRESS_USE_WAYPOINT_LABEL)
        return (value or "").lower() == "true"

    def _route(self, call: Call) -> _Route:
        named = self._use_waypoint(call)
        if named is None:
            return _Route()
        namespace, name, why = named
        key = f"{namespace}/{name}"
        if call.source is None:
            return _Route(
                notes=(
                    f"a caller off the mesh reaches the pods directly: it skips waypoint {key}",
                )
            )
        if call.from_ingress and not self._ingress_uses_waypoint(call):
            return _Route(
                notes=(
                    f"an ingress gateway sends straight to the pods, skipping waypoint {key}"
                    f" (label the Service or its namespace {INGRESS_USE_WAYPOINT_LABEL}=true"
                    " to send it through)",
                )
            )
        gateway = self._gateways.get((namespace, name))
        if gateway is None:
            return _Route(missing=key, reason=f"{why}, but no Gateway {key} is among the objects")
        refusal = self._refusal(gateway, call.destination.namespace)
        if refusal is not None:
            return _Route(
                notes=(f"{why}, but {refusal}: Istio sends the call straight to the pods",)
            )
        return _Route(waypoint=gateway)

    def _refusal(self, gateway: _Gateway, namespace: str) -> str | None:
        """Why ``gateway`` does not take service traffic from ``namespace``, or None."""
        kind = gateway.labels.get(WAYPOINT_FOR_LABEL)
        if kind is None:
            kind = self._class_labels.get(gateway.class_name, {}).get(
                WAYPOINT_FOR_LABEL, "service"
            )
        if kind not in ("service", "all"):
            return f"waypoint {gateway.key} is for {kind} traffic ({WAYPOINT_FOR_LABEL})"
        if gateway.allowed_from == "All" or namespace == gateway.namespace:
            return None
        labels = self._namespaces.get(namespace, {_NAME_LABEL: namespace})
        if gateway.allowed_from == "Selector" and gateway.allowed_selector.matches(labels):
            return None
        return f"waypoint {gateway.key} does not allow namespace {namespace} (allowedRoutes)"

    def _seen(self, source: Workload | None, call: Call, port: int) -> _Seen:
        host = call.host
        if host is None and call.http and call.service is not None:
            host = f"{call.service}.{call.destination.namespace}.svc.{CLUSTER_DOMAIN}"
        path = None if call.path is None else call.path.split("?", 1)[0].split("#", 1)[0]
        principal = namespace = service_account = trust_domain = None
        if source is not None:
            principal = source.principal(self.trust_domain)
            namespace, trust_domain = source.namespace, self.trust_domain
            service_account = f"{source.namespace}/{source.service_account}"
        return _Seen(
            principal=principal,
            namespace=namespace,
            service_account=service_account,
            trust_domain=trust_domain,
            port=port,
            http=call.http,
            method=call.method,
            path=path,
            host=host,
            headers={k.lower(): v for k, v in call.headers.items()},
        )

    def _at_waypoint(self, call: Call, gateway: _Gateway) -> tuple[Hop, list[str]]:
        namespace = call.destination.namespace
        attached = {
            p.key: p
            for p in (
                *self._by_service.get((namespace, str(call.service)), ()),
                *self._by_gateway.get((gateway.namespace, gateway.name), ()),
                *self._every_waypoint,
            )
        }
        seen = self._seen(call.source, call, call.port)
        return _enforce(f"waypoint {gateway.key}", list(attached.values()), seen, False, [])

    def _pod_port(self, call: Call, notes: list[str]) -> int:
        if call.service is None:
            return call.port
        service = self._services.get((call.destination.namespace, call.service))
        target = None if service is None else service.target_ports.get(call.port)
        if isinstance(target, str):
            notes.append(f"targetPort {target!r} is named: the pod port is taken as {call.port}")
            return call.port
        return call.port if target is None else target

    def _at_ztunnel(
        self, call: Call, source: Workload | None, via_waypoint: bool, notes: list[str]
    ) -> tuple[Hop, list[str]]:
        pods = call.destination
        applicable = [p for p in self._pods.get(pods.namespace, ()) if p.selects(pods.labels)]
        if pods.namespace != self.root_namespace:
            root = self._pods.get(self.root_namespace, ())
            applicable += [p for p in root if p.selects(pods.labels)]
        if call.service is not None and not via_waypoint:
            skipped = self._by_service.get((pods.namespace, call.service), [])
            if skipped:
                keys = ", ".join(sorted(p.key for p in skipped))
                notes.append(
                    f"policies attached to Service {pods.namespace}/{call.service} ({keys}) are"
                    " enforced only by a waypoint, and this call passes none"
                )
        seen = self._seen(source, call, self._pod_port(call, notes))
        labels = ",".join(f"{k}={v}" for k, v in sorted(pods.labels.items()))
        which = f"pods {labels} in" if labels else "pods in"
        return _enforce(f"ztunnel ({which} {pods.namespace})", applicable, seen, True, notes)


def _decision(hops: list[Hop], conditions: list[str]) -> Decision:
    last = hops[-1]
    if not last.allowed:
        explanation = f"DENIED by {last.enforcer}: {last.reason}"
    else:
        explanation = "ALLOWED: " + "; then ".join(f"{h.enforcer}: {h.reason}" for h in hops)
    if conditions:
        explanation += f" (provided {len(conditions)} CUSTOM provider check(s) allow it)"
    return Decision(last.allowed, tuple(hops), explanation, tuple(conditions))
