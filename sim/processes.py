"""Child processes that never outlive their parent: sweep helpers, and servers started by tests."""

from __future__ import annotations

import ctypes
import os
import signal
import sys
import threading
import time

PR_SET_PDEATHSIG = 1  # Linux prctl option: the signal a process gets when its parent dies


def die_with_parent(parent: int, how: signal.Signals = signal.SIGKILL) -> None:
    """Call in a child process: it gets ``how`` when ``parent`` dies, even by SIGKILL.

    On Linux the kernel sends it (``PR_SET_PDEATHSIG``); elsewhere a thread checks the
    parent every second. A parent that died before this ran is noticed at once.
    """
    if sys.platform.startswith("linux"):
        ctypes.CDLL(None, use_errno=True).prctl(PR_SET_PDEATHSIG, how)
    else:
        threading.Thread(target=_exit_when_orphaned, args=(parent,), daemon=True).start()
    if os.getppid() != parent:
        os._exit(1)


def _exit_when_orphaned(parent: int) -> None:
    while os.getppid() == parent:
        time.sleep(1)
    os._exit(1)
