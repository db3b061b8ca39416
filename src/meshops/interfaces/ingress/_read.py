"""Lenient readers of what the other side wrote: databags in, values and problems out.

Pure functions (no ``ops``, no I/O) that never raise, whatever the databags hold. Each
bad value becomes a :class:`meshops.model.Problem` naming the source (``"ingress:4"``),
the field and the value. A value over :data:`MAX_VALUE_CHARS` is refused unread, so a
hostile databag costs a bounded amount of time.

What any v2 release of the traefik library wrote reads back: the first ones wrote
strings unencoded (``name=shop`` rather than ``name="shop"``), so a string field whose
value is not JSON is taken as written; later ones wrote every field, ``null`` for an
unset ``strip-prefix`` or ``redirect-https`` (read as ``false``); units of releases from
before ``ip`` existed write only ``host``; keys added since (``healthcheck_params``) are
ignored.
"""

from __future__ import annotations

import dataclasses
import json
import re
from collections.abc import Mapping
from typing import Any, cast

import pydantic

from meshops import model
from meshops.interfaces._fields import json_type
from meshops.interfaces.ingress._errors import clip, quote
from meshops.interfaces.ingress._wire import (
    APP_KEYS,
    HOST_KEY,
    INGRESS_KEY,
    IP_KEY,
    MODEL_KEY,
    NAME_KEY,
    PORT_KEY,
    REDIRECT_HTTPS_KEY,
    SCHEME_KEY,
    SCHEMES,
    STRIP_PREFIX_KEY,
    IngressRequirerAppData,
    IngressRequirerData,
    IngressRequirerUnitData,
    IngressUrl,
    Scheme,
    is_dns_label,
    is_host,
    is_ip,
)

__all__ = [
    "MAX_VALUE_CHARS",
    "IngressRequest",
    "RequestRead",
    "has_request",
    "load_json",
    "read_relation",
    "read_request",
    "read_url",
]

MAX_VALUE_CHARS = 64 * 1024
"""A databag value longer than this is refused unread."""
_UNIT_PROBLEMS = 5
_UNIT_NUMBER = re.compile(r"(.*)/([0-9]{1,9})")


@dataclasses.dataclass(frozen=True)
class IngressRequest:
    """What one requirer asked for over one ``ingress`` relation.

    Usable only when :attr:`problems` is empty. Otherwise each problem names the field
    and quotes the value, and the fields that could not be read hold placeholders
    (``""``, ``0``, ``False``, ``"http"``, ``()``): report the problems and route nothing.

    Attributes:
        relation_id: the relation's id.
        app: the requirer application as this model sees it (across models, an alias).
        name: the application name the requirer gave (its Service's name).
        model: the requirer's model (its Service's namespace).
        port: the Service port to route to, 1-65535.
        strip_prefix: strip the URL's path prefix before forwarding.
        redirect_https: redirect plain HTTP to HTTPS.
        scheme: how to talk to the backend: ``http``, ``https`` or ``h2c``.
        hosts: the host names of the units that published a valid one, by unit number.
        problems: why the request cannot be used; empty when it can.
    """

    relation_id: int
    app: str
    name: str
    model: str
    port: int
    strip_prefix: bool
    redirect_https: bool
    scheme: Scheme
    hosts: tuple[str, ...]
    problems: tuple[model.Problem, ...]

    @property
    def ok(self) -> bool:
        """Whether the request is usable (it has no problems)."""
        return not self.problems


@dataclasses.dataclass(frozen=True)
class RequestRead:
    """A request and what else was read beside it.

    Attributes:
        request: the request (see :class:`IngressRequest` for when it is usable).
        units: the units that published a valid host, with their ``ip`` when valid.
        skipped: problems with single units that did not void the request (a unit
            with a bad host is left out; a bad ``ip`` is dropped); worth a log line.
    """

    request: IngressRequest
    units: tuple[IngressRequirerUnitData, ...]
    skipped: tuple[model.Problem, ...]

    def requirer_data(self) -> IngressRequirerData:
        """The request as the traefik library's :class:`IngressRequirerData`.

        Raises:
            ValueError: the request has problems.
        """
        request = self.request
        if request.problems:
            raise ValueError("; ".join(str(p) for p in request.problems))
        app = IngressRequirerAppData.model_validate(
            {
                "model": request.model,
                "name": request.name,
                "port": request.port,
                "strip_prefix": request.strip_prefix,
                "redirect_https": request.redirect_https,
                "scheme": request.scheme,
            }
        )
        return IngressRequirerData(app=app, units=list(self.units))


def load_json(raw: str) -> tuple[Any, str | None]:
    """Parse ``raw`` as JSON within the limits: ``(value, None)`` or ``(None, why)``.

    Example:
        >>> load_json("8080")
        (8080, None)
        >>> load_json("{")[1]
        "is not valid JSON (Expecting property name enclosed in double quotes: line 1 column 2 (char 1)): '{'"
    """  # noqa: E501
    if len(raw) > MAX_VALUE_CHARS:
        return None, f"holds {len(raw)} characters, over the limit of {MAX_VALUE_CHARS}"
    try:
        return json.loads(raw), None
    except RecursionError:
        return None, f"is nested too deeply to parse: {quote(raw)}"
    except ValueError as e:  # JSONDecodeError, and integers with too many digits
        return None, f"is not valid JSON ({clip(str(e))}): {quote(raw)}"


