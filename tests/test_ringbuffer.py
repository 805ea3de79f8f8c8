"""The pre-event ring buffer's invariants, as hypothesis properties."""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from hal.camera import EncodedFrame
from recorder.ringbuffer import RingBuffer

FPS_US = 33_333


@st.composite
def streams(draw: st.DrawFn) -> tuple[list[EncodedFrame], float, int]:
    n = draw(st.integers(1, 400))
    gop = draw(st.integers(1, 45))
    offset = draw(st.integers(0, gop - 1))  # the stream may begin mid-group
    sizes = draw(st.lists(st.integers(1, 5000), min_size=n, max_size=n))
    jitter = draw(st.lists(st.integers(0, 20_000), min_size=n, max_size=n))
    t, frames = 0, []
    for i in range(n):
        t += FPS_US + jitter[i]
        frames.append(EncodedFrame(bytes(sizes[i]), (i + offset) % gop == 0, t))
    duration = draw(st.floats(0, 10))
    cap = draw(st.integers(1000, 400_000))
    return frames, duration, cap


@given(streams())
def test_ring_buffer_invariants(case: tuple[list[EncodedFrame], float, int]) -> None:
    frames, duration, cap = case
    ring = RingBuffer(duration, cap)
    decodable: list[EncodedFrame] = []
    for f in frames:
        ring.push(f)
        if f.keyframe or decodable:
            decodable.append(f)
        held = list(ring._frames)
        if held:
            # it always begins at a keyframe
            assert held[0].keyframe
            # it is the newest run of what was pushed, in order, held by reference (no copy)
            assert held == decodable[-len(held) :]
            assert all(a is b for a, b in zip(held, decodable[-len(held) :], strict=True))
            assert held[-1] is f or not (f.keyframe or decodable)
        assert ring.nbytes == sum(len(x.data) for x in held)
        groups = [i for i, x in enumerate(held) if x.keyframe]
        if len(groups) > 1:
            # the byte cap holds unless a single group is all there is
            assert ring.nbytes <= cap
            # it never keeps a whole group more than the duration needs
            second = held[groups[1]].timestamp_us
            assert f.timestamp_us - second < round(duration * 1e6) or ring.nbytes > cap
    # with history enough and no byte pressure, it covers at least the duration
    total = sum(len(x.data) for x in frames)
    if total <= cap and decodable:
        covered = decodable[-1].timestamp_us - decodable[0].timestamp_us
        if covered >= duration * 1e6:
            assert ring.span_us >= round(duration * 1e6) or len(ring) == len(decodable)
    snap = ring.snapshot()
    assert snap == list(ring._frames) and (not snap or snap[0].keyframe)


def test_zero_seconds_keeps_the_group_in_progress() -> None:
    ring = RingBuffer(0, 1 << 20)
    for i in range(95):
        ring.push(EncodedFrame(b"x", i % 30 == 0, i * FPS_US))
    held = ring.snapshot()
    assert held[0].timestamp_us == 90 * FPS_US and len(held) == 5


def test_a_stream_starting_mid_group_is_held_from_its_first_keyframe() -> None:
    ring = RingBuffer(30, 1 << 20)
    for i in range(10):
        ring.push(EncodedFrame(b"x", i == 4, i * FPS_US))
    assert ring.discarded == 4 and len(ring) == 6
