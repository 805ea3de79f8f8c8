"""The backend registry: backend names mapped to the module and class that implement them.

Modules are named as strings and imported only when their backend is asked for, so the simulator
never imports picamera2 and the Pi never imports OpenCV. There is no fallback: a backend that is
unknown or fails to import raises :class:`BackendError` naming the backend and the module.
"""

from __future__ import annotations

import importlib

from hal.backend import Backend
from hal.errors import BackendError

__all__ = ["BACKENDS", "load_backend"]

BACKENDS: dict[str, tuple[str, str]] = {
    "sim": ("sim.backend", "SimBackend"),
    "pi": ("hal.pi.backend", "PiBackend"),
}


def load_backend(name: str) -> Backend:
    """Import and instantiate the backend registered as ``name``.

    Raises BackendError when the name is unknown (listing the known names), when its module cannot
    be imported (naming backend, module and the underlying error, which is chained), or when the
    module does not define a Backend subclass under the registered class name.
    """
    try:
        module_name, class_name = BACKENDS[name]
    except KeyError:
        known = ", ".join(sorted(BACKENDS))
        raise BackendError(f"unknown backend {name!r}; known backends: {known}") from None
    try:
        module = importlib.import_module(module_name)
    except Exception as exc:
        raise BackendError(
            f"backend {name!r} cannot load: importing module {module_name!r} failed: "
            f"{type(exc).__name__}: {exc}"
        ) from exc
    cls = getattr(module, class_name, None)
    if not (isinstance(cls, type) and issubclass(cls, Backend)):
        raise BackendError(
            f"backend {name!r} cannot load: module {module_name!r} has no Backend subclass "
            f"named {class_name!r}"
        )
    try:
        return cls()
    except Exception as exc:
        raise BackendError(
            f"backend {name!r} from module {module_name!r} failed to initialise: "
            f"{type(exc).__name__}: {exc}"
        ) from exc
