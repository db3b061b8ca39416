"""Load a platform file into a :class:`~meshops.model.platform.Platform`, or say why not.

Loading goes through four checks, each collecting every error it finds before the
next one runs (a later check cannot run on what an earlier one refused):

1. the YAML (:mod:`meshops.platform_file.source`): syntax, duplicate keys, tags, size;
2. the schema (:mod:`meshops.platform_file.schema`): keys, types and values;
3. the domain model's own checks, while the file is turned into model objects (and,
   for the ``ingress`` section, the apps and namespaces it names:
   :mod:`meshops.platform_file.ingress`);
4. the plans: :func:`meshops.plan.platform.platform_objects` for how the parts fit
   together (apps in declared namespaces, callers that exist, ports exposed...), and
   :func:`meshops.plan.ingress.plan_ingress` for the routes (two routes claiming the
   same path, port or hostname).

Every error is a :class:`~meshops.platform_file.errors.SpecError` pointing at a line and column;
:class:`~meshops.platform_file.errors.PlatformFileError` carries them all.

:func:`load` and :func:`load_file` return the :class:`~meshops.model.platform.Platform`;
:func:`read` and :func:`read_file` a :class:`Declaration`: the platform and its ingress.
Both check the whole file.

Example:
    >>> platform = load('''
    ... apiVersion: meshops.io/v1alpha1
    ... kind: Platform
    ... metadata: {name: demo}
    ... spec:
    ...   namespaces: [{name: demo}]
    ... ''')
    >>> platform.namespaces[0].name
    'demo'
"""

from __future__ import annotations

import contextlib
import dataclasses
import functools
import gc
import os
import re
from collections.abc import Callable, Generator, Sequence
from pathlib import Path as FilePath
from typing import Any, ParamSpec, TypeVar, get_args

import pydantic
import pydantic_core

from meshops.model import mesh
from meshops.model.platform import (
    Accept,
    App,
    AppRef,
    Istio,
    Level,
    MeshMode,
    Namespace,
    Platform,
    Port,
    Profile,
    Protocol,
)
from meshops.model.problems import Problem, closest, did_you_mean
from meshops.plan.ingress import IngressPlan, plan_ingress
from meshops.plan.platform import platform_objects
from meshops.platform_file import schema
from meshops.platform_file.errors import FileTooLargeError, PlatformFileError, SpecError, quote
from meshops.platform_file.ingress import Ingress, build_ingress, plan_errors
from meshops.platform_file.source import Document, Path, parse

__all__ = ["MAX_FILE_BYTES", "Declaration", "load", "load_file", "read", "read_file"]

Obj = dict[str, Any]
P = ParamSpec("P")

#: The largest platform file read, in bytes: 10 MB. A larger one is refused unread.
MAX_FILE_BYTES = 10_000_000
T = TypeVar("T")

#: Model field names that the file spells differently.
_FILE_KEYS = {
    "sources": "from",
    "service_account": "serviceAccount",
    "watched_namespaces": "watchedNamespaces",
}
_FIELD = re.compile(r"[A-Za-z_]+(\[\d+\])*(\.[A-Za-z_]+(\[\d+\])*)*")
_SEGMENT = re.compile(r"([A-Za-z_]+)|\[(\d+)\]")

_TYPES = {
    "int_type": "an integer",
    "string_type": "a string",
    "list_type": "a list",
    "model_type": "a mapping",
    "dict_type": "a mapping",
    "model_attributes_type": "a mapping",
    "bool_type": "true or false",
}


@dataclasses.dataclass(frozen=True)
class Declaration:
    """Everything a platform file declares, and its plans (made once, when first asked).

    Attributes:
        platform: the namespaces and apps, and who may call whom.
        ingress: the gateway and its routes, when the file has an ``ingress`` section.
    """

    platform: Platform
    ingress: Ingress | None = None

    @functools.cached_property
    def mesh_plan(self) -> tuple[Sequence[Obj], Sequence[Problem]]:
        """The mesh's objects and problems (:func:`~meshops.plan.platform.platform_objects`)."""
        objects, problems = platform_objects(self.platform)
        return tuple(objects), tuple(problems)

    @functools.cached_property
    def ingress_plan(self) -> IngressPlan | None:
        """The ingress's plan (:func:`~meshops.plan.ingress.plan_ingress`), if any."""
        ingress = self.ingress
        if ingress is None:
            return None
        return plan_ingress(ingress.gateway, ingress.route_sets, ingress.waypoints)


