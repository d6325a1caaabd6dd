"""Several planners on one scenario folder: racing threads and processes, and a writer killed
with SIGKILL mid-save. Nothing acknowledged may be lost and nobody may be told "saved" when
their plan is not what is on disk.

The workers live in ``tests/scenario_workers.py`` so spawned processes can import them.
"""

from __future__ import annotations

import json
import multiprocessing
import os
import random
import re
import signal
import subprocess
import sys
import threading
import time
import types
from collections import Counter, defaultdict
from pathlib import Path
from typing import Any

import pytest
import scenario_workers

from footprint.scenarios import Scenario, ScenarioConflictError, ScenarioError, ScenarioStore

WORKERS = 8
ROUNDS = 50
BARRIER_TIMEOUT = 60  # seconds; only reached when a worker has crashed
TIME = r"\d\d:\d\d on \d{4}-\d\d-\d\d"
CREATE_LOST = (
    r"^a scenario called 'Team plan \d+' (is saved already \(last saved at "
    + TIME
    + r"\)|was saved by someone else just now); choose another name or overwrite it$"
)
UPDATE_LOST = (
    r"^scenario 'Team plan 0' was changed by someone else at "
    + TIME
    + r" \(revision (\d+), you loaded revision (\d+)\); nothing was saved\. Save it under a new "
    r"name, or reload it and make your changes again$"
)


def _records(out_files: list[Path]) -> list[dict[str, Any]]:
    return [json.loads(line) for f in out_files for line in f.read_text().splitlines()]


def _check_race(folder: Path, records: list[dict[str, Any]]) -> None:
    """Exactly one winner per round, the winner's plan is on disk, every loser was told why."""
    store = ScenarioStore(folder)
    assert store.scan().unreadable == ()
    by_round: dict[tuple[str, int], list[dict[str, Any]]] = defaultdict(list)
    for rec in records:
        by_round[rec["phase"], rec["round"]].append(rec)
    assert len(by_round) == 2 * ROUNDS
    for (phase, r), attempts in sorted(by_round.items()):
        assert len(attempts) == WORKERS
        winners = [a for a in attempts if "ok" in a]
        assert len(winners) == 1, (phase, r, attempts)
        (win,) = winners
        for lost in attempts:
            if "ok" in lost:
                continue
            if phase == "create":
                assert lost["type"] == "ScenarioError"
                assert re.match(CREATE_LOST, lost["error"]), lost
            else:
                assert lost["type"] == "ScenarioConflictError"
                m = re.match(UPDATE_LOST, lost["error"])
                assert m and int(m[2]) == lost["loaded"] and int(m[1]) == win["ok"], lost
        if phase == "create" and r > 0:  # 'Team plan 0' is raced over again below
            saved = store.load(f"Team plan {r}")
            assert (saved.revision, saved.notes) == (1, f"worker {win['worker']}")
        elif phase == "update":
            assert win["ok"] == win["loaded"] + 1 == r + 2
    final = store.load("Team plan 0")
    last = by_round["update", ROUNDS - 1]
    (win,) = [a for a in last if "ok" in a]
    assert (final.revision, final.assignment) == (ROUNDS + 1, {"E1": f"w{win['worker']} r49"})


def test_racing_threads_one_winner_per_round(tmp_path):
    barrier = threading.Barrier(WORKERS, timeout=BARRIER_TIMEOUT)
    outs = [tmp_path / f"out-{w}.jsonl" for w in range(WORKERS)]
    errors: list[BaseException] = []

    def run(w: int) -> None:
        try:
            scenario_workers.race(str(tmp_path / "s"), w, ROUNDS, barrier, str(outs[w]))
        except BaseException as exc:  # surfaced below, with the barrier broken for the others
            errors.append(exc)
            barrier.abort()

    threads = [threading.Thread(target=run, args=(w,)) for w in range(WORKERS)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=300)
    assert not errors, errors
    assert not any(t.is_alive() for t in threads)
    _check_race(tmp_path / "s", _records(outs))


@pytest.fixture
def plain_main(monkeypatch):
    """A ``__main__`` without a file, so spawned workers start clean.

    Spawned processes run the parent's ``__main__`` file again; after the app's AppTest
    tests, that is app.py (Streamlit runs the script as ``__main__``), and every worker
    died running the app.
    """
    monkeypatch.setitem(sys.modules, "__main__", types.ModuleType("__main__"))


