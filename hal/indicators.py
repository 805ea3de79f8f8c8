"""The Indicators contract: LEDs, haptic motor and buzzer, with a stealth mode that darkens all."""

from __future__ import annotations

import threading
from abc import ABC, abstractmethod

__all__ = ["LED_NAMES", "PATTERNS", "Indicators"]

LED_NAMES: tuple[str, ...] = ("recording", "status", "warning", "mute")
"""``mute`` is lit while the microphone is muted (as Axis's microphone LED shows it off)."""

# Each pattern is a sequence of (on seconds, off seconds) pulses, shared by haptic motor and buzzer.
PATTERNS: dict[str, tuple[tuple[float, float], ...]] = {
    "short": ((0.1, 0.0),),
    "long": ((0.6, 0.0),),
    "double": ((0.1, 0.1), (0.1, 0.0)),
    "triple": ((0.1, 0.1), (0.1, 0.1), (0.1, 0.0)),
    "alarm": ((0.25, 0.25), (0.25, 0.25), (0.25, 0.25), (0.25, 0.0)),
}


class Indicators(ABC):
    """What the officer sees, feels and hears.

    :meth:`set_led` sets an LED's wanted state; :meth:`haptic` and :meth:`beep` play one of
    PATTERNS once (a new pattern on the same output replaces one still playing). While
    :attr:`stealth` is True every output stays dark and silent; LED states wanted meanwhile are
    remembered and shown when stealth ends, patterns are not replayed. Unknown names and
    patterns raise ValueError.

    MUST override: :meth:`_set_led`, :meth:`_haptic`, :meth:`_beep`, :meth:`_silence` (stop any
    pattern playing now).
    MAY override: :meth:`_close` (release the outputs; called once), :meth:`_requested`
    (see every request, shown or not; the simulator keeps its history with it).
    """

    def __init__(self) -> None:
        self._lock = threading.RLock()
        self._wanted = dict.fromkeys(LED_NAMES, False)
        self._stealth = False
        self._closed = False

    def set_led(self, name: str, on: bool) -> None:
        if name not in LED_NAMES:
            raise ValueError(f"unknown LED {name!r}; known LEDs: {', '.join(LED_NAMES)}")
        with self._lock:
            self._requested(f"led:{name}", on)
            self._wanted[name] = on
            if not self._stealth and not self._closed:
                self._set_led(name, on)

    def haptic(self, pattern: str) -> None:
        _check_pattern(pattern)
        with self._lock:
            self._requested("haptic", pattern)
            if not self._stealth and not self._closed:
                self._haptic(pattern)

    def beep(self, pattern: str) -> None:
        _check_pattern(pattern)
        with self._lock:
            self._requested("beep", pattern)
            if not self._stealth and not self._closed:
                self._beep(pattern)

    @property
    def stealth(self) -> bool:
        return self._stealth

    @stealth.setter
    def stealth(self, value: bool) -> None:
        with self._lock:
            self._requested("stealth", value)
            if value == self._stealth or self._closed:
                self._stealth = value
                return
            self._stealth = value
            if value:
                self._silence()
            for name in LED_NAMES:
                self._set_led(name, self._wanted[name] and not value)

    def close(self) -> None:
        """Turn everything off and release the outputs; safe to call twice."""
        with self._lock:
            if self._closed:
                return
            self._closed = True
            self._silence()
            for name in LED_NAMES:
                self._set_led(name, False)
            self._close()

    @abstractmethod
    def _set_led(self, name: str, on: bool) -> None: ...

    @abstractmethod
    def _haptic(self, pattern: str) -> None: ...

    @abstractmethod
    def _beep(self, pattern: str) -> None: ...

    @abstractmethod
    def _silence(self) -> None: ...

    def _close(self) -> None:
        return None

    def _requested(self, what: str, value: object) -> None:
        return None


def _check_pattern(pattern: str) -> None:
    if pattern not in PATTERNS:
        raise ValueError(f"unknown pattern {pattern!r}; known patterns: {', '.join(PATTERNS)}")
