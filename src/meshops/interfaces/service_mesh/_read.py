"""Lenient readers: a remote app's databag in, models and problems out, never an exception.

Pure functions (no ``ops``, no I/O), so they can be tested on any string. Whatever the
other side wrote, each reader returns what it could use and a :class:`meshops.model.Problem`
for each thing it could not, quoting the bad value (shortened with :mod:`reprlib`).

Limits keep a hostile databag from costing more than a bounded amount of time:
a value over :data:`MAX_DATABAG_BYTES` or a list of more than :data:`MAX_POLICIES`
policies is refused whole, as one problem; deeply nested JSON is refused too.
"""

from __future__ import annotations

import dataclasses
import json
from collections.abc import Mapping, Sequence
from typing import Any

import pydantic

from meshops import model
from meshops.interfaces._fields import json_type
from meshops.interfaces.service_mesh._errors import as_field_error, clip, join_field, quote
from meshops.interfaces.service_mesh._wire import (
    CMRData,
    Endpoint,
    MeshPolicy,
    ServiceMeshProviderAppData,
)
from meshops.model import mesh

MAX_DATABAG_BYTES = 1 << 20
"""A databag value larger than this (1 MiB of UTF-8) is refused without parsing."""
MAX_POLICIES = 10_000
"""A ``policies`` list longer than this is refused whole."""
MAX_PROBLEMS = 100
"""Problems kept per databag; the rest are counted in one last problem."""
_ERRORS_PER_POLICY = 5
_FIELDS = frozenset(
    name
    for wire_model in (MeshPolicy, Endpoint, ServiceMeshProviderAppData, CMRData)
    for name in wire_model.model_fields
)


def load_json(raw: str) -> tuple[Any, str | None]:
    """Parse ``raw`` as JSON within the limits; return ``(value, None)`` or ``(None, why)``."""
    if len(raw) > MAX_DATABAG_BYTES:
        return None, (
            f"holds {len(raw)} characters, over the limit of {MAX_DATABAG_BYTES} bytes; "
            "refused unread"
        )
    size = len(raw.encode("utf-8", "surrogatepass"))
    if size > MAX_DATABAG_BYTES:
        return None, f"is {size} bytes, over the limit of {MAX_DATABAG_BYTES}; refused unread"
    try:
        return json.loads(raw), None
    except RecursionError:
        return None, f"is nested too deeply to parse: {quote(raw)}"
    except ValueError as e:  # JSONDecodeError, and integers with too many digits
        return None, f"is not valid JSON ({clip(str(e))}): {quote(raw)}"


def _loc(loc: Sequence[int | str]) -> str:
    out = ""
    for part in loc:
        if isinstance(part, int):
            out += f"[{part}]"
        elif part in _FIELDS:
            out += f".{part}"
        else:
            out += f"[{quote(part)}]"
    return out.lstrip(".")


def validation_problems(
    error: pydantic.ValidationError, field: str, *, source: str, app: str
) -> list[model.Problem]:
    """One problem per error pydantic found (the first few), fields prefixed with ``field``."""
    problems: list[model.Problem] = []
    details = error.errors(include_url=False)
    for detail in details[:_ERRORS_PER_POLICY]:
        where = join_field(field, _loc(detail["loc"]))
        ctx: dict[str, Any] = detail.get("ctx") or {}
        cause = ctx.get("error")
        if detail["type"] == "value_error" and isinstance(cause, ValueError):
            found = as_field_error(cause)
            where, message = join_field(where, found.field), found.detail
        elif detail["type"] == "missing":
            message = "is required"
        elif detail["type"] == "model_type":
            message = f"must be a JSON object, got {quote(detail['input'])}"
        else:
            message = f"{detail['msg']}, got {quote(detail['input'])}"
        problems.append(model.Problem(source, where, clip(message), app))
    if len(details) > _ERRORS_PER_POLICY:
        more = len(details) - _ERRORS_PER_POLICY
        problems.append(model.Problem(source, field, f"and {more} more errors", app))
    return problems


def _cap(problems: list[model.Problem], *, source: str, app: str) -> tuple[model.Problem, ...]:
    if len(problems) <= MAX_PROBLEMS:
        return tuple(problems)
    more = len(problems) - (MAX_PROBLEMS - 1)
    summary = model.Problem(source, "policies", f"and {more} more problems", app)
    return (*problems[: MAX_PROBLEMS - 1], summary)


