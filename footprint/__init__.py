"""Plan commissioning support footprints: groups of CCGs that reach a population floor.

The public API is what this module exports; everything in a module whose name
starts with an underscore is private.
"""

from ._version import version as _version
from .access import AccessDeniedError, AccessPolicy, User
from .adjacency import Adjacency, build_adjacency
from .audit import LAAudit, audit_la
from .background import BackgroundSolve, SolveProgress, start_solve
from .compare import Comparison, compare_plans, match_footprints, moved_units, reference_plan
from .constraints import Constraints
from .drawing import Change, Drawing
from .errors import (
    ConstraintsError,
    DataError,
    FootprintError,
    InputFileError,
    PlanError,
    SolverError,
)
from .exporters import (
    EXPORT_FORMATS,
    ExportFormat,
    export_csv,
    export_geojson,
    export_geopackage,
    export_html_report,
    export_kml,
    export_pdf,
    export_png,
    export_shapefile_zip,
    export_table_csv,
    export_xlsx,
)
from .feasibility import Check
from .geography import MAX_UNIT_POPULATION, REGISTERED_PATIENTS, Geography, build_geography
from .groupings import Groupings, sample_groupings
from .loader import (
    Dataset,
    load_dataset,
    load_england_2013,
    load_geography,
    read_boundaries,
    read_table,
)
from .optimiser import optimise
from .plans import PlanImport, read_plan_csv, read_plan_geodata, write_plan_csv
from .problem import Problem
from .reasons import Reason, Suggestion, explain
from .result import OptimiseResult
from .scenarios import Scenario, ScenarioConflictError, ScenarioError, ScenarioStore
from .sweep import SweepPoint, SweepResult, sweep
from .uploads import (
    MAX_UPLOAD_UNITS,
    inspect_upload_columns,
    load_uploaded_geography,
    safe_extract_zip,
)
from .validate import Violation, summarise_plan, validate_plan

__version__ = _version()

__all__ = [
    "EXPORT_FORMATS",
    "MAX_UNIT_POPULATION",
    "MAX_UPLOAD_UNITS",
    "REGISTERED_PATIENTS",
    "AccessDeniedError",
    "AccessPolicy",
    "Adjacency",
    "BackgroundSolve",
    "Change",
    "Check",
    "Comparison",
    "Constraints",
    "ConstraintsError",
    "DataError",
    "Dataset",
    "Drawing",
    "ExportFormat",
    "FootprintError",
    "Geography",
    "Groupings",
    "InputFileError",
    "LAAudit",
    "OptimiseResult",
    "PlanError",
    "PlanImport",
    "Problem",
    "Reason",
    "Scenario",
    "ScenarioConflictError",
    "ScenarioError",
    "ScenarioStore",
    "SolveProgress",
    "SolverError",
    "Suggestion",
    "SweepPoint",
    "SweepResult",
    "User",
    "Violation",
    "__version__",
    "audit_la",
    "build_adjacency",
    "build_geography",
    "compare_plans",
    "explain",
    "export_csv",
    "export_geojson",
    "export_geopackage",
    "export_html_report",
    "export_kml",
    "export_pdf",
    "export_png",
    "export_shapefile_zip",
    "export_table_csv",
    "export_xlsx",
    "inspect_upload_columns",
    "load_dataset",
    "load_england_2013",
    "load_geography",
    "load_uploaded_geography",
    "match_footprints",
    "moved_units",
    "optimise",
    "read_boundaries",
    "read_plan_csv",
    "read_plan_geodata",
    "read_table",
    "reference_plan",
    "safe_extract_zip",
    "sample_groupings",
    "start_solve",
    "summarise_plan",
    "sweep",
    "validate_plan",
    "write_plan_csv",
]