def _string(raw: str) -> tuple[str, str | None]:
    """A string field: a JSON string, or (as the first v2 releases wrote it) raw text."""
    if len(raw) > MAX_VALUE_CHARS:
        return "", f"holds {len(raw)} characters, over the limit of {MAX_VALUE_CHARS}"
    value, why = load_json(raw)
    if why is not None:
        return raw, None
    if not isinstance(value, str):
        return "", f"must be a JSON string, got {json_type(value)}"
    return value, None


def _label(raw: str | None) -> tuple[str, str | None]:
    if raw is None:
        return "", "is required"
    value, why = _string(raw)
    if why is not None:
        return "", why
    if not is_dns_label(value):
        return "", (
            f"{quote(value)} must be a DNS label (1-63 characters of a-z, 0-9 and '-', "
            "starting and ending with a letter or digit)"
        )
    return value, None


def _port(raw: str | None) -> tuple[int, str | None]:
    if raw is None:
        return 0, "is required"
    value, why = load_json(raw)
    if why is not None:
        return 0, why
    if isinstance(value, bool) or not isinstance(value, int):
        return 0, f"must be a JSON integer 1-65535, got {json_type(value)}"
    if not 1 <= value <= 65535:
        return 0, f"{quote(value)} must be 1-65535"
    return value, None


def _flag(raw: str | None) -> tuple[bool, str | None]:
    if raw is None:
        return False, None
    value, why = load_json(raw)
    if why is not None:
        return False, why
    if value is None:  # releases that wrote every field wrote null for "not set"
        return False, None
    if not isinstance(value, bool):
        return False, f"must be a JSON boolean, got {json_type(value)}"
    return value, None


def _scheme(raw: str | None) -> tuple[Scheme, str | None]:
    if raw is None:
        return "http", None
    value, why = _string(raw)
    if why is not None:
        return "http", why
    for scheme in SCHEMES:
        if value == scheme:
            return scheme, None
    return "http", f"{quote(value)} must be http, https or h2c"


def _unit_order(name: str) -> tuple[str, int, str]:
    match = _UNIT_NUMBER.fullmatch(name)
    if match is None:
        return (name, -1, name)
    return (match.group(1), int(match.group(2)), name)


def _read_unit(
    unit: str, databag: Mapping[str, str], *, source: str, app: str
) -> tuple[IngressRequirerUnitData | None, list[model.Problem]]:
    """One unit's data: ``(None, [])`` if it has not written a host yet."""
    raw_host = databag.get(HOST_KEY)
    if raw_host is None:
        return None, []
    where = f"units[{unit}]"
    host, why = _string(raw_host)
    if why is None and not is_host(host):
        why = f"{quote(host)} must be a host name or an IP address"
    if why is not None:
        return None, [model.Problem(source, f"{where}.{HOST_KEY}", why, app)]
    problems: list[model.Problem] = []
    ip: str | None = None
    raw_ip = databag.get(IP_KEY)
    if raw_ip is not None:
        value, why = load_json(raw_ip)
        if why is None and value is not None:
            if isinstance(value, str) and is_ip(value):
                ip = value
            else:
                why = f"must be an IP address as a JSON string, got {json_type(value)}"
        if why is not None:
            problems.append(model.Problem(source, f"{where}.{IP_KEY}", f"{why}; ignored", app))
    return IngressRequirerUnitData(host=host, ip=ip), problems


def has_request(app_databag: Mapping[str, str]) -> bool:
    """Whether the requirer has written its app data (any of the ingress keys)."""
    return any(key in app_databag for key in APP_KEYS)


