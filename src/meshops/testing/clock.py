"""A clock whose seconds pass only when something says so: tests that take time, instantly.

The fake API server advances it by the time its slow requests take; an
:class:`~meshops.k8s.api.Api` made under ``FakeKubernetes.installed()`` reads the time
from it and waits between retries by advancing it. Nothing really sleeps.

Example:
    >>> clock = ManualClock()
    >>> clock.sleep(2.5)
    >>> clock.now()
    2.5
"""

from __future__ import annotations

import threading

from meshops.k8s import Clock

__all__ = ["ManualClock"]


class ManualClock:
    """Monotonic seconds, starting at ``start``, that move only when advanced.

    Attributes:
        slept: every wait asked of :meth:`sleep`, in order.
    """

    def __init__(self, start: float = 0.0) -> None:
        self._now = start
        self._lock = threading.Lock()
        self.slept: list[float] = []

    def now(self) -> float:
        """The current time, in seconds."""
        with self._lock:
            return self._now

    def advance(self, seconds: float) -> None:
        """Let ``seconds`` pass (negative values are taken as 0)."""
        with self._lock:
            self._now += max(seconds, 0.0)

    def sleep(self, seconds: float) -> None:
        """Wait ``seconds``: let them pass at once, and remember the wait."""
        self.slept.append(seconds)
        self.advance(seconds)

    def as_clock(self) -> Clock:
        """This clock, for :func:`meshops.k8s.use_transport`."""
        return Clock(now=self.now, sleep=self.sleep)