def load_file(path: str | os.PathLike[str], *, max_bytes: int = MAX_FILE_BYTES) -> Platform:
    """Read and check the platform file at ``path``; return its platform.

    Raises:
        PlatformFileError: the file cannot be read, is larger than ``max_bytes``, or is
            not a valid platform file.
    """
    return read_file(path, max_bytes=max_bytes).platform


def load(text: str, file: str = "<string>") -> Platform:
    """Check a platform file's text and return the platform it declares.

    Args:
        text: the file's content.
        file: the file's name, for errors.

    Raises:
        PlatformFileError: the text is not a valid platform file.
    """
    return read(text, file).platform


def read_file(path: str | os.PathLike[str], *, max_bytes: int = MAX_FILE_BYTES) -> Declaration:
    """Read and check the platform file at ``path``; return all it declares.

    Args:
        path: the file.
        max_bytes: the largest file read: one larger is refused before it is parsed
            (and only ``max_bytes`` and one byte of it are ever read).

    Raises:
        PlatformFileError: the file cannot be read, is larger than ``max_bytes``, or is
            not a valid platform file.
    """
    file = os.fspath(path)
    try:
        with FilePath(file).open("rb") as stream:
            raw = stream.read(max_bytes + 1)
    except OSError as e:
        reason = e.strerror or str(e)
        raise PlatformFileError(
            [SpecError(file, message=f"cannot read the file: {reason}")]
        ) from None
    if len(raw) > max_bytes:
        raise FileTooLargeError(file, max_bytes)
    try:
        text = raw.decode("utf-8-sig")
    except UnicodeDecodeError as e:
        line = raw.count(b"\n", 0, e.start) + 1
        column = e.start - (raw.rfind(b"\n", 0, e.start) + 1) + 1
        message = f"the file is not UTF-8 text (byte 0x{raw[e.start]:02x})"
        raise PlatformFileError([SpecError(file, line, column, "", message)]) from None
    return read(text, file)


def read(text: str, file: str = "<string>") -> Declaration:
    """Check a platform file's text and return everything it declares.

    Args:
        text: the file's content.
        file: the file's name, for errors.

    Raises:
        PlatformFileError: the text is not a valid platform file.
    """
    with collector_paused():
        return _read(text, file)


@contextlib.contextmanager
def collector_paused() -> Generator[None, None, None]:
    """Python's cyclic garbage collector off while a file is read and checked.

    Reading a platform file makes a few hundred thousand objects (YAML nodes and marks,
    values and positions, model objects, planned objects) that live until the end and
    form no cycles: every collection their allocation triggers walks all of them again
    for nothing, about half the time a 1 MB file took. They are still freed by reference
    counting; the collector is on again (if it was) when done.
    """
    enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if enabled:
            gc.enable()


def _read(text: str, file: str) -> Declaration:
    doc = parse(text, file)
    data = doc.data
    if not isinstance(data, dict):
        message = (
            "a platform file must be a mapping with apiVersion, kind, metadata and spec, "
            f"not {_describe(data)}"
        )
        raise PlatformFileError([doc.error((), message)])
    try:
        spec = schema.PlatformFile.model_validate(data)
    except pydantic.ValidationError as e:
        raise PlatformFileError(_schema_errors(doc, e.errors(include_url=False))) from None
    errors: list[SpecError] = []
    platform = _platform(doc, spec, errors)
    ingress = build_ingress(doc, spec, errors) if spec.spec.ingress is not None else None
    if platform is None or errors:
        raise PlatformFileError([*_stray_apps(doc, spec, errors), *errors])
    declaration = Declaration(platform, ingress)
    errors = [problem_error(doc, p) for p in declaration.mesh_plan[1]]
    if ingress is not None and declaration.ingress_plan is not None:
        errors += plan_errors(doc, ingress, declaration.ingress_plan)
    if errors:
        raise PlatformFileError(errors)
    return declaration


def problem_error(doc: Document, problem: Problem) -> SpecError:
    """The error pointing at the file's place for a plan problem about ``doc``'s platform."""
    path = _field_path(problem.field)
    if path is None:
        return SpecError(doc.file, message=str(problem))
    return doc.error(("spec", *path), problem.message)


