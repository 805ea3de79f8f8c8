"""The recording state machine, on a virtual clock: examples, then random event sequences."""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from hal.inputs import InputEvent
from recorder.statemachine import (
    Marker,
    PostRecord,
    Remind,
    Rollover,
    Rules,
    Start,
    State,
    StateMachine,
    Stop,
)


def press(m: StateMachine, name: str, t: float, hold: float = 0.2) -> list[object]:
    out: list[object] = list(m.handle(InputEvent(name, True, t)))
    out += m.tick(t + hold)
    out += m.handle(InputEvent(name, False, t + hold))
    return out


def test_a_press_starts_and_a_bump_does_not_stop() -> None:
    m = StateMachine(Rules(stop_hold_s=3))
    assert press(m, "record", 10) == [Start(10, "button")]
    press(m, "record", 20, hold=1.0)  # a bump, or a short press
    assert m.state is State.RECORDING


def test_a_long_press_stops_while_still_held() -> None:
    m = StateMachine(Rules(stop_hold_s=3))
    press(m, "record", 10)
    m.handle(InputEvent("record", True, 20))
    assert m.tick(22.9) == []
    assert m.tick(23.0) == [Stop(23.0, "button")]
    assert m.handle(InputEvent("record", False, 25)) == []
    assert m.state is State.BUFFERING


def test_post_event_recording_then_back_to_buffering() -> None:
    m = StateMachine(Rules(stop_hold_s=2, post_event_s=10))
    press(m, "record", 0)
    m.handle(InputEvent("record", True, 5))
    assert m.tick(7) == [PostRecord(7, 17)]
    assert m.state is State.POST_RECORD
    assert m.tick(16.9) == []
    assert m.tick(17) == [Stop(17, "button")]


def test_holster_and_external_trigger_start_when_enabled() -> None:
    m = StateMachine(Rules())
    assert m.handle(InputEvent("holster", True, 1)) == [Start(1, "holster")]
    m2 = StateMachine(Rules(holster_trigger=False))
    assert m2.handle(InputEvent("holster", True, 1)) == []
    m3 = StateMachine(Rules())
    assert m3.handle(InputEvent("trigger", True, 1)) == [Start(1, "external")]


def test_reminders_and_rollover_follow_the_clock() -> None:
    m = StateMachine(Rules(reminder_s=120, max_recording_s=300))
    press(m, "record", 0)
    acts = [a for t in range(1, 601) for a in m.tick(float(t))]
    assert [a.t for a in acts if isinstance(a, Remind)] == [120, 240, 360, 480, 600]
    assert [a.t for a in acts if isinstance(a, Rollover)] == [300, 600]


def test_storage_full_stops_and_refuses_until_room() -> None:
    m = StateMachine(Rules())
    press(m, "record", 0)
    assert m.storage_is_full(5) == [Stop(5, "storage_full")]
    assert press(m, "record", 6)[0].__class__.__name__ == "Refused"
    m.storage_has_room()
    assert press(m, "record", 7)[0] == Start(7, "button")


def test_resume_after_power_loss_starts_its_own_recording_once() -> None:
    m = StateMachine(Rules(stop_hold_s=3))
    assert m.resume(1.0) == [Start(1.0, "resume")]
    assert m.resume(2.0) == []  # already recording
    assert press(m, "record", 10, hold=3.0)[-1] == Stop(13.0, "button")  # stops as any other


def test_marker_mute_and_stealth_toggle() -> None:
    m = StateMachine(Rules())
    assert press(m, "marker", 1) == [Marker(1)]
    press(m, "mute", 2)
    press(m, "stealth", 3)
    assert m.muted and m.stealth
    press(m, "mute", 4)
    assert not m.muted


NAMES = ["record", "mute", "marker", "stealth", "holster", "trigger"]


@given(
    st.lists(
        st.tuples(st.sampled_from(NAMES), st.booleans(), st.floats(0.0, 30.0)),
        max_size=60,
    ),
    st.floats(1, 10),
    st.sampled_from([0.0, 5.0]),
)
def test_random_event_sequences_keep_start_and_stop_paired(events, hold, post) -> None:  # type: ignore[no-untyped-def]
    m = StateMachine(Rules(stop_hold_s=hold, post_event_s=post, max_recording_s=60))
    t, log = 0.0, []
    for name, pressed, dt in events:
        t += dt
        log += m.tick(t)
        log += m.handle(InputEvent(name, pressed, t))
    log += m.tick(t + 100)
    log += m.shutdown(t + 101)
    starts_stops = [a for a in log if isinstance(a, Start | Stop)]
    # they alternate, beginning with a Start: no recording is ever left open or stopped twice
    for i, a in enumerate(starts_stops):
        assert isinstance(a, Start if i % 2 == 0 else Stop), starts_stops
    assert len(starts_stops) % 2 == 0
    assert m.state is State.BUFFERING
    # a button stop only ever follows a hold of at least stop_hold_s
    times = [a.t for a in log if isinstance(a, Start | Stop)]
    assert times == sorted(times)
