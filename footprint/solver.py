"""The one module that talks to PuLP: a small mixed-integer model and an honest solve.

Formulations elsewhere build a :class:`Model` from opaque variables and plain
``(variable, coefficient)`` terms; :meth:`Model.solve` runs HiGHS (through
highspy, the default) or CBC (bundled with PuLP) and returns an
:class:`Outcome` whose status is read from the solver itself: ``optimal`` only
when the solver proved it, ``feasible`` with the best bound and gap when it
stopped early with a plan, ``infeasible`` when it proved there is none, and
``no-solution`` when time ran out first. (CBC through PuLP reports "Optimal"
after a time limit; the solution status tells the truth, so that is what is
read.)
"""

from __future__ import annotations

import logging
import math
import os
import re
import subprocess
import tempfile
import time
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from importlib import metadata
from typing import Any, Literal, TypeAlias

import pulp

from .errors import SolverError

__all__ = ["Model", "Outcome", "Var", "solver_version"]

log = logging.getLogger(__name__)

Var: TypeAlias = pulp.LpVariable
Status = Literal["optimal", "feasible", "infeasible", "no-solution"]


def solver_version(solver: str) -> str:
    """Version of the solver package behind ``solver`` ('highs' or 'cbc')."""
    try:
        if solver == "highs":
            return f"highspy {metadata.version('highspy')}, PuLP {pulp.__version__}"
        return f"CBC bundled with PuLP {pulp.__version__}"
    except metadata.PackageNotFoundError:  # pragma: no cover - highspy is a requirement
        return "unknown"


@dataclass(frozen=True)
class Outcome:
    """What one solve produced, in the solver's own terms but honestly labelled."""

    status: Status
    objective: float | None
    bound: float | None
    gap: float | None
    values: Mapping[str, float] = field(repr=False)
    seconds: float
    log: str = field(repr=False)
    solver: str
    version: str
    #: seconds outside the solver's own clock (handing the model over, reading the answer)
    overhead: float = 0.0


#: Called by HiGHS as it searches with the best plan's value and the bound so far (None
#: when there is none yet); returning True stops the solve (its plan so far is kept).
Watch: TypeAlias = Callable[[float | None, float | None], bool]


class _HiGHS(pulp.HiGHS):
    """PuLP's highspy interface plus a warm start, a log file and a watcher."""

    def __init__(
        self, *, start: Mapping[str, float] | None, watch: Watch | None = None, **kw: Any
    ) -> None:
        super().__init__(**kw)
        self._start = start
        self._watch = watch

    def callSolver(self, lp: pulp.LpProblem) -> None:
        if self._start:
            import numpy as np

            cols = lp.variables()
            idx = np.fromiter((v.index for v in cols), dtype=np.int32, count=len(cols))
            val = np.fromiter(
                (float(self._start.get(v.name, 0.0)) for v in cols),
                dtype=np.float64,
                count=len(cols),
            )
            lp.solverModel.setSolution(len(cols), idx, val)
        if self._watch is not None:
            watch = self._watch

            def on_interrupt(event: Any) -> None:
                out = event.data_out
                found = [out.mip_primal_bound, out.mip_dual_bound]
                if watch(*(v if math.isfinite(v) else None for v in found)):
                    event.interrupt()

            # the MIP search, and the LP relaxations that can take long before it
            lp.solverModel.cbMipInterrupt += on_interrupt
            lp.solverModel.cbSimplexInterrupt += lambda e: watch(None, None) and e.interrupt()
        lp.solverModel.run()