@pytest.mark.slow  # over 2 s: in the full suite, not the quick loop
def test_racing_processes_one_winner_per_round(tmp_path, plain_main):
    ctx = multiprocessing.get_context("spawn")
    barrier = ctx.Barrier(WORKERS, timeout=BARRIER_TIMEOUT)  # a crashed worker breaks it
    outs = [tmp_path / f"out-{w}.jsonl" for w in range(WORKERS)]
    procs = [
        ctx.Process(
            target=scenario_workers.race,
            args=(str(tmp_path / "s"), w, ROUNDS, barrier, str(outs[w])),
        )
        for w in range(WORKERS)
    ]
    for p in procs:
        p.start()
    give_up = time.monotonic() + 600  # a guard against a hang, not a timing
    for p in procs:
        p.join(timeout=max(0.0, give_up - time.monotonic()))
    alive = [p for p in procs if p.is_alive()]
    for p in alive:
        p.kill()
    assert not alive and [p.exitcode for p in procs] == [0] * WORKERS
    _check_race(tmp_path / "s", _records(outs))


def test_two_planners_on_one_revision_one_wins_the_other_is_told(tmp_path):
    store = ScenarioStore(tmp_path)
    store.save(Scenario(name="Team plan", assignment={"E1": "A"}))
    base = store.save(Scenario(name="Team plan", assignment={"E1": "B"}), overwrite=True)
    a, b = ScenarioStore(tmp_path).load("Team plan"), ScenarioStore(tmp_path).load("Team plan")
    assert a.revision == b.revision == base.revision == 2
    barrier = threading.Barrier(2)
    outcome: dict[str, Any] = {}

    def save(who: str, loaded: Scenario) -> None:
        barrier.wait()
        try:
            outcome[who] = ScenarioStore(tmp_path).save(
                Scenario(name=loaded.name, assignment={"E1": who}),
                overwrite=True,
                expected_revision=loaded.revision,
            )
        except ScenarioError as exc:
            outcome[who] = exc

    threads = [threading.Thread(target=save, args=args) for args in (("a", a), ("b", b))]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=60)
    won = {w: r for w, r in outcome.items() if isinstance(r, Scenario)}
    lost = {w: r for w, r in outcome.items() if isinstance(r, ScenarioError)}
    assert len(won) == len(lost) == 1
    (winner, saved), (loser, exc) = *won.items(), *lost.items()
    assert saved.revision == 3 and store.load("Team plan").assignment == {"E1": winner}
    with pytest.raises(
        ScenarioConflictError,
        match=rf"^scenario 'Team plan' was changed by someone else at {TIME} \(revision 3, you "
        r"loaded revision 2\); nothing was saved\. Save it under a new name, or reload it and "
        r"make your changes again$",
    ):
        raise exc
    # the loser follows the advice: reload, make the change again, save
    again = store.load("Team plan")
    mine = Scenario(name="Team plan", assignment={"E1": loser}, created=again.created)
    assert store.save(mine, overwrite=True, expected_revision=again.revision).revision == 4


def _acks(ack_log: Path) -> list[tuple[str, int]]:
    out = []
    for line in ack_log.read_text(encoding="utf-8").splitlines():
        name, _, rev = line.partition("\t")
        if rev.isdigit():  # a line cut short by the kill was not acknowledged
            out.append((name, int(rev)))
    return out


