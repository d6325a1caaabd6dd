"""Run the hostile-input corpus and print the counts kept in the README's reliability section.

    python benchmarks/hostile_report.py            # counts, then one line per case not clean

Every case of ``tests/hostile_corpus.py`` goes through its door (the library calls
behind the app's uploads, plan import, exports and scenario folder, and the command
line) with a secret file and a canary web server on 127.0.0.1 standing in for what an
attacker would reach for. A case is a *clear error* when it is refused with the words
the corpus expects; a *traceback* when anything else escapes; *data lost* when a good
scenario beside a bad file stops being listed; a *security hole* when the secret shows
in any message, the canary is asked for anything, or an export leaves a cell a
spreadsheet would run.
"""

from __future__ import annotations

import re
import sys
import tempfile
from collections import Counter
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path[:0] = [str(ROOT), str(ROOT / "tests")]

from hostile_corpus import CASES, SECRET_LINES, canary, run, secret_file  # noqa: E402


def main() -> int:
    counts: Counter[str] = Counter()
    notes: list[str] = []
    with tempfile.TemporaryDirectory() as tmp, canary() as (url, hits):
        env = {"secret": str(secret_file(Path(tmp))), "canary": url}
        for case in CASES:
            hits.clear()
            outcome = run(case, env, Path(tmp) / "work")
            counts["inputs"] += 1
            counts["held before" if case.held else "closed now"] += 1
            leaked = any(line.split(":")[0] in outcome.text for line in SECRET_LINES)
            hole = leaked or bool(hits) or bool(outcome.unsafe)
            counts["security holes"] += hole
            counts["data lost"] += outcome.lost
            counts["tracebacks"] += outcome.result == "traceback"
            expected = (outcome.result == "refused") == (case.outcome == "refuse")
            matched = expected and re.search(case.expect, outcome.text) is not None
            if case.outcome == "refuse":
                counts["clear errors"] += matched
            else:
                counts["read safely"] += matched
            if hole or outcome.lost or not matched or outcome.result == "traceback":
                notes.append(f"  {case.id}: {outcome.result}: {outcome.text[:160]!r}")
    width = max(len(k) for k in counts)
    out = sys.stdout
    out.write("hostile-input corpus (tests/hostile_corpus.py)\n")
    for key in (
        "inputs",
        "clear errors",
        "read safely",
        "tracebacks",
        "data lost",
        "security holes",
        "held before",
        "closed now",
    ):
        out.write(f"  {key:<{width}}  {counts[key]}\n")
    kinds = Counter(c.kind for c in CASES)
    out.write("  by door: " + ", ".join(f"{k} {n}" for k, n in sorted(kinds.items())) + "\n")
    if notes:
        out.write("cases that are not clean:\n" + "\n".join(notes) + "\n")
    return 1 if notes else 0


if __name__ == "__main__":
    raise SystemExit(main())
