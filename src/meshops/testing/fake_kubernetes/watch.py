"""Watches for the fake API server, and the timeline that lets their time pass.

A watch request (``GET ...?watch=true``) is answered with a stream of JSON lines, one
``{"type": "ADDED" | "MODIFIED" | "DELETED", "object": {...}}`` per change of the
objects it selects, as a real API server answers it. The fake runs in the test's own
thread, so nothing else can change the store while a client reads the stream: when
there is nothing to send, the stream lets the fake's time (:class:`~meshops.testing.
clock.ManualClock`) pass to the next action a test scheduled with :meth:`Timeline.later`
(an istiod stand-in programming a Gateway, say), runs it and sends what it changed.
When no action is due before the watch's ``timeoutSeconds`` passes, the stream ends
there, as a real server ends it; when the client's read timeout comes first, the client
gets ``httpx2.ReadTimeout`` then. No test waits: the time passes at once.

Differences from a real API server, deliberately:

* changes are found by comparing what the watch selects before and after each step,
  so two writes to one object between two steps are one MODIFIED event;
* a watch from a ``resourceVersion`` sends the objects changed since as MODIFIED (the
  fake keeps no history: objects deleted since are not reported);
* no BOOKMARK events, ``sendInitialEvents`` or ``allowWatchBookmarks``.

Example:
    >>> from meshops.testing.clock import ManualClock
    >>> timeline = Timeline(ManualClock())
    >>> timeline.later(2.0, lambda: print("programmed"))
    >>> timeline.run_until(5.0)
    programmed
    True
    >>> timeline.clock.now()
    2.0
"""

from __future__ import annotations

import dataclasses
import heapq
import itertools
import math
from collections.abc import Callable, Iterator, Mapping

import httpx2

from meshops.testing.clock import ManualClock
from meshops.testing.fake_kubernetes.errors import NotSupportedError, StatusError

__all__ = ["Snapshot", "Timeline", "watch_response"]

#: What a watch selects now: (namespace, name) -> (resourceVersion, JSON body).
Snapshot = Callable[[], Mapping[tuple[str, str], tuple[str, bytes]]]


@dataclasses.dataclass(order=True)
class _Action:
    at: float
    order: int
    run: Callable[[], object] = dataclasses.field(compare=False)


class Timeline:
    """Actions a test schedules on the fake's time, run as that time passes.

    Args:
        clock: the fake's time.
    """

    def __init__(self, clock: ManualClock) -> None:
        self.clock = clock
        self._actions: list[_Action] = []
        self._order = itertools.count()

    def later(self, seconds: float, action: Callable[[], object]) -> None:
        """Run ``action`` once ``seconds`` of the fake's time have passed from now."""
        if not seconds >= 0:
            raise ValueError(f"seconds {seconds!r} must be 0 or more")
        at = self.clock.now() + seconds
        heapq.heappush(self._actions, _Action(at, next(self._order), action))

    @property
    def next_at(self) -> float:
        """When the next action is due (``inf`` when none is scheduled)."""
        return self._actions[0].at if self._actions else math.inf

    def run_until(self, moment: float) -> bool:
        """Let the time pass up to the first action due by ``moment`` and run those due then.

        Returns whether an action ran; without one due by ``moment``, the time is left
        where it is.
        """
        if not self._actions or self.next_at > moment:
            return False
        due = self.next_at
        self.clock.advance(due - self.clock.now())
        while self._actions and self._actions[0].at <= due:
            heapq.heappop(self._actions).run()
        return True


def _event(kind: str, body: bytes) -> bytes:
    return b'{"type":"' + kind.encode() + b'","object":' + body + b"}\n"


def _events(
    sent: dict[tuple[str, str], str],
    now: Mapping[tuple[str, str], tuple[str, bytes]],
    last: Mapping[tuple[str, str], bytes],
) -> list[bytes]:
    """The events that bring a watcher who saw ``sent`` up to ``now`` (``sent`` updated).

    ``last`` holds each object as the watcher last saw it: DELETED carries it.
    """
    out: list[bytes] = []
    for key in sorted(now):
        version, body = now[key]
        if key not in sent:
            out.append(_event("ADDED", body))
        elif sent[key] != version:
            out.append(_event("MODIFIED", body))
        sent[key] = version
    for key in sorted(set(sent) - set(now)):
        del sent[key]
        out.append(_event("DELETED", last[key]))
    return out


def _stream(
    snapshot: Snapshot,
    timeline: Timeline,
    *,
    since: str | None,
    ends: float,
    read_timeout: float,
    request: httpx2.Request,
) -> Iterator[bytes]:
    sent: dict[tuple[str, str], str] = {}
    last: dict[tuple[str, str], bytes] = {}
    if since is not None:
        first = snapshot()
        sent = {k: v for k, (v, _) in first.items() if int(v or 0) <= int(since)}
        last = {k: b for k, (_, b) in first.items()}
    while True:
        now = snapshot()
        events = _events(sent, now, last)
        last = {k: b for k, (_, b) in now.items()}
        if events:
            yield b"".join(events)
            continue
        gives_up = timeline.clock.now() + read_timeout
        if timeline.run_until(min(ends, gives_up)):
            continue
        if not (math.isfinite(ends) or math.isfinite(gives_up)):
            raise NotSupportedError(
                f"watch {request.url} would wait for ever: give it timeoutSeconds, a read "
                "timeout or an action scheduled with later()"
            )
        if ends <= gives_up:
            timeline.clock.advance(ends - timeline.clock.now())
            return  # the server ends the watch at timeoutSeconds
        timeline.clock.advance(gives_up - timeline.clock.now())
        raise httpx2.ReadTimeout(f"no event within {read_timeout:g} s", request=request)


class _Body(httpx2.SyncByteStream):
    def __init__(self, chunks: Iterator[bytes]) -> None:
        self._chunks = chunks

    def __iter__(self) -> Iterator[bytes]:
        yield from self._chunks


def watch_response(
    snapshot: Snapshot,
    timeline: Timeline,
    query: Mapping[str, str],
    *,
    read_timeout: float,
    request: httpx2.Request,
) -> httpx2.Response:
    """The streamed answer to a watch request.

    Args:
        snapshot: what the watch selects, read afresh at each step.
        timeline: the fake's time and the actions scheduled on it.
        query: the request's query (``resourceVersion``, ``timeoutSeconds``).
        read_timeout: how long the client waits for a line (``inf``: for ever).
        request: the request, for the errors raised while streaming.

    Raises:
        StatusError: 400 for a ``timeoutSeconds`` or ``resourceVersion`` that is not a
            number.
    """
    raw_timeout = query.get("timeoutSeconds")
    since = query.get("resourceVersion") or None
    try:
        seconds = float(raw_timeout) if raw_timeout else math.inf
        if since is not None:
            int(since)
    except ValueError:
        raise StatusError.bad_request(
            f"invalid watch parameters: timeoutSeconds={raw_timeout!r}, resourceVersion={since!r}"
        ) from None
    ends = timeline.clock.now() + seconds
    chunks = _stream(
        snapshot, timeline, since=since, ends=ends, read_timeout=read_timeout, request=request
    )
    return httpx2.Response(
        200,
        headers={"Content-Type": "application/json", "Transfer-Encoding": "chunked"},
        stream=_Body(chunks),
    )
