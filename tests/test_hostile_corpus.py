"""Every hostile input of the corpus (tests/hostile_corpus.py) gets its message and leaks nothing.

For each case: the door refuses it with the expected words (or reads it, when reading is
safe), no exception other than the library's own escapes, no line of the secret file
appears in any message or column list, and the canary server on 127.0.0.1 receives no
request.
"""

from __future__ import annotations

import http.server
import re
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest
from hostile_corpus import CASES, POPULATION, SECRET_LINES, Case, secret_file

from footprint.errors import FootprintError
from footprint.uploads import inspect_upload_columns, load_uploaded_geography


class _Canary(http.server.BaseHTTPRequestHandler):
    hits: list[str] = []  # noqa: RUF012 - shared by the server's handler instances on purpose

    def do_GET(self) -> None:
        type(self).hits.append(self.path)
        self.send_response(200)
        self.end_headers()
        self.wfile.write(b"a,b\nstolen,1\n")

    do_HEAD = do_GET

    def log_message(self, *args: object) -> None:
        pass


@pytest.fixture(scope="module")
def env(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, str]]:
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), _Canary)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    folder = tmp_path_factory.mktemp("secret")
    try:
        yield {
            "secret": str(secret_file(folder)),
            "canary": f"http://127.0.0.1:{server.server_address[1]}",
        }
    finally:
        server.shutdown()
        server.server_close()


def _run(case: Case, env: dict[str, str]) -> tuple[str, object]:
    """Put the case through its door; return ("refused", message) or ("loaded", value)."""
    files = case.build(env)
    boundary = files if len(files) > 1 else files[0]
    try:
        if case.kind == "columns":
            return "loaded", inspect_upload_columns(boundary, **case.options)
        if case.kind == "boundary":
            geo = load_uploaded_geography(
                boundary,
                POPULATION,
                code_column="code",
                population_column="pop",
                name_column="label",
                **case.options,
            )
            return "loaded", geo
    except FootprintError as exc:
        return "refused", str(exc)
    raise AssertionError(f"unknown door {case.kind!r}")


@pytest.mark.parametrize("case", CASES, ids=[c.id for c in CASES])
def test_hostile_input(case: Case, env: dict[str, str]) -> None:
    _Canary.hits.clear()
    outcome, value = _run(case, env)
    text = value if isinstance(value, str) else repr(value)
    if case.kind == "boundary" and outcome == "loaded":
        text += repr(list(value.units["name"]))  # type: ignore[attr-defined]
    for line in SECRET_LINES:
        for part in line.split(":")[:1]:
            assert part not in text, f"{case.id}: the secret file leaked into {text[:300]!r}"
    assert not _Canary.hits, f"{case.id}: the server requested {_Canary.hits}"
    if case.outcome == "refuse":
        assert outcome == "refused", f"{case.id}: expected a refusal, got {text[:300]!r}"
        assert re.search(case.expect, text), f"{case.id}: {text!r} does not match {case.expect!r}"
    else:
        assert outcome == "loaded", f"{case.id}: expected it to load, got {text[:300]!r}"


def test_corpus_ids_are_unique() -> None:
    ids = [c.id for c in CASES]
    assert len(ids) == len(set(ids))


def test_corpus_writes_its_files(tmp_path: Path) -> None:
    from hostile_corpus import write

    folders = write(tmp_path / "out", {"secret": "/nonexistent", "canary": "http://127.0.0.1:9"})
    assert len(folders) == len(CASES)
    assert all(any(f.iterdir()) for f in folders)
