"""The kernel interfaces under picamera2, stood in for off a Pi: the dma-heap and the H.264 codec.

picamera2 reaches the kernel in two places that the Pi backend uses, both by ``fcntl.ioctl``
on a device node; each class here answers exactly the requests picamera2 makes on its node
and nothing else, and :func:`install` points picamera2's modules at them:

- :class:`DmaHeap`, ``/dev/dma_heap/*`` and dma-buf sync, for ``picamera2.allocators.
  DmaAllocator``: DMA_HEAP_IOCTL_ALLOC gives a memfd of the asked length (as the heap gives a
  dma-buf: a real file descriptor that the stub ISP and picamera2 both map), DMA_BUF_SET_NAME
  and DMA_BUF_IOCTL_SYNC succeed (a memfd needs no cache maintenance).
- :class:`Bcm2835Codec`, ``/dev/video11``, the Pi 4's V4L2 memory-to-memory H.264 encoder, for
  ``picamera2.encoders.H264Encoder`` (``V4L2Encoder``): S_FMT, S_CTRL, S_EXT_CTRLS (I-period,
  repeat sequence header, profile, level, QP), REQBUFS, QUERYBUF, QBUF/DQBUF on the OUTPUT
  (dma-buf frames in) and CAPTURE (mmapped bitstream out) queues, STREAMON/OFF and poll().
  As the hardware does, it copies each frame's timestamp to its encoded buffer, flags
  keyframes, and with REPEAT_SEQ_HEADER puts SPS/PPS before every IDR. The encoding itself is
  libx264 through PyAV ("ultrafast", "zerolatency": one access unit per frame, no scene-cut
  keyframes), not the VideoCore's; profile, level and QP are accepted and not applied.

Not simulated: the codec's own latency and its limits (sizes, levels), buffers it holds
back, V4L2 events, and every request picamera2 does not make.
"""

from __future__ import annotations

import errno
import fcntl
import mmap
import os
import threading
from fractions import Fraction
from types import SimpleNamespace
from typing import Any, ClassVar

import av
import numpy as np
import videodev2 as v4l2

__all__ = ["Bcm2835Codec", "DmaHeap", "install"]


class DmaHeap:
    """``/dev/dma_heap/*``: dma-bufs as memfds; any request it does not know goes to the kernel."""

    def __init__(self, dma_heap: Any) -> None:
        self._alloc = dma_heap.DMA_HEAP_IOCTL_ALLOC
        self._set_name = dma_heap.DMA_BUF_SET_NAME
        self._sync = dma_heap.DMA_BUF_IOCTL_SYNC
        self.allocated = 0  # buffers handed out, so that a test can see the heap was used

    def ioctl(self, fd: Any, request: int, arg: Any = 0, mutate_flag: bool = True) -> Any:
        if request == self._alloc:
            memfd = os.memfd_create("picamera2-dmabuf", os.MFD_CLOEXEC)
            os.ftruncate(memfd, arg.len)
            arg.fd = memfd
            self.allocated += 1
            return 0
        if request == self._set_name:
            return b"" if isinstance(arg, str | bytes) else 0
        if request == self._sync:
            return 0
        return fcntl.ioctl(fd, request, arg, mutate_flag)


_CAPTURE_SIZE = 512 << 10  # what picamera2 asks for (sizeimage), and the driver's default


