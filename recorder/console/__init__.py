"""The technician's serial console (docs/console.md).

Bytes flow one way per module: ``protocol`` (line discipline) to ``session`` (one technician's
session: modes, echo, authentication, audit) to ``commands`` (the command table) to ``device``
(DeviceAccess, the console's only view of the camera, through Control). ``server`` serves
sessions on a pty and a Unix socket inside the daemon; ``bridge`` copies a serial tty to that
socket; ``client`` is the technician's side.
"""

from recorder.console.device import ConsoleDevice, DeviceAccess
from recorder.console.server import ConsoleService

__all__ = ["ConsoleDevice", "ConsoleService", "DeviceAccess"]