@pytest.mark.slow  # over 2 s: in the full suite, not the quick loop
def test_sigkill_mid_save_loses_no_acknowledged_save(tmp_path):
    if not hasattr(signal, "SIGKILL"):
        pytest.skip("needs SIGKILL")
    folder, ack_log = tmp_path / "s", tmp_path / "acks.log"
    ack_log.touch()
    env = {**os.environ, "PYTHONPATH": str(scenario_workers.ROOT)}
    rng = random.Random(20261202)
    kills, start = 20, 0
    for _ in range(kills):
        before = len(_acks(ack_log))
        child = subprocess.Popen(
            [sys.executable, scenario_workers.__file__, str(folder), str(ack_log), str(start)],
            env=env,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.PIPE,
        )
        start += 1000
        # kill after a random number of acknowledged saves, then a random moment into the next
        wanted = before + rng.randint(1, 8)
        give_up = time.monotonic() + 60  # a guard against a child that never saves, not a timing
        while len(_acks(ack_log)) < wanted and child.poll() is None:
            assert time.monotonic() < give_up, "the saving child made no progress"
            time.sleep(0.002)
        time.sleep(rng.random() * 0.004)
        assert child.poll() is None, child.communicate()[1].decode()
        os.kill(child.pid, signal.SIGKILL)
        child.communicate()
        assert child.returncode == -signal.SIGKILL

    acks = _acks(ack_log)
    assert len(acks) >= kills
    store = ScenarioStore(folder)  # default threshold: recent temporaries are left alone
    listing = store.scan()
    assert listing.unreadable == ()
    on_disk = {s.name: s for s in listing.scenarios}
    scenario_files = [f for f in os.listdir(folder) if f.endswith(".json") and f[0] != "."]
    assert len(scenario_files) == len(on_disk)  # every scenario file is a readable scenario
    highest = Counter()
    for name, rev in acks:
        highest[name] = max(highest[name], rev)
    for name, rev in highest.items():
        assert name in on_disk and on_disk[name].revision >= rev, (name, rev)

    ScenarioStore(folder, stale_temp_seconds=0)  # as if minutes had passed
    assert [f for f in os.listdir(folder) if f.startswith(".tmp-")] == []
    assert ScenarioStore(folder).scan() == listing  # cleaning removed no scenario


def _at_once(*actions: Any) -> list[Any]:
    """Run the actions in threads released together; each one's result or the error it raised."""
    barrier = threading.Barrier(len(actions), timeout=BARRIER_TIMEOUT)
    results: list[Any] = [None] * len(actions)

    def run(i: int) -> None:
        barrier.wait()
        try:
            results[i] = actions[i]()
        except ScenarioError as exc:
            results[i] = exc

    threads = [threading.Thread(target=run, args=(i,)) for i in range(len(actions))]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=60)
    return results


def test_racing_renames_of_one_scenario_one_wins(tmp_path):
    for round_ in range(20):
        folder = tmp_path / str(round_)
        ScenarioStore(folder).save(Scenario(name="Draft", assignment={"E1": "A"}))
        results = _at_once(
            *(
                lambda i=i, f=folder: ScenarioStore(f).rename("Draft", f"Final {i}")
                for i in range(8)
            )
        )
        won = [r for r in results if isinstance(r, Scenario)]
        lost = [r for r in results if isinstance(r, ScenarioError)]
        assert len(won) == 1 and len(lost) == 7
        assert all(re.match(r"no saved scenario is called 'Draft'", str(e)) for e in lost), lost
        assert ScenarioStore(folder).names() == [won[0].name]


def test_delete_racing_a_save_on_one_revision_one_wins(tmp_path):
    outcomes: Counter[str] = Counter()
    for round_ in range(20):
        store = ScenarioStore(tmp_path / str(round_))
        loaded = store.save(Scenario(name="Team plan", assignment={"E1": "A"}))
        edited = Scenario(name="Team plan", assignment={"E1": "B"}, created=loaded.created)
        deleted, saved = _at_once(
            lambda s=store: s.delete("Team plan", expected_revision=1),
            lambda s=store, e=edited: s.save(e, overwrite=True, expected_revision=1),
        )
        if isinstance(saved, Scenario):  # the save won: the delete was refused, the edit kept
            assert isinstance(deleted, ScenarioConflictError)
            assert re.search(
                r"\(revision 2, you loaded revision 1\); it was not deleted", str(deleted)
            )
            assert store.load("Team plan").assignment == {"E1": "B"}
            outcomes["save won"] += 1
        else:  # the delete won: the save was refused, nothing came back
            assert deleted is None and isinstance(saved, ScenarioConflictError)
            assert re.search(r"was deleted or renamed by someone else after you loaded revision 1",
                             str(saved))  # fmt: skip
            assert not store.exists("Team plan")
            outcomes["delete won"] += 1
    assert sum(outcomes.values()) == 20
