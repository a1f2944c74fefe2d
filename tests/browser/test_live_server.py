"""The browser tests' live server itself: a browser that drops a request leaks nothing."""

from __future__ import annotations

import gc
import socket
import struct
import time
from urllib.parse import urlsplit


def test_a_dropped_static_file_request_leaves_no_open_file(live_server):
    """Chromium cancels requests (a favicon during a navigation); each open file must be
    closed, not left to the garbage collector (a ResourceWarning in whichever test ran)."""
    address = urlsplit(live_server)
    for attempt in range(100):
        with socket.create_connection((address.hostname, address.port)) as connection:
            connection.sendall(b"GET /static/favicon.svg HTTP/1.1\r\nHost: x\r\n\r\n")
            time.sleep(0.002 * (attempt % 5))  # sometimes after the answer was written
            # Reset, not a polite close: the server's read of the socket then fails.
            connection.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
    time.sleep(0.5)
    gc.collect()  # a leaked file would warn here, and warnings are errors
