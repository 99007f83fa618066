"""The code style CI holds: ruff's pyflakes, pycodestyle and import-order checks with the
configuration in pyproject.toml ([tool.ruff]), over the library, tests, scripts and benchmarks."""

import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent


def ruff() -> str:
    """The ruff executable of this environment (requirements.txt pins it)."""
    here = Path(sys.executable).parent / "ruff"
    found = str(here) if here.exists() else shutil.which("ruff")
    if found is None:
        pytest.fail("ruff is not installed: pip install -r requirements.txt (it pins ruff)")
    return found


def test_ruff_finds_nothing():
    result = subprocess.run([ruff(), "check", "--output-format", "concise", "."], cwd=ROOT,
                            capture_output=True, text=True)
    assert result.returncode == 0, f"ruff check . found:\n{result.stdout}{result.stderr}"


def test_ruff_would_catch_an_unused_import(tmp_path):
    """The check can fail: the same configuration rejects an unused import."""
    (tmp_path / "pyproject.toml").write_text((ROOT / "pyproject.toml").read_text())
    (tmp_path / "ptm_lib").mkdir()
    (tmp_path / "ptm_lib" / "bad.py").write_text("import os\n")
    result = subprocess.run([ruff(), "check", "."], cwd=tmp_path, capture_output=True, text=True)
    assert result.returncode == 1 and "F401" in result.stdout
