"""Which moments of a recording get a thumbnail in report.html.

Each thumbnail is the keyframe at or before its moment, and costs one keyframe decode (about
4 ms at 720p), so the page shows the moments a reader looks for rather than a picture every few
seconds:

- the trigger (the start, when the trigger cannot be placed), each marker, and each time mute or
  stealth was switched on or off: these are never left out;
- the start of each segment (at most ``MAX_EVEN`` of them, evenly chosen) and the last picture
  before each hole;
- where those leave a stretch of more than ``MAX_GAP_S`` without a picture (long segments, or a
  recording whose segments are not known), evenly spaced ones in between, at most ``MAX_EVEN``:
  past ``MAX_EVEN * MAX_GAP_S`` seconds the stretches grow to a ``MAX_EVEN``-th of the duration.
"""

from __future__ import annotations

import itertools
import math

from recorder.export.report.timeline import Timeline

__all__ = ["MAX_EVEN", "MAX_GAP_S", "choose"]

MAX_GAP_S = 60.0
MAX_EVEN = 60


def choose(tl: Timeline) -> list[tuple[float, str]]:
    """The moments of ``tl`` to show, as (file seconds, what it is), in time order; what it is
    is "" for a picture that only fills a stretch; none when the recording has no duration."""
    end = tl.duration
    if not end:
        return []
    first = [m for m in tl.marks if m.kind == "trigger" and m.t is not None] or [
        m for m in tl.marks if m.kind == "start" and m.t is not None
    ]
    moments = [(m.t, m.label.split(" (")[0]) for m in first[:1] if m.t is not None]
    moments += [(m.t, m.label) for m in [*tl.markers, *tl.switches] if m.t is not None]
    starts = [(s.t0, s.label) for s in tl.of("segment")]
    if len(starts) > MAX_EVEN:
        n = len(starts)
        starts = [starts[round(i * (n - 1) / (MAX_EVEN - 1))] for i in range(MAX_EVEN)]
    # a hole at file time 0 has no picture before it: the file starts after it
    moments += starts + [(h.t0, "end before the hole") for h in tl.of("hole") if h.t0 > 0]
    moments = [(min(max(t, 0.0), end), what) for t, what in moments]
    step = max(MAX_GAP_S, end / MAX_EVEN)
    edges = sorted({0.0, end, *(t for t, _ in moments)})
    for a, b in itertools.pairwise(edges):
        n = math.ceil((b - a) / step - 1e-9)  # stretches of at most step
        moments += [(a + (b - a) * i / n, "") for i in range(1, n)]
    return sorted(moments, key=lambda m: m[0])
