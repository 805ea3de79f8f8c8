"""The Inputs contract: named buttons and switches reported as timestamped edge events."""

from __future__ import annotations

import logging
import threading
from abc import ABC, abstractmethod
from collections.abc import Callable
from dataclasses import dataclass

__all__ = ["INPUT_NAMES", "InputEvent", "Inputs"]

log = logging.getLogger(__name__)

# "holster" is the holster sensor, "trigger" an external trigger line (e.g. a vehicle's lightbar).
INPUT_NAMES: tuple[str, ...] = ("record", "mute", "marker", "stealth", "holster", "trigger")


@dataclass(frozen=True)
class InputEvent:
    """One edge of one input.

    ``t`` is ``Clock.monotonic()`` at the edge. For "holster", ``pressed`` True means the device
    was drawn (the holster switch opened) and False that it was holstered again. Hold durations
    are not reported: the consumer measures them on its clock from the press and release edges.
    """

    name: str
    pressed: bool
    t: float


def check_input_name(name: str) -> None:
    """Raise ValueError unless ``name`` is one of INPUT_NAMES."""
    if name not in INPUT_NAMES:
        raise ValueError(f"unknown input {name!r}; known inputs: {', '.join(INPUT_NAMES)}")


class Inputs(ABC):
    """Every input of the device, as edge events to subscribers and as current states.

    Subscribers are called on whatever thread saw the edge (a GPIO callback thread, the
    simulator's clock); they must only queue the event. A subscriber that raises is logged and
    the others are still called. Edges before the first subscription are not replayed.

    MUST override: :meth:`_is_active`.
    MAY override: :meth:`_close` (release the pins; called once).
    Backends report edges by calling :meth:`_emit`.
    """

    def __init__(self) -> None:
        self._subscribers: list[Callable[[InputEvent], None]] = []
        self._lock = threading.Lock()
        self._closed = False

    def subscribe(self, callback: Callable[[InputEvent], None]) -> None:
        """Call ``callback`` with every InputEvent from now on."""
        with self._lock:
            self._subscribers.append(callback)

    def is_active(self, name: str) -> bool:
        """Whether input ``name`` is pressed now (for "holster": whether the device is drawn)."""
        check_input_name(name)
        return self._is_active(name)

    def close(self) -> None:
        """Release the inputs; safe to call twice."""
        with self._lock:
            if self._closed:
                return
            self._closed = True
            self._subscribers.clear()
        self._close()

    def _emit(self, name: str, pressed: bool, t: float) -> None:
        event = InputEvent(name, pressed, t)
        with self._lock:
            subscribers = list(self._subscribers)
        for callback in subscribers:
            try:
                callback(event)
            except Exception:
                log.exception("input subscriber %r failed on %s", callback, event)

    @abstractmethod
    def _is_active(self, name: str) -> bool: ...

    def _close(self) -> None:
        return None
