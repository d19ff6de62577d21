"""Waiting for a gateway: ready after start, and through a restart (IGNITION.md §2a, C1).

A restart POST returns at once and the gateway keeps saying RUNNING for a few seconds, so "poll until
RUNNING" right after it would pass too early. ``wait_for_restart`` first waits (up to ``grace``) to see
the gateway leave RUNNING — STARTING, a 503 from ``/data``, or a refused connection — then waits for
it to be ready again. Ready means ``/StatusPing`` says RUNNING *and* ``/data`` stops answering 503.
Sleeps go through the caller's ``sleep`` (a step's ``ctx.sleep``) so pause and cancel reach them.

Polls start 0.25 s apart and then wait a tenth of the time waited so far (``poll_pause``), at most
``interval``: the wait overshoots the moment the gateway is ready by about 10 % at worst. The pause
runs from the start of one poll to the start of the next (``Stopwatch.pause``), so slow answers do
not add up. A doubling backoff (0.25, 0.5, 1, 2 s) could overshoot a 2 s restart by a whole
``interval``, and did so for most of a 50-gateway fleet (bench/fleet.py), while a 2-minute restart
is still polled every ``interval``.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

from ignition_toolbox.core import StepTimeoutError

from .client import API, GatewayClient, Stopwatch
from .errors import GatewayError, GatewayNotFoundError

Sleep = Callable[[float], Awaitable[None]]

FIRST_POLL = 0.25
POLL_FRACTION = 0.1


def poll_pause(elapsed: float, interval: float) -> float:
    """Seconds to wait before the next poll, ``elapsed`` seconds into a wait."""
    return min(interval, max(FIRST_POLL, elapsed * POLL_FRACTION))


async def probe(client: GatewayClient, call_timeout: float) -> tuple[str, dict[str, Any]]:
    """One look: ``("RUNNING"|"STARTING"|"RESTARTING"|"UNREACHABLE"|..., details)``."""
    try:
        ping = await client.status_ping(timeout=call_timeout)
    except StepTimeoutError:
        return "UNREACHABLE", {"error": "timeout"}
    except GatewayError as exc:
        return ("UNREACHABLE" if exc.status is None else f"HTTP_{exc.status}"), exc.details
    state = str(ping.get("state", "UNKNOWN")).upper()
    if state != "RUNNING":
        return state, ping
    try:
        await client.request("GET", API + "/trial", auth="none", timeout=call_timeout)
    except GatewayNotFoundError:
        return "RUNNING", {**ping, "api": False}  # 8.1: no REST API, StatusPing is the signal
    except StepTimeoutError:
        return "RESTARTING", {"error": "timeout"}
    except GatewayError as exc:
        if exc.status == 503 or exc.status is None:
            return "RESTARTING", exc.details
    return "RUNNING", {**ping, "api": True}


async def wait_for_ready(
    client: GatewayClient,
    *,
    sleep: Sleep,
    timeout: float = 300.0,
    interval: float = 2.0,
    stopwatch: Stopwatch | None = None,
    last_state: str | None = None,
) -> dict[str, Any]:
    """Poll until the gateway is ready; ``StepTimeoutError`` naming the last state otherwise.

    ``last_state`` is a not-ready state the caller has just seen: the wait then pauses before its
    first look instead of asking again at once.
    """
    watch = stopwatch or Stopwatch()
    call_timeout = max(1.0, min(client.timeout, interval * 5))
    attempts = 0
    seen: list[str] = [last_state] if last_state else []
    state = last_state
    while True:
        if state is not None:
            if watch.elapsed >= timeout:
                raise StepTimeoutError(
                    f"Gateway {client.base_url} was not ready after {timeout:g} s "
                    f"(last state: {state})",
                    {"last_state": state, "states_seen": seen, "timeout_seconds": timeout},
                )
            await watch.pause(sleep, poll_pause(watch.elapsed, interval))
        attempts += 1
        state, details = await watch.timed(probe(client, call_timeout))
        if not seen or seen[-1] != state:
            seen.append(state)
        if state == "RUNNING":
            return {
                "state": "RUNNING",
                "waited_seconds": round(watch.elapsed, 3),
                "attempts": attempts,
                "states_seen": seen,
                "commissioning": details.get("details") == "COMMISSIONING",
            }


async def wait_for_restart(
    client: GatewayClient,
    *,
    sleep: Sleep,
    timeout: float = 300.0,
    interval: float = 2.0,
    grace: float = 10.0,
) -> dict[str, Any]:
    """After a restart was requested: see it go down (up to ``grace``), then wait until ready.

    The first look comes after a short pause: right after the request the gateway still says
    RUNNING, so asking at once only costs two requests.
    """
    watch = Stopwatch()
    quick = min(FIRST_POLL, interval)
    down: str | None = None
    call_timeout = max(1.0, min(client.timeout, interval * 5))
    while watch.elapsed < grace:
        await watch.pause(sleep, quick)
        state, _ = await watch.timed(probe(client, call_timeout))
        if state != "RUNNING":
            down = state
            break
    result = await wait_for_ready(
        client, sleep=sleep, timeout=timeout, interval=interval, stopwatch=watch, last_state=down
    )
    result["went_down"] = down is not None
    return result


__all__ = ["poll_pause", "probe", "wait_for_ready", "wait_for_restart"]
