"""Shared test helpers. In CI (CI=true) a missing dataset or optional dependency fails the test, never skips it."""

from __future__ import annotations

import os

import pytest

IN_CI = os.environ.get("CI", "").lower() in ("1", "true", "yes")


def require(condition: bool, why: str) -> None:
    """Skip locally when ``condition`` is false; in CI fail, so a missing install step cannot hide."""
    if not condition:
        if IN_CI:
            pytest.fail(f"required in CI: {why}")
        pytest.skip(why)


@pytest.fixture(autouse=True)
def _no_plot_windows(monkeypatch):
    monkeypatch.setenv("MPLBACKEND", "Agg")
