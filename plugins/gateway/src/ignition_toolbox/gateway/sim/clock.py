"""The simulator's clock, injectable so timing behaviour is testable without waiting.

Restart phases, trial expiry and restore durations are all read from this clock. In tests a manual
clock is advanced by hand; a served simulator runs in real time, optionally scaled.
"""

from __future__ import annotations

import asyncio
import time


class SimClock:
    """Seconds since the epoch, either real (``realtime=True``, times ``scale``) or manual."""

    def __init__(self, start: float | None = None, *, realtime: bool = True, scale: float = 1.0):
        if scale <= 0:
            raise ValueError("scale must be positive")
        self.realtime = realtime
        self.scale = scale
        self._start = time.time() if start is None else float(start)
        self._offset = 0.0
        self._t0 = time.monotonic()

    @classmethod
    def manual(cls, start: float = 1_760_000_000.0) -> SimClock:
        """A clock that moves only when ``advance`` (or ``sleep``) is called."""
        return cls(start, realtime=False)

    def now(self) -> float:
        elapsed = (time.monotonic() - self._t0) * self.scale if self.realtime else 0.0
        return self._start + self._offset + elapsed

    def advance(self, seconds: float) -> None:
        """Jump forward (works for real-time clocks too, e.g. to expire a trial at once)."""
        if seconds < 0:
            raise ValueError("the clock only moves forward")
        self._offset += seconds

    async def sleep(self, seconds: float) -> None:
        """Wait ``seconds`` of simulated time: real waiting for a real-time clock, none for manual."""
        if seconds <= 0:
            return
        if self.realtime:
            await asyncio.sleep(seconds / self.scale)
        else:
            self.advance(seconds)
            await asyncio.sleep(0)


__all__ = ["SimClock"]