@dataclasses.dataclass(frozen=True)
class PolicyRead:
    """What one consumer's ``policies`` databag held.

    All or nothing: when ``problems`` is not empty, ``wire`` and ``policies`` are empty.

    Attributes:
        wire: the policies as wire models, exactly as written.
        policies: the same policies as validated domain models.
        problems: what could not be used, one or more per bad policy.
    """

    wire: tuple[MeshPolicy, ...] = ()
    policies: tuple[model.MeshPolicy, ...] = ()
    problems: tuple[model.Problem, ...] = ()


def read_policies(raw: str | None, *, source: str, app: str) -> PolicyRead:
    """Read a consumer's ``policies`` value (None when the key is absent).

    Every policy must be valid for any to be used: a consumer whose databag holds one
    bad policy gets none, and a problem naming each bad one.

    Example:
        >>> read = read_policies('[{"source_namespace": 1}]', source="service-mesh:1", app="a")
        >>> read.policies
        ()
        >>> problem = read.problems[0]
        >>> problem.field, problem.message
        ('policies[0].source_namespace', 'Input should be a valid string, got 1')
    """
    if raw is None:
        return PolicyRead()
    value, why = load_json(raw)
    if why is not None:
        return PolicyRead(problems=(model.Problem(source, "policies", why, app),))
    if not isinstance(value, list):
        message = f"must be a JSON list of policies, got {json_type(value)}"
        return PolicyRead(problems=(model.Problem(source, "policies", message, app),))
    items: list[Any] = value  # pyright: ignore[reportUnknownVariableType]
    if len(items) > MAX_POLICIES:
        message = f"holds {len(items)} policies, over the limit of {MAX_POLICIES}; refused whole"
        return PolicyRead(problems=(model.Problem(source, "policies", message, app),))

    wire: list[MeshPolicy] = []
    policies: list[model.MeshPolicy] = []
    problems: list[model.Problem] = []
    for i, item in enumerate(items):
        field = f"policies[{i}]"
        try:
            policy = MeshPolicy.model_validate(item)
        except pydantic.ValidationError as e:
            problems.extend(validation_problems(e, field, source=source, app=app))
            continue
        try:
            domain = policy.to_model()
        except ValueError as e:
            error = as_field_error(e)
            where = join_field(field, error.field)
            problems.append(model.Problem(source, where, clip(error.detail), app))
            continue
        wire.append(policy)
        policies.append(domain)
    if problems:
        return PolicyRead(problems=_cap(problems, source=source, app=app))
    return PolicyRead(tuple(wire), tuple(policies))


def read_provider_data(
    databag: Mapping[str, str], *, source: str, app: str
) -> tuple[ServiceMeshProviderAppData | None, tuple[model.Problem, ...]]:
    """Read the provider's app databag: ``(data, ())``, ``(None, problems)``, or ``(None, ())``.

    An empty databag (the provider has not written yet) is not a problem. Keys other
    than ``labels`` and ``mesh_type`` are ignored unread.
    """
    if not databag:
        return None, ()
    values: dict[str, Any] = {}
    problems: list[model.Problem] = []
    for key in ("labels", "mesh_type"):
        raw = databag.get(key)
        if raw is None:
            problems.append(model.Problem(source, key, "is required", app))
            continue
        value, why = load_json(raw)
        if why is not None:
            problems.append(model.Problem(source, key, why, app))
        else:
            values[key] = value
    if problems:
        return None, tuple(problems)
    try:
        return ServiceMeshProviderAppData.model_validate(values), ()
    except pydantic.ValidationError as e:
        return None, tuple(validation_problems(e, "", source=source, app=app))


def read_cmr_data(
    raw: str | None, *, source: str, app: str
) -> tuple[CMRData | None, model.Problem | None]:
    """Read a cross-model peer's ``cmr_data`` value: ``(data, None)`` or ``(None, problem)``.

    Absent data (``raw`` None) is ``(None, None)``: the peer has not written yet.
    """
    if raw is None:
        return None, None
    value, why = load_json(raw)
    if why is not None:
        return None, model.Problem(source, "cmr_data", why, app)
    try:
        data = CMRData.model_validate(value)
        mesh.check_name(data.app_name, "app_name")
        mesh.check_namespace(data.juju_model_name, "juju_model_name")
    except pydantic.ValidationError as e:
        first = validation_problems(e, "cmr_data", source=source, app=app)[0]
        return None, first
    except ValueError as e:
        error = as_field_error(e)
        where = join_field("cmr_data", error.field)
        return None, model.Problem(source, where, clip(error.detail), app)
    return data, None
