"""Waiting for a gateway: ready after start, and through a restart (IGNITION.md §2a, C1).

A restart POST returns at once and the gateway keeps saying RUNNING for a few seconds, so "poll until
RUNNING" right after it would pass too early. ``wait_for_restart`` first waits (up to ``grace``) to see
the gateway leave RUNNING — STARTING, a 503 from ``/data``, or a refused connection — then waits for
it to be ready again. Ready means ``/StatusPing`` says RUNNING *and* ``/data`` stops answering 503.
Sleeps go through the caller's ``sleep`` (a step's ``ctx.sleep``) so pause and cancel reach them.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

from ignition_toolbox.core import StepTimeoutError

from .client import API, GatewayClient, Stopwatch
from .errors import GatewayError, GatewayNotFoundError

Sleep = Callable[[float], Awaitable[None]]


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
) -> dict[str, Any]:
    """Poll until the gateway is ready; ``StepTimeoutError`` naming the last state otherwise.

    Polls start at 0.25 s and double up to ``interval``, so a fast restart is seen at once while a
    slow one is not hammered.
    """
    watch = stopwatch or Stopwatch()
    call_timeout = max(1.0, min(client.timeout, interval * 5))
    attempts = 0
    seen: list[str] = []
    while True:
        attempts += 1
        state, details = await watch.timed(probe(client, call_timeout))
        if not seen or seen[-1] != state:
            seen.append(state)
        if state == "RUNNING":
            return {"state": "RUNNING", "waited_seconds": round(watch.elapsed, 3),
                    "attempts": attempts, "states_seen": seen,
                    "commissioning": details.get("details") == "COMMISSIONING"}
        if watch.elapsed >= timeout:
            raise StepTimeoutError(
                f"Gateway {client.base_url} was not ready after {timeout:g} s "
                f"(last state: {state})",
                {"last_state": state, "states_seen": seen, "timeout_seconds": timeout},
            )
        pause = min(interval, 0.25 * 2 ** (attempts - 1))
        await sleep(pause)
        watch.elapsed += pause


async def wait_for_restart(
    client: GatewayClient,
    *,
    sleep: Sleep,
    timeout: float = 300.0,
    interval: float = 2.0,
    grace: float = 10.0,
) -> dict[str, Any]:
    """After a restart was requested: see it go down (up to ``grace``), then wait until ready."""
    watch = Stopwatch()
    quick = min(0.25, interval)
    went_down = False
    call_timeout = max(1.0, min(client.timeout, interval * 5))
    while watch.elapsed < grace:
        state, _ = await watch.timed(probe(client, call_timeout))
        if state != "RUNNING":
            went_down = True
            break
        await sleep(quick)
        watch.elapsed += quick
    result = await wait_for_ready(client, sleep=sleep, timeout=timeout, interval=interval,
                                  stopwatch=watch)
    result["went_down"] = went_down
    return result


__all__ = ["probe", "wait_for_ready", "wait_for_restart"]
