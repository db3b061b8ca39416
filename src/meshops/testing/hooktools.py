"""Count what a charm costs a Juju unit: hook-tool calls and juju-log lines, under ops.testing.

In a unit every hook-tool call (relation-get, relation-set, relation-list, juju-log,
status-set, ...) is a process exec. :func:`hook_tools` counts the calls ops makes to
ops.testing's model backend, the place ops would run them; :func:`log_lines` counts a
run's juju-log lines at the levels Juju records by default (INFO and above).

Example:
    >>> with hook_tools() as calls:  # doctest: +SKIP
    ...     ctx.run(ctx.on.update_status(), state)
    >>> calls()  # doctest: +SKIP
    7
"""

from __future__ import annotations

import contextlib
import functools
import os
import sys
import weakref
from collections.abc import Callable, Generator
from typing import Any

from ops import testing
from scenario import mocking

__all__ = ["HOOK_TOOLS", "RECORDED_LEVELS", "hook_tools", "log_lines"]

# ops.testing's model backend is where the calls ops would run as hook tools arrive;
# it has no public name.
_BACKEND: Any = mocking._MockModelBackend  # pyright: ignore[reportPrivateUsage]
#: The model backend's methods that run a hook tool under Juju (ops.model._ModelBackend).
HOOK_TOOLS = (
    "action_fail",
    "action_get",
    "action_log",
    "action_set",
    "add_metrics",
    "application_version_set",
    "close_port",
    "config_get",
    "credential_get",
    "is_leader",
    "juju_log",
    "network_get",
    "open_port",
    "opened_ports",
    "planned_units",
    "pod_spec_set",
    "reboot",
    "relation_get",
    "relation_ids",
    "relation_list",
    "relation_model_get",
    "relation_remote_app_name",
    "relation_set",
    "resource_get",
    "secret_add",
    "secret_get",
    "secret_grant",
    "secret_info_get",
    "secret_remove",
    "secret_revoke",
    "secret_set",
    "status_get",
    "status_set",
    "storage_add",
    "storage_get",
    "storage_list",
)
#: Print each call to stderr (set ``MESHOPS_HOOK_TOOLS=1``).
VERBOSE = bool(os.environ.get("MESHOPS_HOOK_TOOLS"))
#: Juju's default logging-config records INFO and above.
RECORDED_LEVELS = frozenset({"INFO", "WARNING", "ERROR", "CRITICAL"})


@contextlib.contextmanager
def hook_tools() -> Generator[Callable[[], int]]:
    """Count the hook-tool calls ops makes to ops.testing's model backend.

    Yields a function returning the count so far. Calls the backend makes to itself
    are not counted; ``is_leader`` counts once per hook, as ops's own backend caches it
    for Juju's 30 s lease (ops.testing's does not).
    """
    count = [0]
    depth = [0]
    asked_leader: weakref.WeakSet[Any] = weakref.WeakSet()
    saved = {name: getattr(_BACKEND, name) for name in HOOK_TOOLS}

    def counted(name: str, method: Callable[..., Any]) -> Callable[..., Any]:
        @functools.wraps(method)
        def wrapper(self: Any, *args: Any, **kwargs: Any) -> Any:
            if depth[0] == 0 and not (name == "is_leader" and self in asked_leader):
                count[0] += 1
                if VERBOSE:
                    print("hook tool:", name, args[:2], file=sys.stderr)
                if name == "is_leader":
                    asked_leader.add(self)
            depth[0] += 1
            try:
                return method(self, *args, **kwargs)
            finally:
                depth[0] -= 1

        return wrapper

    for name, method in saved.items():
        setattr(_BACKEND, name, counted(name, method))
    try:
        yield lambda: count[0]
    finally:
        for name, method in saved.items():
            setattr(_BACKEND, name, method)


def log_lines(ctx: testing.Context[Any]) -> int:
    """The juju-log lines of ``ctx``'s runs at the levels Juju records by default."""
    return sum(1 for line in ctx.juju_log if line.level in RECORDED_LEVELS)
