"""One time budget for every Kubernetes request of a hook, retries and timeouts included.

Juju runs a unit's hooks one at a time: a hook that waits minutes on a slow API server
holds up every event behind it. A :class:`Deadline` bounds everything the
:class:`~meshops.k8s.api.Api` objects sharing it do — each request, each request that
times out, each backoff between retries — to one budget, :data:`DEFAULT_SECONDS` unless
told otherwise. Each request also has its own timeout, :data:`REQUEST_TIMEOUT`, never
longer than what is left of the budget. Once the budget is spent no request is sent:
the call raises :class:`~meshops.k8s.errors.DeadlineExceeded` (a temporary error), the
hook ends, and the next event tries again.

Example:
    >>> now = [0.0]
    >>> deadline = Deadline(30, clock=lambda: now[0])
    >>> deadline.request_timeout()
    10.0
    >>> now[0] = 25.0
    >>> deadline.request_timeout(), deadline.expired
    (5.0, False)
    >>> now[0] = 30.0
    >>> deadline.expired
    True
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable

from meshops.k8s import client as k8s_client

__all__ = ["DEFAULT_SECONDS", "REQUEST_TIMEOUT", "Deadline"]

#: A hook's budget for the Kubernetes API, in seconds.
DEFAULT_SECONDS = 30.0
#: The longest one request may take, in seconds (lightkube's own default).
REQUEST_TIMEOUT = 10.0


class Deadline:
    """A time budget, started when made.

    Args:
        seconds: the budget; None for none (only each request's timeout applies).
        request_timeout: the longest one request may take.
        clock: monotonic seconds; default: the clock a test transport was installed with
            (:func:`meshops.k8s.client.use_transport`), else :func:`time.monotonic`.
    """

    def __init__(
        self,
        seconds: float | None = DEFAULT_SECONDS,
        *,
        request_timeout: float = REQUEST_TIMEOUT,
        clock: Callable[[], float] | None = None,
    ) -> None:
        if seconds is not None and not seconds > 0:
            raise ValueError(f"deadline {seconds!r} must be a positive number of seconds")
        if not request_timeout > 0:
            raise ValueError(f"request timeout {request_timeout!r} must be positive seconds")
        if clock is None:
            installed = k8s_client.installed_clock()
            clock = installed.now if installed is not None else time.monotonic
        self.seconds = seconds
        self.timeout = request_timeout
        self._clock = clock
        self._ends = math.inf if seconds is None else clock() + seconds

    def remaining(self) -> float:
        """Seconds left (``inf`` without a budget; never below 0)."""
        return max(self._ends - self._clock(), 0.0)

    @property
    def expired(self) -> bool:
        """Whether the budget is spent."""
        return self.remaining() <= 0

    def request_timeout(self) -> float:
        """The timeout of a request sent now: its own, or what is left if that is less."""
        return min(self.timeout, self.remaining())
