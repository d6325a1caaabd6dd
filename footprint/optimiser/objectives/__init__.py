"""One module per objective: how each is solved and how its value, bound and gap are read.

Each module supplies an :class:`~footprint.optimiser.objectives.base.Objective`; this
registry maps the constraint's ``objective`` name to it.
"""

from __future__ import annotations

from . import balanced, compact, fewest_changes, max_footprints, nested
from .base import Objective

OBJECTIVES: dict[str, Objective] = {
    o.name: o
    for o in (
        max_footprints.OBJECTIVE,
        compact.OBJECTIVE,
        balanced.OBJECTIVE,
        fewest_changes.OBJECTIVE,
        nested.OBJECTIVE,
    )
}

__all__ = ["OBJECTIVES", "Objective"]
