"""Hypothesis profiles, chosen with HYPOTHESIS_PROFILE (docs/decisions.md, "Randomness in tests").

- ``dev``, the default: random examples, remembered in ``.hypothesis/`` so a failure replays first.
- ``ci``, what ``make test`` loads: the same examples on every run (derandomized), so CI's verdict
  depends on the code and never on luck; a failure prints the blob that reproduces it.
- ``thorough``, ``make test-thorough``: twenty times the examples, random, for a developer to run
  for longer. Whatever it finds is a bug: fix it and pin the case with ``@example``.

A test that sets its own ``max_examples`` writes ``max_examples=examples(n)`` so that the thorough
profile scales it too.
"""

from __future__ import annotations

import os

from hypothesis import HealthCheck, settings

__all__ = ["examples", "load_profile"]

_SCALE = {"thorough": 20}
_COMMON = {"deadline": None, "suppress_health_check": [HealthCheck.function_scoped_fixture]}

settings.register_profile("dev", **_COMMON)  # type: ignore[arg-type]
settings.register_profile("ci", derandomize=True, database=None, print_blob=True, **_COMMON)  # type: ignore[arg-type]
settings.register_profile(
    "thorough",
    max_examples=100 * _SCALE["thorough"],
    print_blob=True,
    **_COMMON,  # type: ignore[arg-type]
)


def _profile() -> str:
    return os.environ.get("HYPOTHESIS_PROFILE", "dev")


def examples(n: int) -> int:
    """``n`` examples, scaled up under the thorough profile."""
    return n * _SCALE.get(_profile(), 1)


def load_profile() -> None:
    name = _profile()
    if name not in ("dev", "ci", "thorough"):
        raise SystemExit(f"HYPOTHESIS_PROFILE={name!r}: allowed are dev, ci and thorough")
    settings.load_profile(name)
