"""The small set of exceptions the library raises.

Every validation step collects all the problems it finds and raises one error
whose message lists them, so a planner fixes a file in one pass rather than
one problem per run.
"""

from __future__ import annotations

from collections.abc import Iterable

__all__ = [
    "ConstraintsError",
    "DataError",
    "FootprintError",
    "InputFileError",
    "PlanError",
    "SolverError",
]


class FootprintError(Exception):
    """Base class of every error the library raises on purpose."""

    def __init__(self, message: str, *, problems: Iterable[str] = ()) -> None:
        self.problems: tuple[str, ...] = tuple(problems)
        if self.problems:
            message = message.rstrip(":") + ":\n" + "\n".join(f"  - {p}" for p in self.problems)
        super().__init__(message)


class DataError(FootprintError):
    """The reference data is missing, changed or unreadable (the manifest check failed)."""


class InputFileError(FootprintError):
    """A file the planner supplied (boundaries, populations, a plan, an upload) is not usable."""


class ConstraintsError(FootprintError, ValueError):
    """A set of constraints contradicts itself or names codes that do not exist."""


class PlanError(FootprintError, ValueError):
    """A plan (an assignment of units to footprints) is malformed."""


class SolverError(FootprintError):
    """The solver could not be run (not installed, crashed, or gave an unreadable answer)."""
