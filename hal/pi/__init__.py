"""Raspberry Pi backend (picamera2, GPIO through gpiozero's lgpio factory, I2C fuel gauge).

Placeholder: the backend itself (``hal.pi.backend.PiBackend``) is written in a later task. Until
then ``hal.registry.load_backend("pi")`` fails loudly with a BackendError naming the module.
"""
