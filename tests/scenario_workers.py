"""Workers for the scenario store's concurrency tests: run in threads, spawned processes, or as
a script that saves in a loop until it is killed (``python tests/scenario_workers.py FOLDER
ACK_LOG``).

Outside the test process only :mod:`footprint.scenarios` (and :mod:`footprint.errors`) is
loaded, without the package's heavy ``__init__`` (geopandas...), so that starting a child costs
milliseconds rather than a second; the module under test is the same file.
"""

from __future__ import annotations

import json
import os
import sys
import types
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent


def _scenarios() -> types.ModuleType:
    if "footprint" not in sys.modules:  # a fresh child: load only what the store needs
        package = types.ModuleType("footprint")
        package.__path__ = [str(ROOT / "footprint")]
        sys.modules["footprint"] = package
    import footprint.scenarios

    return footprint.scenarios


def race(folder: str, worker: int, rounds: int, barrier: Any, out: str) -> None:
    """Race the other workers, round by round, at creating one new name, then at overwriting
    one name each holding the revision it loaded; one JSON line per attempt goes to ``out``."""
    sc = _scenarios()
    records: list[dict[str, Any]] = []
    for r in range(rounds):
        store = sc.ScenarioStore(folder)  # as the app does on every rerun
        scenario = sc.Scenario(
            name=f"Team plan {r}", assignment={"E1": f"w{worker}"}, notes=f"worker {worker}"
        )
        barrier.wait()
        try:
            saved = store.save(scenario)
            records.append({"phase": "create", "round": r, "worker": worker, "ok": saved.revision})
        except sc.ScenarioError as exc:
            records.append({"phase": "create", "round": r, "worker": worker, "error": str(exc),
                            "type": type(exc).__name__})  # fmt: skip
    for r in range(rounds):
        store = sc.ScenarioStore(folder)
        barrier.wait()  # everyone loads the same revision...
        loaded = store.load("Team plan 0")
        barrier.wait()  # ...before anyone saves
        mine = sc.Scenario(
            name=loaded.name, assignment={"E1": f"w{worker} r{r}"}, created=loaded.created
        )
        try:
            saved = store.save(mine, overwrite=True, expected_revision=loaded.revision)
            records.append({"phase": "update", "round": r, "worker": worker, "ok": saved.revision,
                            "loaded": loaded.revision})  # fmt: skip
        except sc.ScenarioError as exc:
            records.append({"phase": "update", "round": r, "worker": worker, "error": str(exc),
                            "type": type(exc).__name__, "loaded": loaded.revision})  # fmt: skip
    Path(out).write_text("".join(json.dumps(rec) + "\n" for rec in records), encoding="utf-8")


def save_forever(folder: str, ack_log: str, start: int) -> None:
    """Save until killed: overwrites of three names and new names, acknowledging each save in
    ``ack_log`` (one line, written in one call) only after ``save`` returned."""
    sc = _scenarios()
    store = sc.ScenarioStore(folder)  # default threshold: the killed runs' temporaries stay
    fd = os.open(ack_log, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o644)
    big = {f"E{i}": f"F{i % 7}" for i in range(300)}  # a few kB, so writes take a moment
    for i in range(start, start + 1_000_000):
        if i % 4 == 3:
            name, overwrite = f"New {i}", False
        else:
            name, overwrite = f"Plan {i % 3}", True
        saved = store.save(sc.Scenario(name=name, assignment={**big, "E0": str(i)}),
                           overwrite=overwrite)  # fmt: skip
        os.write(fd, f"{name}\t{saved.revision}\n".encode())


if __name__ == "__main__":
    save_forever(sys.argv[1], sys.argv[2], int(sys.argv[3]))
