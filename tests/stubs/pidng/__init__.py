"""A stand-in for PiDNG (sdist only: its wheel is built with a C compiler).

picamera2's ``request`` module imports ``pidng.core.PICAM2DNG`` and
``pidng.camdefs.Picamera2Camera`` at module level, for ``CompletedRequest.save_dng()`` alone.
The firmware never saves raw DNG files; using either class here raises NotImplementedError.
"""