class Bcm2835Codec:
    """One open of ``/dev/video11``; ``fileno()`` is a memfd holding the CAPTURE buffers."""

    def __init__(self) -> None:
        self._fd = os.memfd_create("bcm2835-codec-capture", os.MFD_CLOEXEC)
        self._cond = threading.Condition()
        self._width = self._height = self._stride = 0
        self._bitrate: int | None = None
        self._iperiod: int | None = None
        self._repeat = False
        self._force_key = False
        self._capture_count = 0
        self._free_capture: list[int] = []  # queued by the application, empty
        self._filled: list[tuple[int, int, bool, Any]] = []  # index, bytes, keyframe, timestamp
        self._done_output: list[int] = []
        self._pending: list[tuple[bytes, bool, tuple[int, int]]] = []  # encoded, no buffer yet
        self._streaming = False
        self._x264: Any = None
        self.closed = False
        self.frames_encoded = 0

    # -- the file object picamera2 holds --------------------------------------------------

    def fileno(self) -> int:
        return self._fd

    def close(self) -> None:
        if not self.closed:
            self.closed = True
            os.close(self._fd)

    def ready(self) -> int:
        """poll(2)'s answer: POLLOUT when a frame was consumed, POLLIN when a bitstream is out."""
        events = 0
        if self._done_output:
            events |= POLLOUT
        if self._filled:
            events |= POLLIN
        return events

    # -- ioctl -----------------------------------------------------------------------------

    def ioctl(self, request: int, arg: Any) -> int:
        with self._cond:
            handler = self._HANDLERS.get(request)
            if handler is None:
                raise OSError(errno.ENOTTY, f"bcm2835-codec stand-in: ioctl {request:#x}")
            handler(self, arg)
            self._cond.notify_all()
            return 0

    def _querycap(self, cap: Any) -> None:
        for field, text in (("driver", b"bcm2835-codec"), ("card", b"bcm2835-codec-encode")):
            array = getattr(cap, field)
            array[: len(text)] = list(text)

    def _s_ctrl(self, ctrl: Any) -> None:
        if ctrl.id == v4l2.V4L2_CID_MPEG_VIDEO_BITRATE:
            self._bitrate = ctrl.value
        elif ctrl.id == v4l2.V4L2_CID_MPEG_VIDEO_FORCE_KEY_FRAME:
            self._force_key = True
        else:
            raise OSError(errno.EINVAL, f"control {ctrl.id:#x}")

    def _s_ext_ctrls(self, ext: Any) -> None:
        for i in range(ext.count):
            ctrl = ext.controls[i]
            if ctrl.id == v4l2.V4L2_CID_MPEG_VIDEO_H264_I_PERIOD:
                self._iperiod = ctrl.value
            elif ctrl.id == v4l2.V4L2_CID_MPEG_VIDEO_REPEAT_SEQ_HEADER:
                self._repeat = bool(ctrl.value)
            # profile, level, min/max QP: accepted, not applied (see the module docstring)

    def _s_fmt(self, fmt: Any) -> None:
        pix = fmt.fmt.pix_mp
        if fmt.type == v4l2.V4L2_BUF_TYPE_VIDEO_OUTPUT_MPLANE:
            if pix.pixelformat != v4l2.V4L2_PIX_FMT_YUV420:
                raise OSError(errno.EINVAL, "this stand-in encodes YUV420 input only")
            self._width, self._height = pix.width, pix.height
            self._stride = pix.plane_fmt[0].bytesperline or pix.width
        elif pix.pixelformat != v4l2.V4L2_PIX_FMT_H264:
            raise OSError(errno.EINVAL, "this stand-in encodes H.264 only")

    def _s_parm(self, parm: Any) -> None:
        pass  # the SPS frame rate; x264 is told the rate below in any case

    def _reqbufs(self, req: Any) -> None:
        if req.type == v4l2.V4L2_BUF_TYPE_VIDEO_CAPTURE_MPLANE:
            self._capture_count = req.count
            os.ftruncate(self._fd, req.count * _CAPTURE_SIZE)
            self._free_capture, self._filled = [], []
        else:
            self._done_output = []

    def _querybuf(self, buf: Any) -> None:
        if buf.index >= self._capture_count:
            raise OSError(errno.EINVAL, "no such buffer")
        buf.m.planes[0].length = _CAPTURE_SIZE
        buf.m.planes[0].m.mem_offset = buf.index * _CAPTURE_SIZE

    def _qbuf(self, buf: Any) -> None:
        if buf.type == v4l2.V4L2_BUF_TYPE_VIDEO_CAPTURE_MPLANE:
            self._free_capture.append(buf.index)
            self._drain()
            return
        plane = buf.m.planes[0]
        with mmap.mmap(plane.m.fd, plane.bytesused, prot=mmap.PROT_READ) as frame:
            yuv = np.frombuffer(frame, dtype=np.uint8).reshape(-1, self._stride).copy()
        stamp = (buf.timestamp.tv_sec, buf.timestamp.tv_usec)
        self._encode(yuv, stamp)
        self._done_output.append(buf.index)

    def _dqbuf(self, buf: Any) -> None:
        if buf.type == v4l2.V4L2_BUF_TYPE_VIDEO_OUTPUT_MPLANE:
            if not self._done_output:
                raise BlockingIOError(errno.EAGAIN, "no OUTPUT buffer done")
            buf.index = self._done_output.pop(0)
            return
        if not self._filled:
            raise BlockingIOError(errno.EAGAIN, "no CAPTURE buffer filled")
        index, used, keyframe, (sec, usec) = self._filled.pop(0)
        buf.index = index
        buf.flags = v4l2.V4L2_BUF_FLAG_KEYFRAME if keyframe else 0
        buf.timestamp.tv_sec, buf.timestamp.tv_usec = sec, usec
        buf.m.planes[0].bytesused = used
        buf.m.planes[0].length = _CAPTURE_SIZE

    def _streamon(self, kind: Any) -> None:
        self._streaming = True

    def _streamoff(self, kind: Any) -> None:
        self._streaming = False
        self._x264 = None

    # -- the encoder -------------------------------------------------------------------------

    def _encode(self, yuv: np.ndarray, stamp: tuple[int, int]) -> None:
        if self._x264 is None:
            cc = av.CodecContext.create("libx264", "w")
            cc.width, cc.height, cc.pix_fmt = self._width, self._height, "yuv420p"
            cc.time_base = Fraction(1, 1_000_000)
            cc.framerate = Fraction(30)
            if self._bitrate:
                cc.bit_rate = self._bitrate
            cc.gop_size = self._iperiod or (1 << 31) - 1
            cc.thread_count = 1
            cc.options = {"preset": "ultrafast", "tune": "zerolatency"}
            if not self._repeat:
                cc.flags |= av.codec.context.Flags.GLOBAL_HEADER
            self._x264 = cc
        frame = av.VideoFrame.from_numpy_buffer(yuv, format="yuv420p", width=self._width)
        frame.pts = stamp[0] * 1_000_000 + stamp[1]
        if self._force_key:
            self._force_key = False
            frame.pict_type = av.video.frame.PictureType.I
        for packet in self._x264.encode(frame):
            self._pending.append((bytes(packet), packet.is_keyframe, stamp))
        self.frames_encoded += 1
        self._drain()

    def _drain(self) -> None:
        """Encoded access units into free CAPTURE buffers, in order."""
        while self._pending and self._free_capture:
            data, keyframe, stamp = self._pending.pop(0)
            index = self._free_capture.pop(0)
            os.pwrite(self._fd, data, index * _CAPTURE_SIZE)
            self._filled.append((index, len(data), keyframe, stamp))

    _HANDLERS: ClassVar[dict[int, Any]] = {
        v4l2.VIDIOC_QUERYCAP: _querycap,
        v4l2.VIDIOC_S_CTRL: _s_ctrl,
        v4l2.VIDIOC_S_EXT_CTRLS: _s_ext_ctrls,
        v4l2.VIDIOC_S_FMT: _s_fmt,
        v4l2.VIDIOC_S_PARM: _s_parm,
        v4l2.VIDIOC_REQBUFS: _reqbufs,
        v4l2.VIDIOC_QUERYBUF: _querybuf,
        v4l2.VIDIOC_QBUF: _qbuf,
        v4l2.VIDIOC_DQBUF: _dqbuf,
        v4l2.VIDIOC_STREAMON: _streamon,
        v4l2.VIDIOC_STREAMOFF: _streamoff,
    }


