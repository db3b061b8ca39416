"""Problems: bad input reported, never raised.

``plan`` returns the objects it can build and a list of :class:`Problem`; each one
names where the bad input came from (a relation and its app, or a place in a file),
the field, and what is wrong with it, so a status message or a CLI error can quote it.
"""

from __future__ import annotations

import dataclasses
import difflib
from collections.abc import Iterable

__all__ = ["Problem", "did_you_mean"]


@dataclasses.dataclass(frozen=True, order=True)
class Problem:
    """One piece of input that could not be used.

    Attributes:
        source: who wrote it, e.g. ``"service-mesh:3 (app grafana)"`` or ``"mesh.yaml:12:5"``.
        field: the field inside that input, e.g. ``"policies[0].endpoints[1].ports[0]"``.
        message: what is wrong, quoting the bad value.
        app: the remote application the problem is about, when there is one.
    """

    source: str
    field: str
    message: str
    app: str = ""

    def __str__(self) -> str:
        who = f"{self.source} ({self.app})" if self.app else self.source
        where = f"{who}: {self.field}" if self.field else who
        return f"{where}: {self.message}"


def did_you_mean(value: str, candidates: Iterable[str]) -> str:
    """``"; did you mean 'x'?"`` for the candidate closest to ``value``, or "" if none is.

    Example:
        >>> did_you_mean("fronted", ["frontend", "cart"])
        "; did you mean 'frontend'?"
    """
    close = difflib.get_close_matches(value, list(candidates), n=1, cutoff=0.6)
    return f"; did you mean {close[0]!r}?" if close else ""
