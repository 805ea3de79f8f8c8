"""The backend registry: load by name, fail loudly naming backend and module, never fall back."""

from __future__ import annotations

from pathlib import Path

import pytest

from hal import registry
from hal.backend import Backend, Devices, DeviceSettings
from hal.errors import BackendError, HalError
from hal.registry import BACKENDS, load_backend


def test_sim_loads_by_name() -> None:
    backend = load_backend("sim")
    assert isinstance(backend, Backend)
    assert backend.name == "sim"
    assert type(backend).__module__ == "sim.backend"


def test_an_unknown_backend_lists_the_known_ones() -> None:
    with pytest.raises(BackendError, match=r"unknown backend 'pci'; known backends: pi, sim"):
        load_backend("pci")


def test_a_backend_whose_module_is_missing_names_backend_and_module(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setitem(BACKENDS, "gone", ("hal.gone.backend", "GoneBackend"))
    with pytest.raises(BackendError) as caught:
        load_backend("gone")
    message = str(caught.value)
    assert "'gone'" in message and "'hal.gone.backend'" in message
    assert "ModuleNotFoundError" in message
    assert isinstance(caught.value.__cause__, ImportError)
    assert isinstance(caught.value, HalError)


def test_an_import_that_explodes_is_reported_with_its_cause(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    (tmp_path / "exploding_backend.py").write_text("raise OSError('libcamera not found')\n")
    monkeypatch.syspath_prepend(str(tmp_path))
    monkeypatch.setitem(registry.BACKENDS, "boom", ("exploding_backend", "BoomBackend"))
    with pytest.raises(BackendError) as caught:
        load_backend("boom")
    message = str(caught.value)
    assert "'boom'" in message and "'exploding_backend'" in message
    assert "OSError: libcamera not found" in message
    assert isinstance(caught.value.__cause__, OSError)


def test_a_module_without_the_class_is_an_error_not_a_fallback(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setitem(registry.BACKENDS, "odd", ("hal.errors", "OddBackend"))
    with pytest.raises(BackendError, match=r"'odd'.*'hal.errors'.*'OddBackend'"):
        load_backend("odd")


def test_backends_that_cannot_play_say_so() -> None:
    class Bare(Backend):
        name = "bare"

        def create(self, settings: DeviceSettings) -> Devices:
            raise NotImplementedError

    with pytest.raises(BackendError, match="backend 'bare' cannot play scenarios"):
        Bare().play(None, Path("x.toml"), lambda: None)  # type: ignore[arg-type]