def read_relation(
    app_databag: Mapping[str, str],
    unit_databags: Mapping[str, Mapping[str, str]],
    *,
    relation_id: int,
    app: str,
    source: str | None = None,
) -> RequestRead:
    """Read a requirer's app and unit databags; see :func:`read_request`.

    Returns the request together with the valid units (host and ip) and the problems
    with single units that did not void the request.
    """
    source = source if source is not None else f"ingress:{relation_id}"
    problems: list[model.Problem] = []

    def check(key: str, result: tuple[Any, str | None]) -> Any:
        value, why = result
        if why is not None:
            problems.append(model.Problem(source, key, clip(why), app))
        return value

    name: str = check(NAME_KEY, _label(app_databag.get(NAME_KEY)))
    model_name: str = check(MODEL_KEY, _label(app_databag.get(MODEL_KEY)))
    port: int = check(PORT_KEY, _port(app_databag.get(PORT_KEY)))
    strip_prefix: bool = check(STRIP_PREFIX_KEY, _flag(app_databag.get(STRIP_PREFIX_KEY)))
    redirect_https: bool = check(REDIRECT_HTTPS_KEY, _flag(app_databag.get(REDIRECT_HTTPS_KEY)))
    scheme: Scheme = check(SCHEME_KEY, _scheme(app_databag.get(SCHEME_KEY)))

    units: list[IngressRequirerUnitData] = []
    bad_hosts: list[model.Problem] = []
    skipped: list[model.Problem] = []
    for unit in sorted(unit_databags, key=_unit_order):
        data, unit_problems = _read_unit(unit, unit_databags[unit], source=source, app=app)
        if data is None:
            bad_hosts.extend(unit_problems)
        else:
            units.append(data)
            skipped.extend(unit_problems)
    if bad_hosts and not units:
        # Every unit that wrote a host wrote a bad one: the requirer is broken.
        problems.extend(bad_hosts[:_UNIT_PROBLEMS])
        if len(bad_hosts) > _UNIT_PROBLEMS:
            more = len(bad_hosts) - _UNIT_PROBLEMS
            problems.append(model.Problem(source, "units", f"and {more} more bad hosts", app))
    else:
        skipped = bad_hosts + skipped

    request = IngressRequest(
        relation_id=relation_id,
        app=app,
        name=name,
        model=model_name,
        port=port,
        strip_prefix=strip_prefix,
        redirect_https=redirect_https,
        scheme=scheme,
        hosts=tuple(unit.host for unit in units) if not problems else (),
        problems=tuple(problems),
    )
    return RequestRead(request=request, units=tuple(units), skipped=tuple(skipped))


def read_request(
    app_databag: Mapping[str, str],
    unit_databags: Mapping[str, Mapping[str, str]],
    *,
    relation_id: int,
    app: str,
    source: str | None = None,
) -> IngressRequest:
    """Read what a requirer wrote into an :class:`IngressRequest`; never raises.

    ``name`` and ``model`` must be DNS labels, ``port`` a JSON integer 1-65535,
    ``strip-prefix`` and ``redirect-https`` JSON booleans (``null`` or absent: false),
    ``scheme`` one of ``http``, ``https``, ``h2c`` (absent: ``http``); unknown keys are
    ignored. Units that have not written ``host`` yet are left out. A unit whose host is
    invalid is left out too, and is a problem only when no unit has a valid host (then
    the requirer is broken, not merely one unit); an invalid ``ip`` is ignored. A
    request with no units at all is valid: the backend is the requirer's Service.

    Args:
        app_databag: the requirer's app databag.
        unit_databags: each requirer unit's databag, by unit name (``"shop/0"``).
        relation_id: the relation's id.
        app: the requirer application's name as this model sees it.
        source: how problems name the relation; defaults to ``"ingress:<relation_id>"``.

    Example:
        >>> request = read_request(
        ...     {"name": '"shop"', "model": '"prod"', "port": "8080"},
        ...     {"shop/0": {"host": '"shop-0.shop-endpoints"'}},
        ...     relation_id=4,
        ...     app="shop",
        ... )
        >>> request.port, request.scheme, request.hosts, request.problems
        (8080, 'http', ('shop-0.shop-endpoints',), ())
        >>> bad = {"name": '"shop"', "model": '"prod"', "port": '"8080"'}
        >>> [str(p) for p in read_request(bad, {}, relation_id=4, app="shop").problems]
        ["ingress:4 (shop): port: must be a JSON integer 1-65535, got a string '8080'"]
    """
    return read_relation(
        app_databag, unit_databags, relation_id=relation_id, app=app, source=source
    ).request


def read_url(
    databag: Mapping[str, str], *, source: str, app: str
) -> tuple[str | None, model.Problem | None]:
    """The URL a provider published: ``(url, None)``, ``(None, None)`` or ``(None, problem)``.

    ``(None, None)`` means nothing is published yet (no ``ingress`` key, or ``null``).
    The URL is normalised as the traefik library returns it (``http://10.0.0.1`` becomes
    ``http://10.0.0.1/``).

    Example:
        >>> read_url({"ingress": '{"url": "http://gw/prod-shop"}'}, source="ingress:4", app="gw")
        ('http://gw/prod-shop', None)
    """
    raw = databag.get(INGRESS_KEY)
    if raw is None:
        return None, None
    value, why = load_json(raw)
    if why is None and value is None:
        return None, None
    field = INGRESS_KEY
    if why is None:
        if not isinstance(value, dict) or "url" not in value:
            why = f'must be a JSON object {{"url": ...}}, got {json_type(value)}'
        else:
            field = f"{INGRESS_KEY}.url"
            url = cast("dict[str, object]", value)["url"]
            if not isinstance(url, str):
                why = f"must be a JSON string, got {json_type(url)}"
            else:
                try:
                    return str(IngressUrl.model_validate({"url": url}).url), None
                except (pydantic.ValidationError, ValueError):
                    why = f"{quote(url)} must be an absolute http or https URL"
    return None, model.Problem(source, field, clip(why), app)
