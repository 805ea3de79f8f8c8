"""The real picamera2 from PyPI, running off a Pi on stand-ins for what lies below it.

picamera2 is pure Python over libcamera's C++ bindings and a few kernel interfaces. Where no
real libcamera can be imported (anywhere but a Pi), ``tests/stubs`` is put at the END of
``sys.path``, so that only what is missing is stood in for:

- ``libcamera``: the bindings' API over a simulated imx219 and ISP (``tests/stubs/libcamera``);
- ``prctl`` and ``pidng``: sdist-only packages that need a C compiler (the one prctl call
  picamera2 makes is made for real; DNG output is refused); ``pykms``: kms++'s bindings, not
  on PyPI (there is no display here);
- the kernel: the dma-heap that DmaAllocator takes frame buffers from, and the Pi 4's V4L2
  H.264 encoder behind ``H264Encoder`` (``tests/picamera2_kernel.py``).

Everything else is picamera2's own code: Picamera2, its configuration checks and controls, its
CameraManager thread, the NullPreview event loop, request recycling, DmaAllocator, MappedArray,
the Encoder base class, V4L2Encoder/H264Encoder, LibavH264Encoder (libx264 through PyAV) and
the outputs.

On a Pi (where a real libcamera imports) nothing is stood in for: ``STUBBED`` is False, and the
tests that need the stand-ins give way to the real camera.
"""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path
from types import ModuleType

from tests.picamera2_kernel import Bcm2835Codec, DmaHeap, install

__all__ = ["CODECS", "HEAP", "IMPORT_ERROR", "STUBBED", "picamera2", "require"]

STUBS = Path(__file__).parent / "stubs"
STUBBED = importlib.util.find_spec("libcamera") is None
if STUBBED and str(STUBS) not in sys.path:
    sys.path.append(str(STUBS))

picamera2: ModuleType | None
IMPORT_ERROR: BaseException | None = None
try:
    import picamera2
except ImportError as exc:  # not installed: `make venv` installs it (tests/stubs/requirements.txt)
    picamera2, IMPORT_ERROR = None, exc

HEAP: DmaHeap | None = None
CODECS: list[Bcm2835Codec] = []
if STUBBED and picamera2 is not None:
    HEAP, CODECS = install(picamera2)


def require() -> ModuleType:
    """picamera2, or a failure that says how to get it (never a silent skip)."""
    if picamera2 is None:
        raise AssertionError(
            f"picamera2 is a test dependency and does not import ({IMPORT_ERROR!r}); "
            "run `make venv`, which installs tests/stubs/requirements.txt"
        )
    return picamera2
