"""Problems: bad input reported, never raised.

``plan`` returns the objects it can build and a list of :class:`Problem`; each one
names where the bad input came from (a relation and its app, or a place in a file),
the field, and what is wrong with it, so a status message or a CLI error can quote it.
"""

from __future__ import annotations

import dataclasses


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
