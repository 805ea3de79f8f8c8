"""``bodycam selftest``: the checks the service runs before it starts (and the console runs).

Exit 0 when nothing FAILs (warnings are printed), 1 when a check FAILs, 78 on a bad config.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path
from typing import Any

from hal.errors import HalError
from hal.microphone import AudioPacket
from hal.registry import load_backend
from recorder.config import ConfigError, load
from recorder.daemon import FrameQueue, HandOver, settings_from, with_overrides
from recorder.selftest import camera_delivers, microphone_delivers, run_selftest

EX_CONFIG = 78


def add_parsers(sub: Any) -> None:
    p = sub.add_parser(
        "selftest",
        help="check camera, microphone, storage, keys, clock and audit log",
        description=__doc__,
    )
    p.add_argument("--config", type=Path, default=Path("/etc/bodycam/bodycam.toml"), metavar="FILE")
    p.add_argument("--json", action="store_true")
    p.set_defaults(run=selftest)


def selftest(args: argparse.Namespace) -> int:
    try:
        config, _ = with_overrides(load(args.config))
        backend = load_backend(config["device"]["backend"])
        devices = backend.create(settings_from(config))
    except ConfigError as e:
        print(f"bodycam selftest: {e}", file=sys.stderr)
        return EX_CONFIG
    except (HalError, ValueError) as e:
        print(f"FAIL devices: {e}")
        return 1
    try:
        frames = FrameQueue(64)
        sound: HandOver[AudioPacket] = HandOver(1024)
        mic = devices.microphone

        def wait() -> None:
            time.sleep(0.25)
            while frames.get_nowait() is not None:  # taken, as the recorder would
                pass

        devices.camera.start(frames)  # on the simulator, it moves time for the microphone
        try:
            if mic is not None:
                mic.start(sound)  # a missing device is a fault, never an exception
            # A real camera needs a moment to deliver its first frames: wait up to 5 s.
            camera = camera_delivers(lambda: devices.camera.frames_delivered, wait, tries=20)
            microphone = microphone_delivers(
                None if mic is None else lambda: mic.packets_delivered,
                lambda: None if mic is None else mic.fault,
                wait,
                tries=12,
            )
        finally:
            devices.camera.stop()
            if mic is not None:
                mic.stop()
        checks = run_selftest(config, devices, camera, microphone)
    finally:
        devices.close()
    if args.json:
        print(json.dumps([c.to_json() for c in checks], indent=2))
    else:
        for c in checks:
            print(c)
    return 1 if any(c.status == "FAIL" for c in checks) else 0
