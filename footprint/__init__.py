"""Plan commissioning support footprints: groups of CCGs that reach a population floor.

The public API is what this module exports; everything in a module whose name
starts with an underscore is private.
"""

from .adjacency import Adjacency, build_adjacency
from .audit import LAAudit, audit_la
from .errors import (
    ConstraintsError,
    DataError,
    FootprintError,
    InputFileError,
    PlanError,
    SolverError,
)
from .geography import REGISTERED_PATIENTS, Geography, build_geography
from .loader import (
    Dataset,
    load_dataset,
    load_england_2013,
    load_geography,
    read_boundaries,
    read_table,
)

__all__ = [
    "REGISTERED_PATIENTS",
    "Adjacency",
    "ConstraintsError",
    "DataError",
    "Dataset",
    "FootprintError",
    "Geography",
    "InputFileError",
    "LAAudit",
    "PlanError",
    "SolverError",
    "audit_la",
    "build_adjacency",
    "build_geography",
    "load_dataset",
    "load_england_2013",
    "load_geography",
    "read_boundaries",
    "read_table",
]
