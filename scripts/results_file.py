"""Reading and rewriting a results file of data/results/ (the benchmark scripts share it)."""

from __future__ import annotations

import json
from pathlib import Path


def load(path: Path) -> dict:
    """The results recorded so far in ``path`` (a part re-measured replaces only its own key), or {}."""
    return json.loads(path.read_text()) if path.exists() else {}


def save(path: Path, results: dict) -> None:
    """Write ``results`` to ``path`` as indented UTF-8 JSON (rewritten after every run, so a
    stopped measurement keeps what it finished)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(results, indent=2, ensure_ascii=False) + "\n")
    print(f"wrote {path}", flush=True)
