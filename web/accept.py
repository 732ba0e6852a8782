"""When the process runs out of file descriptors, turn new connections away instead of spinning.

asyncio's accept loop (Python 3.11, `BaseSelectorEventLoop._accept_connection`) answers EMFILE by logging
"socket.accept() out of system resource" and scheduling a retry in one second, but it does not leave its loop: it
tries again up to `backlog` times (2,048 under uvicorn), scheduling a retry each time, and every retry does the
same. A server that hit its open-file limit logged that line about a million times in 3.5 minutes (526 MB) and
answered nobody. Here the listening socket is wrapped for each accept pass: on EMFILE/ENFILE one spare descriptor,
held for this moment, is closed, the waiting connection accepted and closed at once (the browser sees a closed
connection and retries), and the spare taken again; the pass then ends. One line is logged per minute with the
count. Only when even the spare cannot be had does asyncio's own retry run, once per pass.
"""
from __future__ import annotations

import errno
import logging
import os
import resource
import threading
import time

log = logging.getLogger("genai_lab")
_OUT_OF_FILES = (errno.EMFILE, errno.ENFILE)
LOG_EVERY_S = 60.0


class Shedder:
    """The spare descriptor and the count of connections turned away."""

    def __init__(self):
        self.shed = 0
        self._logged_at = 0.0
        self._since_log = 0
        self._lock = threading.Lock()
        self._spare = self._take_spare()

    @staticmethod
    def _take_spare() -> int | None:
        try:
            return os.open(os.devnull, os.O_RDONLY)
        except OSError:
            return None

    def shed_one(self, sock) -> bool:
        """Accept the waiting connection on the spare descriptor and close it; False when there is no spare."""
        with self._lock:
            if self._spare is None:
                self._spare = self._take_spare()
                if self._spare is None:
                    return False
            os.close(self._spare)
            self._spare = None
            try:
                conn, _ = sock.accept()
                conn.close()
                self.shed += 1
                self._since_log += 1
            except OSError:
                pass
            finally:
                self._spare = self._take_spare()
            now = time.monotonic()
            if now - self._logged_at >= LOG_EVERY_S:
                log.error("Out of file descriptors: turned away %d connection(s) (open-file limit %s). Raise the "
                          "limit (LimitNOFILE= in a systemd unit) or look for a leak.", self._since_log, _limit())
                self._logged_at, self._since_log = now, 0
            return True


def _limit() -> str:
    try:
        return str(resource.getrlimit(resource.RLIMIT_NOFILE)[0])
    except (ImportError, OSError, ValueError):
        return "unknown"


class _ListeningSocket:
    """The listening socket for one accept pass: out-of-files errors shed a connection and end the pass."""

    def __init__(self, sock, shedder: Shedder):
        self._sock, self._shedder, self._first_failure = sock, shedder, True

    def accept(self):
        try:
            return self._sock.accept()
        except OSError as exc:
            if exc.errno not in _OUT_OF_FILES:
                raise
            if self._shedder.shed_one(self._sock) or not self._first_failure:
                raise BlockingIOError(errno.EAGAIN, "connection shed") from None
            self._first_failure = False
            raise                       # asyncio logs it and retries in a second (once for this pass)

    def __getattr__(self, name):
        return getattr(self._sock, name)


def install(loop) -> Shedder | None:
    """Wrap `loop`'s accept passes; call before the server starts listening (an ASGI lifespan startup)."""
    original = getattr(loop, "_accept_connection", None)
    if original is None or getattr(original, "_genai_lab_shedding", False):
        return None
    shedder = Shedder()

    def accept_connection(protocol_factory, sock, *args, **kwargs):
        if isinstance(sock, _ListeningSocket):        # asyncio's retry passes back the socket it was given
            sock = sock._sock
        return original(protocol_factory, _ListeningSocket(sock, shedder), *args, **kwargs)

    accept_connection._genai_lab_shedding = True
    loop._accept_connection = accept_connection
    return shedder