class Model:
    """A mixed-integer program under construction.

    Parameters
    ----------
    name
        Shown in solver logs.
    maximise
        Maximise the objective instead of minimising it.
    """

    def __init__(self, name: str, *, maximise: bool = False) -> None:
        self._lp = pulp.LpProblem(
            re.sub(r"\W", "_", name), pulp.LpMaximize if maximise else pulp.LpMinimize
        )
        self._vars: dict[str, pulp.LpVariable] = {}
        self._n_rows = 0
        self.maximise = maximise
        self.created = time.perf_counter()  # handing the model to the solver takes about as long

    # --- building ------------------------------------------------------------------------

    def binary(self, name: str) -> Var:
        v = self._lp.add_variable(name, 0, 1, cat=pulp.LpBinary)
        self._vars[name] = v
        return v

    def continuous(self, name: str, *, low: float | None = 0.0, high: float | None = None) -> Var:
        v = self._lp.add_variable(name, low, high)
        self._vars[name] = v
        return v

    def add(self, terms: Iterable[tuple[Var, float]], sense: str, rhs: float) -> None:
        """Add ``sum(coef * var) <sense> rhs`` with sense one of '<=', '>=', '=='."""
        expr = pulp.LpAffineExpression(_merge(terms))
        op = {"<=": pulp.LpConstraintLE, ">=": pulp.LpConstraintGE, "==": pulp.LpConstraintEQ}
        self._n_rows += 1
        self._lp.addConstraint(pulp.LpConstraint(expr, op[sense], rhs=rhs), name=f"c{self._n_rows}")

    def objective(self, terms: Iterable[tuple[Var, float]], constant: float = 0.0) -> None:
        self._lp.setObjective(pulp.LpAffineExpression(_merge(terms), constant=constant))

    @property
    def size(self) -> tuple[int, int]:
        """(variables, constraints)."""
        return len(self._vars), self._n_rows

    # --- solving -------------------------------------------------------------------------

    def solve(
        self,
        *,
        solver: str = "highs",
        time_limit: float = 60.0,
        mip_gap: float = 1e-4,
        start: Mapping[str, float] | None = None,
        abs_gap: float | None = None,
        watch: Watch | None = None,
    ) -> Outcome:
        """Solve and report exactly what the solver proved.

        Parameters
        ----------
        solver
            'highs' or 'cbc'.
        time_limit
            Seconds for this solve.
        mip_gap
            Relative gap at which the solver may stop and call the plan optimal.
        start
            Variable name -> value of a known feasible plan (a warm start).
        abs_gap
            Absolute gap at which the solver may also stop (for objectives near 0).
        watch
            HiGHS only: called as the search goes with the best value and bound so far
            (in this model's sense); returning True stops the solve, which then reports
            what it had (``feasible`` with its bound, or ``no-solution``). For a progress
            display and a Cancel button; CBC runs as its own program and is not watched.

        Raises
        ------
        SolverError
            If the solver is not installed or fails to run.
        """
        fd, path = tempfile.mkstemp(prefix="footprint-solver-", suffix=".log")
        os.close(fd)
        t0 = time.perf_counter()
        try:
            if solver == "highs":
                outcome = self._solve_highs(path, time_limit, mip_gap, start, abs_gap, watch)
            elif solver == "cbc":
                outcome = self._solve_cbc(path, time_limit, mip_gap, start, abs_gap)
            else:
                raise SolverError(f"unknown solver {solver!r}; expected 'highs' or 'cbc'")
        except pulp.PulpSolverError as exc:
            raise SolverError(f"The {solver} solver could not run: {exc}") from None
        finally:
            try:
                with open(path, encoding="utf-8", errors="replace") as fh:
                    text = fh.read()
            except OSError:
                text = ""
            os.unlink(path)
        seconds = time.perf_counter() - t0
        log.debug("%s: %s in %.2f s, %d vars", self._lp.name, outcome[0], seconds, len(self._vars))
        status, obj, bound, gap, values = outcome
        if solver == "cbc" and status == "feasible" and bound is None:
            bound, gap = _cbc_bound(text, obj, maximise=self.maximise)
        inside = self._lp.solverModel.getRunTime() if solver == "highs" else _cbc_seconds(text)
        return Outcome(
            status=status,
            objective=obj,
            bound=bound,
            gap=gap,
            values=values,
            seconds=seconds,
            log=text,
            solver=solver,
            version=solver_version(solver),
            overhead=max(0.0, seconds - inside) if inside is not None else 0.0,
        )

    def _values(self) -> dict[str, float]:
        return {name: (v.varValue or 0.0) for name, v in self._vars.items()}

    def _solve_highs(
        self,
        path: str,
        time_limit: float,
        mip_gap: float,
        start: Mapping[str, float] | None,
        abs_gap: float | None,
        watch: Watch | None = None,
    ) -> tuple[Status, float | None, float | None, float | None, dict[str, float]]:
        sign = -1.0 if self.maximise else 1.0
        s = _HiGHS(
            start=start,
            watch=(lambda v, b: watch(_signed(sign, v), _signed(sign, b))) if watch else None,
            msg=True,
            timeLimit=max(0.5, time_limit),
            gapRel=mip_gap,
            log_to_console=False,
            log_file=path,
            threads=1,
            **({"gapAbs": abs_gap} if abs_gap is not None else {}),
        )
        self._lp.solve(s)
        h = self._lp.solverModel
        ms = h.getModelStatus()
        info = h.getInfo()
        kinds = __import__("highspy").HighsModelStatus
        has_plan = info.primal_solution_status == 2  # kSolutionStatusFeasible
        obj = sign * info.objective_function_value if has_plan else None
        is_mip = any(v.cat == pulp.LpInteger for v in self._vars.values())
        bound = sign * info.mip_dual_bound if is_mip else obj
        if bound is not None and not math.isfinite(bound):
            bound = None
        if ms == kinds.kOptimal:
            return "optimal", obj, bound if bound is not None else obj, 0.0, self._values()
        if ms == kinds.kInfeasible:
            return "infeasible", None, None, None, {}
        if has_plan:
            return "feasible", obj, bound, _gap(obj, bound), self._values()
        if ms in (kinds.kTimeLimit, kinds.kIterationLimit, kinds.kInterrupt, kinds.kSolutionLimit):
            return "no-solution", None, bound, None, {}
        raise SolverError(f"HiGHS ended with status {h.modelStatusToString(ms)!r}")

    def _solve_cbc(
        self,
        path: str,
        time_limit: float,
        mip_gap: float,
        start: Mapping[str, float] | None,
        abs_gap: float | None,
    ) -> tuple[Status, float | None, float | None, float | None, dict[str, float]]:
        if start:
            for name, v in self._vars.items():
                v.setInitialValue(start.get(name, 0.0))
        # COIN_CMD pointed at the CBC binary PuLP 3 bundles (PULP_CBC_CMD is deprecated).
        # No threads option: '-threads 1' selects CBC's threaded code, which (measured: 1 solve
        # in 12 to 30 of a tiny knapsack) hangs until the time limit and then calls a proven
        # optimum merely feasible.
        from pulp.apis import coin_api

        path_cbc = coin_api.COIN_CMD.executableExtension(coin_api.pulp_cbc_path)
        if not os.path.isfile(path_cbc):
            raise SolverError(f"CBC is not installed (no {path_cbc}); choose the 'highs' solver")
        if not os.access(path_cbc, os.X_OK):
            os.chmod(path_cbc, 0o755)
        s = pulp.COIN_CMD(
            path=path_cbc,
            msg=False,
            timeLimit=max(0.5, time_limit),
            gapRel=mip_gap,
            warmStart=bool(start),
            logPath=path,
            **({"gapAbs": abs_gap} if abs_gap is not None else {}),
        )
        no_objective, dummy = self._lp.fixObjective()
        t0 = time.perf_counter()
        try:
            answered = _run_cbc(s, self._lp, path, deadline=time_limit + _CBC_GRACE)
            if answered and self._cbc_infeasible() and _cbc_preprocess_refused(path):
                # CBC 2.10's preprocessing has called feasible models infeasible (a
                # districting model of England warm-started from a valid plan of 80
                # footprints): only the search without it may say so
                left = time_limit - (time.perf_counter() - t0)
                answered = left >= 1.0 and _run_cbc(
                    s,
                    self._lp,
                    path,
                    deadline=left + _CBC_GRACE,
                    seconds=left,
                    extra=("-preprocess", "off"),
                    append=True,
                )
        finally:
            self._lp.restoreObjective(no_objective, dummy)
        if not answered:
            return "no-solution", None, None, None, {}
        sol = self._lp.sol_status
        if sol == pulp.LpSolutionOptimal:
            obj = pulp.value(self._lp.objective)
            return "optimal", obj, obj, 0.0, self._values()
        if sol == pulp.LpSolutionIntegerFeasible:
            return "feasible", pulp.value(self._lp.objective), None, None, self._values()
        if self._cbc_infeasible():
            return "infeasible", None, None, None, {}
        return "no-solution", None, None, None, {}

    def _cbc_infeasible(self) -> bool:
        return (
            self._lp.sol_status == pulp.LpSolutionInfeasible
            or self._lp.status == pulp.LpStatusInfeasible
        )


