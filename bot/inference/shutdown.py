"""SIGTERM/SIGINT handling for long-running processes, so `docker stop` and Ctrl-C drain work and exit 0."""

from __future__ import annotations

import asyncio
import logging
import signal
from collections.abc import Callable, Iterable

log = logging.getLogger(__name__)

STOP_SIGNALS = (signal.SIGTERM, signal.SIGINT)


def install_stop_signals(
    stop: asyncio.Event, *, signals: Iterable[signal.Signals] = STOP_SIGNALS
) -> Callable[[], None]:
    """Set `stop` on the first signal instead of dying mid-job; returns a function that uninstalls the handlers.

    The caller awaits `stop.wait()`, then closes its services (the pool drains within its deadline) and
    returns normally, so the process exits 0. A second signal while draining is ignored, not fatal.
    """
    loop = asyncio.get_running_loop()
    installed = list(signals)

    def on_signal(received: signal.Signals) -> None:
        if stop.is_set():
            log.warning("received %s again while shutting down; still draining", received.name)
            return
        log.info("received %s: finishing in-flight work, then exiting", received.name)
        stop.set()

    for signum in installed:
        loop.add_signal_handler(signum, on_signal, signum)

    def uninstall() -> None:
        for signum in installed:
            loop.remove_signal_handler(signum)

    return uninstall
