"""Raspberry Pi backend: picamera2, GPIO through gpiozero's lgpio factory, a MAX17048 fuel gauge.

One small module per device: ``camera`` (picamera2, H.264 with SPS/PPS on every keyframe),
``gpio`` (the lgpio pin factory for :mod:`hal.gpio`), ``battery`` (MAX17048 over smbus2),
``clock`` (the system clock and where its time came from), ``gnss`` (gpsd), ``microphone``
(ALSA through pyalsaaudio, into AAC) and ``backend`` (``PiBackend``, which builds them all).
Nothing here imports picamera2, lgpio, smbus2 or alsaaudio at module level: each is imported
when the device that needs it is opened, and a failed import is a BackendError naming the
backend and the module; the microphone's is a fault of the microphone instead (DeviceError,
naming them too), as a microphone never stops video. picamera2 is imported by
``hal.pi.camera`` alone, alsaaudio by ``hal.pi.microphone`` alone.
"""