#: seconds past its time limit after which a CBC run is stopped: CBC does not look at its
#: clock while it solves the first relaxation (measured: 246 s on a balanced model of
#: 17,426 variables given '-sec 1'), nor does it stop there on SIGINT
_CBC_GRACE = 2.0


def _cbc_preprocess_refused(log_path: str) -> bool:
    """Did CBC's last run end in its preprocessing, calling the model infeasible?"""
    with open(log_path, encoding="utf-8", errors="replace") as fh:
        runs = fh.read().split("Welcome to the CBC MILP Solver")
    return "Pre-processing says infeasible" in runs[-1]


def _run_cbc(
    s: Any,
    lp: pulp.LpProblem,
    log_path: str,
    *,
    deadline: float,
    seconds: float | None = None,
    extra: tuple[str, ...] = (),
    append: bool = False,
) -> bool:
    """Run CBC as PuLP's COIN_CMD would, but stop it ``deadline`` seconds after it started.

    PuLP waits on CBC with no timeout, so this owns the process: the model and the
    warm start are written with PuLP's own writers and the answer read back with its
    reader. ``seconds`` overrides the solver's time limit, ``extra`` adds CBC
    options, and ``append`` adds to the log instead of replacing it. Returns False
    when CBC had to be stopped (no answer is read then).
    """
    with tempfile.TemporaryDirectory(prefix="footprint-cbc-") as tmp:
        mps, mst, sol = (os.path.join(tmp, f) for f in ("model.mps", "start.mst", "model.sol"))
        vs, var_names, row_names, _ = lp.writeMPS(mps, rename=1)
        args = [s.path, mps] + (["-max"] if lp.sense == pulp.LpMaximize else [])
        if s.optionsDict.get("warmStart"):
            s.writesol(mst, lp, vs, var_names, row_names)
            args += ["-mips", mst]
        limit = seconds if seconds is not None else s.timeLimit
        args += ["-sec", f"{limit:.2f}"]
        for option in s.getOptions():  # 'ratio 0.0001' -> ['-ratio', '0.0001']
            args += f"-{option}".split()
        args += [*extra, "-solve", "-printingOptions", "all", "-solution", sol]
        log.debug("CBC: %s", " ".join(args))
        with open(log_path, "a" if append else "w", encoding="utf-8") as out:
            proc = subprocess.Popen(
                args, stdout=out, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL
            )
            try:
                code = proc.wait(timeout=deadline)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()
                out.write(
                    f"\nStopped by footprint: CBC was still running {deadline:.0f} s after "
                    f"it started, past its time limit of {limit:.1f} s.\n"
                )
                log.info("CBC stopped after %.0f s (time limit %.1f s)", deadline, limit)
                return False
            if code < 0:  # killed by a signal: CBC crashed (SIGSEGV) once in 200 random runs
                out.write(f"\nCBC crashed (signal {-code}); this solve gave no answer.\n")
                log.warning("CBC crashed with signal %d; the solve is treated as unanswered", -code)
                return False
        if code != 0 or not os.path.exists(sol):
            raise pulp.PulpSolverError(f"CBC ended with exit code {code} and no solution file")
        status, values, _dj, _pi, _slack, sol_status = s.readsol_MPS(
            sol, lp, vs, var_names, row_names
        )
    lp.assignVarsVals(values)
    lp.assignStatus(status, sol_status)
    return True


