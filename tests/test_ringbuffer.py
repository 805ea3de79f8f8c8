"""The pre-event ring buffer's invariants, as hypothesis properties."""

from __future__ import annotations

from hypothesis import example, given
from hypothesis import strategies as st

from hal.camera import EncodedFrame
from recorder.evidence.media import STREAM_AUDIO, Frame
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


@given(streams(), st.lists(st.integers(1, 800), min_size=1, max_size=50))
@example(  # a packet's bytes, not a frame's, pass the cap: the oldest group must go then too
    case=(
        [EncodedFrame(bytes(500), True, 33_333), EncodedFrame(bytes(450), True, 66_666)],
        10,
        1000,
    ),
    packet_sizes=[40],
)
def test_audio_is_held_with_the_frames_of_its_time_and_counted_against_the_cap(
    case: tuple[list[EncodedFrame], float, int], packet_sizes: list[int]
) -> None:
    """Audio packets (arriving after their frames, by the encoder's delay) are kept while the
    frames of their time are, and their bytes count towards the cap."""
    frames, duration, cap = case
    ring = RingBuffer(duration, cap)
    pushed: list[Frame] = []
    for i, f in enumerate(frames):
        ring.push(f)
        packet = Frame(
            STREAM_AUDIO, f.timestamp_us - 43_000, False, bytes(packet_sizes[i % len(packet_sizes)])
        )
        ring.push_sample(packet)
        pushed.append(packet)
        held = list(ring._frames)
        samples = ring.samples()
        oldest = held[0].timestamp_us if held else None
        assert samples == [p for p in pushed if oldest is not None and p.pts_us >= oldest]
        assert ring.nbytes == sum(len(x.data) for x in held) + sum(len(p.data) for p in samples)
        if len([x for x in held if x.keyframe]) > 1:
            assert ring.nbytes <= cap
