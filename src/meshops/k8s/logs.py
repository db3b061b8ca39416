"""Request detail at DEBUG, and gathered: one log line per reconcile, not one per request.

httpx2 logs every request it sends at INFO ("HTTP Request: GET https://... 200 OK"). In
a Juju unit each log line is a juju-log hook tool, and at INFO it reaches
``juju debug-log`` by default: a reconcile of 400 objects would log 400 lines. This
module demotes those lines to DEBUG and, inside :func:`gathered`, keeps them out of
the log altogether and hands them to the caller, who logs them as one DEBUG line
beside its one summary line. The connection layer's own DEBUG trace (a line per socket
event) is not logged at all.

Example:
    >>> with gathered() as requests:
    ...     pass  # Kubernetes calls
    >>> requests
    []
"""

from __future__ import annotations

import contextlib
import logging
import threading
from collections.abc import Generator

__all__ = ["gathered"]

#: The loggers that write one line per request, and how those lines start.
REQUEST_LOGGERS = ("httpx2", "httpx")
REQUEST_PREFIX = "HTTP Request:"

_gathering = threading.local()


class _RequestDetail(logging.Filter):
    """Demotes per-request lines to DEBUG, or gathers them while :func:`gathered` runs."""

    def filter(self, record: logging.LogRecord) -> bool:
        if not (isinstance(record.msg, str) and record.msg.startswith(REQUEST_PREFIX)):
            return True
        into: list[str] | None = getattr(_gathering, "lines", None)
        if into is not None:
            into.append(record.getMessage()[len(REQUEST_PREFIX) :].strip())
            return False
        record.levelno, record.levelname = logging.DEBUG, "DEBUG"
        return True


_FILTER = _RequestDetail()
for _name in REQUEST_LOGGERS:
    logging.getLogger(_name).addFilter(_FILTER)
#: The connection layer's loggers: a DEBUG line per socket event (connect, TLS, send,
#: receive...), each a juju-log hook tool in a unit, which ops forwards at every level.
#: Kept at INFO: the gathered request lines say what a reconcile sent.
TRACE_LOGGERS = ("httpcore2", "httpcore")
for _name in TRACE_LOGGERS:
    logging.getLogger(_name).setLevel(logging.INFO)


@contextlib.contextmanager
def gathered() -> Generator[list[str], None, None]:
    """Gather the request lines logged in this thread meanwhile, instead of logging them."""
    previous = getattr(_gathering, "lines", None)
    lines: list[str] = []
    _gathering.lines = lines
    try:
        yield lines
    finally:
        _gathering.lines = previous