POLLIN, POLLOUT = 0x001, 0x004


class _Poll:
    """select.poll() for the codec: waits on the codec's condition, not on the memfd."""

    def __init__(self) -> None:
        self._codec: Bcm2835Codec | None = None

    def register(self, fd: Any, events: int = POLLIN | POLLOUT) -> None:
        if not isinstance(fd, Bcm2835Codec):
            raise TypeError("the codec stand-in polls only its own device")
        self._codec = fd

    def poll(self, timeout_ms: float | None = None) -> list[tuple[int, int]]:
        codec = self._codec
        assert codec is not None
        with codec._cond:
            codec._cond.wait_for(codec.ready, None if timeout_ms is None else timeout_ms / 1000)
            events = codec.ready()
        return [(codec.fileno(), events)] if events else []


def install(picamera2: Any) -> tuple[DmaHeap, list[Bcm2835Codec]]:
    """Point picamera2's dma-heap, dma-buf and V4L2 encoder code at the stand-ins above.

    Returns the heap and the list every opened codec is appended to. Only the names those
    modules look up at call time are replaced: ``fcntl`` (and ``open``, ``select`` in the V4L2
    encoder), and the heap's device paths.
    """
    from picamera2 import dma_heap
    from picamera2.allocators import dmaallocator
    from picamera2.encoders import v4l2_encoder

    heap = DmaHeap(dma_heap)
    heap_fcntl = SimpleNamespace(ioctl=heap.ioctl)
    dma_heap.heapNames = [os.devnull]  # the heap device opens; its ioctls are answered above
    dma_heap.fcntl = heap_fcntl
    dmaallocator.fcntl = heap_fcntl

    codecs: list[Bcm2835Codec] = []

    def open_device(path: str, *args: Any, **kwargs: Any) -> Any:
        if path != "/dev/video11":
            return open(path, *args, **kwargs)  # the caller closes it
        codecs.append(Bcm2835Codec())
        return codecs[-1]

    def codec_ioctl(fd: Any, request: int, arg: Any = 0, mutate_flag: bool = True) -> Any:
        if isinstance(fd, Bcm2835Codec):
            return fd.ioctl(request, arg)
        return fcntl.ioctl(fd, request, arg, mutate_flag)

    v4l2_encoder.open = open_device
    v4l2_encoder.fcntl = SimpleNamespace(ioctl=codec_ioctl)
    v4l2_encoder.select = SimpleNamespace(poll=_Poll, POLLIN=POLLIN, POLLOUT=POLLOUT)
    return heap, codecs
