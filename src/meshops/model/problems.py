"""Problems: bad input reported, never raised.

``plan`` returns the objects it can build and a list of :class:`Problem`; each one
names where the bad input came from (a relation and its app, or a place in a file),
the field, and what is wrong with it, so a status message or a CLI error can quote it.
"""

from __future__ import annotations

import dataclasses
import difflib
from collections.abc import Iterable

__all__ = ["SUGGESTION_CUTOFF", "Problem", "closest", "did_you_mean"]

#: How alike a misspelling and a candidate must be to be suggested: difflib's ratio
#: (2 * matching characters / both lengths) of their normalised forms.
SUGGESTION_CUTOFF = 0.6


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


def _normal(text: str) -> str:
    return text.casefold().replace("-", "").replace("_", "")


def closest(value: str, candidates: Iterable[str]) -> str | None:
    """The candidate ``value`` is most likely a misspelling of, or None if none is close.

    The one rule for every "did you mean" of the project (subcommands, keys, values,
    methods, apps): case, ``-`` and ``_`` do not count (a candidate equal to ``value``
    but for them wins), then difflib's closest match of the normalised forms at
    :data:`SUGGESTION_CUTOFF`; among equals, the first candidate given.

    Example:
        >>> closest("PSOT", ["GET", "POST", "PUT"]), closest("post", ["GET", "POST"])
        ('POST', 'POST')
        >>> closest("backend_port", ["backendPort", "port"]), closest("zzz", ["cart"])
        ('backendPort', None)
    """
    normal: dict[str, str] = {}
    for option in candidates:
        normal.setdefault(_normal(option), option)
    if not normal:
        return None
    wanted = _normal(value)
    if wanted in normal:
        return normal[wanted]
    # difflib.get_close_matches would break a tie by the greater string, not the first
    # given: the ratios are compared here, and max keeps the first of equals.
    matcher = difflib.SequenceMatcher(b=wanted)
    scored: list[tuple[float, str]] = []
    for form, option in normal.items():
        matcher.set_seq1(form)
        scored.append((matcher.ratio(), option))
    ratio, best = max(scored, key=lambda pair: pair[0])
    return best if ratio >= SUGGESTION_CUTOFF else None


def did_you_mean(value: str, candidates: Iterable[str]) -> str:
    """``"; did you mean 'x'?"`` for the :func:`closest` candidate, or "" if none is close.

    Example:
        >>> did_you_mean("fronted", ["frontend", "cart"])
        "; did you mean 'frontend'?"
    """
    guess = closest(value, candidates)
    return f"; did you mean {guess!r}?" if guess is not None else ""
