"""A stand-in for python-prctl (sdist only: it needs a C compiler and libcap's headers).

picamera2 imports it in ``picamera2.outputs.ffmpegoutput`` for one call, made in the ffmpeg
child it starts: ``prctl.set_pdeathsig(signal.SIGKILL)``. That call is made here for real,
through libc's prctl(2); anything else python-prctl has is not here.
"""

from __future__ import annotations

import ctypes
import os

PR_SET_PDEATHSIG = 1

__all__ = ["set_pdeathsig"]


def set_pdeathsig(signal: int) -> None:
    """Have the kernel send ``signal`` to this process when its parent dies."""
    libc = ctypes.CDLL(None, use_errno=True)
    if libc.prctl(PR_SET_PDEATHSIG, int(signal), 0, 0, 0) != 0:
        err = ctypes.get_errno()
        raise OSError(err, os.strerror(err))
