"""SIGINT and SIGTERM as an exception that cannot be lost.

The CLI installs ``interrupt`` as its handler of both. The exception it raises is a
``KeyboardInterrupt``, so every cleanup on the way out runs as for Ctrl-C. A handler can run
inside a destructor (``__del__``), where Python prints the exception and goes on (seen in
``regex``'s ``Group.__del__``), so the signal is also recorded: ``stop_if_interrupted``,
called as every stage begins and ends, at every progress step and before a run replaces the
previous one, raises it again.
"""

from __future__ import annotations

import signal


class Interrupted(KeyboardInterrupt):
    """SIGINT or SIGTERM (``signum``), raised like Ctrl-C so that every cleanup on the way out runs."""

    def __init__(self, signum: int) -> None:
        super().__init__(signal.Signals(signum).name)
        self.signum = signum


_recorded: list[int] = []


def interrupt(signum: int, frame: object) -> None:
    """The CLI's SIGINT and SIGTERM handler: records the signal and raises ``Interrupted``."""
    _recorded.append(signum)
    raise Interrupted(signum)


def stop_if_interrupted() -> None:
    """Raises ``Interrupted`` again if a signal came whose exception was swallowed."""
    if _recorded:
        raise Interrupted(_recorded[0])


def forget() -> None:
    """A new command in this process starts with no signal recorded."""
    _recorded.clear()
