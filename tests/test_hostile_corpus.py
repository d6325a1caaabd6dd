"""Every hostile input of the corpus (tests/hostile_corpus.py) gets its message and leaks nothing.

For each case: the door refuses it with the expected words (or reads it, when reading is
safe), no exception other than the library's own escapes, no line of the secret file
appears in any message or column list, nothing the planner already had is lost, and the
canary server on 127.0.0.1 receives no request.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path

import pytest
from hostile_corpus import CASES, SECRET_LINES, Case, canary, run, secret_file


@pytest.fixture(scope="module")
def env(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, str]]:
    folder = tmp_path_factory.mktemp("secret")
    with canary() as (url, hits):
        yield {"secret": str(secret_file(folder)), "canary": url, "_hits": hits}  # type: ignore[dict-item]


@pytest.mark.parametrize("case", CASES, ids=[c.id for c in CASES])
def test_hostile_input(case: Case, env: dict[str, str], tmp_path: Path) -> None:
    hits = env["_hits"]
    hits.clear()  # type: ignore[attr-defined]
    outcome = run(case, env, tmp_path)
    assert outcome.result != "traceback", f"{case.id}: crashed with {outcome.text}"
    for line in SECRET_LINES:
        assert line.split(":")[0] not in outcome.text, f"{case.id}: the secret leaked"
    assert not hits, f"{case.id}: the server requested {hits}"
    assert not outcome.lost, f"{case.id}: a good scenario stopped being listed"
    assert not outcome.unsafe, f"{case.id}: {outcome.unsafe}"
    if case.outcome == "refuse":
        assert outcome.result == "refused", f"{case.id}: expected a refusal, got {outcome.text!r}"
    else:
        assert outcome.result == "loaded", f"{case.id}: expected it to load, got {outcome.text!r}"
    assert re.search(case.expect, outcome.text), f"{case.id}: {outcome.text!r} !~ {case.expect!r}"


def test_corpus_ids_are_unique() -> None:
    ids = [c.id for c in CASES]
    assert len(ids) == len(set(ids))


def test_corpus_writes_its_files(tmp_path: Path) -> None:
    from hostile_corpus import write

    folders = write(tmp_path / "out", {"secret": "/nonexistent", "canary": "http://127.0.0.1:9"})
    assert len(folders) == len(CASES)
    assert all(any(f.iterdir()) for f in folders)