def _stray_apps(
    doc: Document, spec: schema.PlatformFile, errors: Sequence[SpecError]
) -> list[SpecError]:
    """Root causes the plan would report, when other errors stop the file before it.

    An app in a namespace that is not declared makes every reference to it an "unknown
    app" (the ingress section's included, which are checked first): the namespace is
    reported too, and first, so that the fix is the app's namespace, not the reference.
    """
    declared = sorted({ns.name for ns in spec.spec.namespaces})
    found: list[SpecError] = []
    for i, app in enumerate(spec.spec.apps):
        if app.namespace in declared:
            continue
        message = f"namespace {app.namespace!r} is not declared in namespaces" + did_you_mean(
            app.namespace, declared
        )
        error = doc.error(("spec", "apps", i, "namespace"), message)
        if error not in errors:
            found.append(error)
    return found


# -- the schema's errors -----------------------------------------------------------------


def _schema_errors(
    doc: Document, details: Sequence[pydantic_core.ErrorDetails]
) -> list[SpecError]:
    """One error per schema error, except that a misspelt key is not also missing."""
    misspelt: set[Path] = set()
    for detail in details:
        if detail["type"] == "extra_forbidden":
            loc = _file_loc(detail)
            guess = _guess(str(loc[-1]), _keys_at(loc[:-1]))
            if guess is not None:
                misspelt.add((*loc[:-1], guess))
    return [
        _schema_error(doc, d)
        for d in details
        if not (d["type"] == "missing" and _file_loc(d) in misspelt)
    ]


def _file_loc(detail: pydantic_core.ErrorDetails) -> Path:
    """An error's location in the file: pydantic's, without the tags of union members."""
    return tuple(s for s in detail["loc"] if s not in schema.UNION_TAGS)


def _schema_error(doc: Document, detail: pydantic_core.ErrorDetails) -> SpecError:
    loc = _file_loc(detail)
    kind = detail["type"]
    value: object = detail.get("input")
    key = loc[-1] if loc else ""
    if detail["loc"] and detail["loc"][-1] == schema.UNION_TAGS[1] and kind == "list_type":
        return doc.error(loc, f"must be a mapping or a list, not {_describe(value)}")
    if kind == "missing":
        return doc.error(loc, f"{key!r} is required", key=True)
    if kind == "extra_forbidden":
        message = f"unknown key {quote(key)}" + _suggest(str(key), _keys_at(loc[:-1]))
        return doc.error(loc, message, key=True)
    if kind == "value_error":
        ctx = detail.get("ctx") or {}
        return doc.error(loc, str(ctx.get("error", detail["msg"])))
    if kind == "too_short":
        return doc.error(loc, "must not be empty")
    if kind in _TYPES:
        return doc.error(loc, f"must be {_TYPES[kind]}, not {_describe(value)}")
    return doc.error(loc, f"{detail['msg']} (got {_describe(value)})")  # pragma: no cover


def _describe(value: object) -> str:
    """How an error names a value of the wrong type."""
    if value is None:
        return "null"
    if isinstance(value, bool):
        return f"the boolean {str(value).lower()}"
    if isinstance(value, int):
        return f"the integer {quote(value)}"
    if isinstance(value, float):
        return f"the number {quote(value)}"
    if isinstance(value, str):
        return f"the string {quote(value)}"
    if isinstance(value, list):
        return "a list"
    if isinstance(value, dict):
        return "a mapping"
    return quote(value)  # pragma: no cover


def _keys_at(loc: Path) -> list[str]:
    """The keys the schema knows in the mapping at ``loc``."""
    model: type[pydantic.BaseModel] | None = schema.PlatformFile
    for segment in loc:
        if model is None:
            return []
        if isinstance(segment, int):
            continue
        field = next(
            (f for name, f in model.model_fields.items() if (f.alias or name) == segment), None
        )
        model = _model_in(field.annotation) if field is not None else None
    if model is None:
        return []
    return [f.alias or name for name, f in model.model_fields.items()]


def _model_in(annotation: Any) -> type[pydantic.BaseModel] | None:
    if isinstance(annotation, type) and issubclass(annotation, pydantic.BaseModel):
        return annotation
    for arg in get_args(annotation):
        found = _model_in(arg)
        if found is not None:
            return found
    return None


def _suggest(key: str, known: Sequence[str]) -> str:
    """``"; did you mean 'x'?"`` for the known key closest to ``key``, or ""."""
    return did_you_mean(key, known)


