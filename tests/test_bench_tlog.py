"""The log-cost bench measures what it says: one file close per whole segment, each timed.

No figure is asserted here (figures are ``make bench``'s, never a test's); this checks that the
bench's window holds the closes it divides by, so the figure cannot silently measure nothing.
"""

from __future__ import annotations

import re

from recorder.bench.common import encode_h264
from recorder.bench.tlog import bench_log_cost


def test_the_bench_times_one_close_per_segment_of_an_aged_log() -> None:
    fps = 5  # a small, cheap stream: the workload's shape, not its figures, is under test
    rows = dict(bench_log_cost(encode_h264(160, 120, fps, 200_000, 2.0), fps, segments=2))
    assert re.match(
        r"2 x 60 s segments .*, 2 file closes, log of 1,048,576 leaves",
        rows["workload (default config)"],
    )
    per_close = rows["log per file close: leaf, tree, checkpoint signed, tlog.json, audit entry"]
    assert re.search(r", [1-9]\d* syncs$", per_close)
    assert rows["  log CPU / recorder user CPU"].endswith("(goal <= 2%)")
