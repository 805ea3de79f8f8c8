"""bodycam recorder: the daemon and the evidence tools.

Data flows one way: ``hal`` (devices) to ``recorder`` (buffer, state machine, writer) to disk.
"""

__version__ = "0.1.0"