def _signed(sign: float, value: float | None) -> float | None:
    return None if value is None else sign * value


def _merge(terms: Iterable[tuple[Var, float]]) -> list[tuple[Var, float]]:
    """Sum the coefficients of a variable named twice (PuLP would keep only the last)."""
    acc: dict[str, list[Any]] = {}
    for v, coef in terms:
        if v.name in acc:
            acc[v.name][1] += coef
        else:
            acc[v.name] = [v, coef]
    return [(v, c) for v, c in acc.values()]


def _gap(obj: float | None, bound: float | None) -> float | None:
    if obj is None or bound is None:
        return None
    return abs(obj - bound) / max(abs(obj), 1e-9)


def _cbc_seconds(text: str) -> float | None:
    """CBC's own wall-clock seconds from its log ('... (Wallclock seconds): y')."""
    found = re.findall(r"Wallclock seconds\):\s+([0-9.]+)", text)
    return float(found[-1]) if found else None


def _cbc_bound(
    text: str, obj: float | None, *, maximise: bool
) -> tuple[float | None, float | None]:
    """Best bound from a CBC log ('Lower bound:' in its summary; '(best possible X)' otherwise).

    CBC minimises, and a maximisation reaches it negated: its log shows that problem's
    values ('best possible -64.62' for a packing of at most 64 sets), so they are turned
    back for a maximisation.
    """
    found = re.findall(r"best possible ([-+0-9.eE]+)", text) or re.findall(
        r"Lower bound:\s+([-+0-9.eE]+)", text
    )
    if not found:
        return None, None
    try:
        bound = float(found[-1])
    except ValueError:
        return None, None
    if maximise:
        bound = -bound
    return bound, _gap(obj, bound)
