"""Shared fixtures: a simulated gateway on a manual clock, reached in-process over ASGI."""

from __future__ import annotations

from collections.abc import AsyncIterator

import httpx
import pytest

from ignition_toolbox.gateway.sim import SimClock, SimGateway, create_app

TOKEN = "itk:sim-secret"


@pytest.fixture
def clock() -> SimClock:
    return SimClock.manual()


@pytest.fixture
def gw(clock: SimClock) -> SimGateway:
    return SimGateway(clock=clock, restart_seconds=40, restore_seconds=1)


@pytest.fixture
def transport(gw: SimGateway) -> httpx.ASGITransport:
    return httpx.ASGITransport(app=create_app(gw))


@pytest.fixture
async def http(transport: httpx.ASGITransport) -> AsyncIterator[httpx.AsyncClient]:
    async with httpx.AsyncClient(
        transport=transport, base_url="http://sim", headers={"X-Ignition-API-Token": TOKEN}
    ) as client:
        yield client


@pytest.fixture
async def anon(transport: httpx.ASGITransport) -> AsyncIterator[httpx.AsyncClient]:
    async with httpx.AsyncClient(transport=transport, base_url="http://sim") as client:
        yield client