def _guess(key: str, known: Sequence[str]) -> str | None:
    """The known key ``key`` is most likely a misspelling of, if any is close."""
    return closest(key, known)


# -- the file into the model ---------------------------------------------------------------


def _platform(
    doc: Document, spec: schema.PlatformFile, errors: list[SpecError]
) -> Platform | None:
    namespaces = [
        _build(doc, errors, ("spec", "namespaces", i), Namespace, ns.name, MeshMode(ns.mesh))
        for i, ns in enumerate(spec.spec.namespaces)
    ]
    apps = [_app(doc, ("spec", "apps", i), app, errors) for i, app in enumerate(spec.spec.apps)]
    istio = _istio(doc, spec.spec.istio, errors)
    valid_namespaces = [ns for ns in namespaces if ns is not None]
    valid_apps = [app for app in apps if app is not None]
    if len(valid_namespaces) < len(namespaces) or len(valid_apps) < len(apps):
        return None
    if istio is None and spec.spec.istio is not None:
        return None
    return _build(
        doc,
        errors,
        (),
        Platform,
        spec.metadata.name,
        tuple(valid_namespaces),
        tuple(valid_apps),
        istio=istio,
        hardened=spec.spec.hardened,
    )


def _istio(doc: Document, istio: schema.IstioSpec | None, errors: list[SpecError]) -> Istio | None:
    if istio is None:
        return None
    return _build(
        doc,
        errors,
        ("spec", "istio"),
        Istio,
        enabled=istio.enabled,
        profile=Profile(istio.profile),
        hub=istio.hub,
        tag=istio.tag,
        namespace=istio.namespace,
        watched_namespaces=tuple(istio.watched_namespaces or ()),
    )


def _app(doc: Document, path: Path, app: schema.AppSpec, errors: list[SpecError]) -> App | None:
    ports = [
        _build(doc, errors, (*path, "ports", i), Port, p.port, Protocol(p.protocol))
        for i, p in enumerate(app.ports)
    ]
    accepts = [
        _accept(doc, (*path, "accepts", i), app.namespace, rule, errors)
        for i, rule in enumerate(app.accepts)
    ]
    valid_ports = [p for p in ports if p is not None]
    valid_accepts = [a for a in accepts if a is not None]
    if len(valid_ports) < len(ports) or len(valid_accepts) < len(accepts):
        return None
    return _build(
        doc,
        errors,
        path,
        App,
        app.name,
        app.namespace,
        service_account=app.service_account,
        ports=tuple(valid_ports),
        accepts=tuple(valid_accepts),
    )


def _accept(
    doc: Document, path: Path, namespace: str, rule: schema.AcceptSpec, errors: list[SpecError]
) -> Accept | None:
    sources = tuple(_caller(namespace, caller) for caller in rule.from_)
    return _build(
        doc,
        errors,
        path,
        Accept,
        sources,
        level=Level(rule.level),
        ports=tuple(rule.ports),
        methods=tuple(mesh.Method(m) for m in rule.methods),
        paths=tuple(rule.paths),
        hosts=tuple(rule.hosts),
    )


def _caller(namespace: str, caller: str) -> AppRef:
    """A ``from`` entry as an :class:`AppRef`: ``app`` is in the rule's own namespace."""
    other, slash, name = caller.partition("/")
    return AppRef(other, name) if slash else AppRef(namespace, caller)


def _build(
    doc: Document,
    errors: list[SpecError],
    path: Path,
    make: Callable[P, T],
    *args: P.args,
    **kwargs: P.kwargs,
) -> T | None:
    """``make(*args, **kwargs)``, or None with its ValueError recorded at its place.

    The model's errors start with the field they are about (``ports[0]: ...``); that
    field is followed from ``path`` to the place in the file.
    """
    try:
        return make(*args, **kwargs)
    except ValueError as e:
        field, sep, message = str(e).partition(": ")
        sub = _field_path(field) if sep else None
        if sub is None:
            errors.append(doc.error(path, str(e)))
        else:
            errors.append(doc.error((*path, *sub), message))
        return None


def _field_path(field: str) -> Path | None:
    """A model field path (``apps[2].sources[0]``) as the file's path, or None."""
    if not _FIELD.fullmatch(field):
        return None
    path: list[str | int] = []
    for name, index in _SEGMENT.findall(field):
        path.append(_FILE_KEYS.get(name) or name if name else int(index))
    return tuple(path)
