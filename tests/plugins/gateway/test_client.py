"""The gateway client against the simulator, in-process over ASGI and on a real port: auth, errors,
restarts, timeouts, sessions."""

from __future__ import annotations

import contextlib
import ssl
from collections.abc import AsyncIterator, Callable
from contextlib import AbstractAsyncContextManager

import httpx
import pytest

from ignition_toolbox.core import StepTimeoutError
from ignition_toolbox.gateway.client import GatewayClient, gateway_message, parse_gwinfo, tls_verify
from ignition_toolbox.gateway.errors import (
    GatewayAuthError,
    GatewayError,
    GatewayNotFoundError,
    GatewayRestartingError,
    GatewayUnreachableError,
)
from ignition_toolbox.gateway.sim import (
    SimClock,
    SimGateway,
    apply_faults,
    create_app,
    make_modl,
    running,
)

from .conftest import TOKEN

ClientFor = Callable[..., AbstractAsyncContextManager[GatewayClient]]


def asgi_client(gw: SimGateway, **kwargs) -> GatewayClient:
    kwargs.setdefault("api_token", TOKEN)
    return GatewayClient("http://sim", transport=httpx.ASGITransport(app=create_app(gw)), **kwargs)


@contextlib.asynccontextmanager
async def socket_client(gw: SimGateway, **kwargs) -> AsyncIterator[GatewayClient]:
    """The client's own HTTP engine (aiohttp) against the simulator on a real port."""
    kwargs.setdefault("api_token", TOKEN)
    async with running(gw) as server, GatewayClient(server.url, **kwargs) as client:
        yield client


@pytest.fixture(params=["asgi", "socket"])
def client_for(request: pytest.FixtureRequest) -> ClientFor:
    """Every client test runs in-process over ASGI and over a real socket with the real engine."""
    return asgi_client if request.param == "asgi" else socket_client


async def test_info_and_gwinfo(client_for: ClientFor, gw: SimGateway) -> None:
    async with client_for(gw) as client:
        assert (await client.gateway_info())["name"] == "Ignition-sim"
        assert (await client.gwinfo())["Version"] == "8.3.6"
        assert (await client.status_ping()) == {"state": "RUNNING"}


def test_parse_gwinfo() -> None:
    parsed = parse_gwinfo("ContextStatus=RUNNING;Version=8.3.6;OS=Linux;")
    assert parsed == {"ContextStatus": "RUNNING", "Version": "8.3.6", "OS": "Linux"}


async def test_bare_secret_refused_before_sending(client_for: ClientFor, gw: SimGateway) -> None:
    async with client_for(gw, api_token="sim-secret", credential_name="plant") as client:
        with pytest.raises(GatewayAuthError, match="must be 'name:secret'") as err:
            await client.gateway_info()
    assert err.value.code == "validation_error"
    assert "sim-secret" not in err.value.message


async def test_wrong_token_says_what_to_check(client_for: ClientFor, gw: SimGateway) -> None:
    async with client_for(gw, api_token="itk:wrong") as client:
        with pytest.raises(GatewayAuthError) as err:
            await client.gateway_info()
    assert err.value.status == 401 and err.value.code == "unauthorized"
    assert "rejected API token 'itk'" in err.value.message
    assert "wrong" not in err.value.message


async def test_missing_level_is_403_with_advice(client_for: ClientFor, gw: SimGateway) -> None:
    gw.add_token("reader", "r-secret", ["ReadOnly"])
    async with client_for(gw, api_token="reader:r-secret") as client:
        await client.gateway_info()
        with pytest.raises(GatewayAuthError, match="Gateway Write permission") as err:
            await client.restart()
    assert err.value.code == "permission_denied" and err.value.status == 403


async def test_html_error_body_becomes_message(client_for: ClientFor, gw: SimGateway) -> None:
    async with client_for(gw) as client:
        with pytest.raises(GatewayError) as err:
            await client.install_module("com.nothing")
    assert "No uploaded module with id com.nothing" in err.value.message
    assert "<html" not in err.value.message


def test_gateway_message_reads_jetty_and_json() -> None:
    from ignition_toolbox.gateway.sim.html import jetty_error

    html = httpx.Response(
        400, text=jetty_error(400, "/x", "bad &amp; worse"), headers={"content-type": "text/html"}
    )
    assert gateway_message(html) == "bad &amp; worse"
    js = httpx.Response(400, json={"message": "nope"})
    assert gateway_message(js) == "nope"


async def test_503_during_restart_is_restarting(
    client_for: ClientFor, gw: SimGateway, clock: SimClock
) -> None:
    async with client_for(gw) as client:
        await client.restart()
        clock.advance(10)
        with pytest.raises(GatewayRestartingError, match="restarting") as err:
            await client.modules()
        assert (await client.status_ping()) == {"state": "STARTING"}
    assert err.value.details["reason"] == "restarting"


async def test_refused_connection_is_unreachable(client_for: ClientFor, gw: SimGateway) -> None:
    apply_faults(gw, {"drop_seconds": 60})
    async with client_for(gw) as client:
        with pytest.raises(GatewayUnreachableError, match="Cannot reach gateway"):
            await client.status_ping()


async def test_slow_gateway_times_out_as_timeout_error(client_for: ClientFor) -> None:
    gw = SimGateway()
    apply_faults(gw, {"slow_seconds": 2})
    async with client_for(gw, timeout=0.2) as client:
        with pytest.raises(StepTimeoutError) as err:
            await client.status_ping()
    assert err.value.code == "timeout_error"
    assert "did not answer GET /StatusPing within 0.2 s" in err.value.message


async def test_81_gateway_has_no_rest_api(client_for: ClientFor) -> None:
    gw = SimGateway(version="8.1.44", clock=SimClock.manual())
    async with client_for(gw) as client:
        with pytest.raises(GatewayNotFoundError, match=r"8\.1 gateway has no /data/api/v1"):
            await client.gateway_info()


@pytest.mark.parametrize("mode", ["both", "query", "body"])
async def test_uninstall_works_whichever_shape_the_gateway_reads(
    client_for: ClientFor, gw: SimGateway, mode: str
) -> None:
    gw.options.uninstall_accepts = mode
    async with client_for(gw) as client:
        verdict = await client.uninstall_module("com.inductiveautomation.webdev")
    assert verdict["success"] is True


async def test_accept_twice_is_not_an_error(client_for: ClientFor, gw: SimGateway) -> None:
    async with client_for(gw) as client:
        await client.upload_module(make_modl(signed=True, eula=True), "m.modl")
        assert await client.accept_certificate("com.example.sim") is True
        assert await client.accept_certificate("com.example.sim") is False
        assert await client.accept_eula("com.example.sim") is True
        assert await client.accept_eula("com.example.sim") is False


async def test_session_login_and_relogin_after_restart(
    client_for: ClientFor, gw: SimGateway, clock: SimClock
) -> None:
    gw.expire_trial()
    async with client_for(gw, username="admin", password="password") as client:
        assert (await client.reset_trial())["trialSecondsLeft"] == 7200
        gw.restart()
        clock.advance(40)
        gw.expire_trial()
        assert (await client.reset_trial())["trialSecondsLeft"] == 7200
    assert gw.trial_resets == 2


async def test_session_login_wrong_password(client_for: ClientFor, gw: SimGateway) -> None:
    async with client_for(gw, username="admin", password="nope") as client:
        with pytest.raises(GatewayAuthError, match="wrong username or password"):
            await client.login()


async def test_session_needs_username(client_for: ClientFor, gw: SimGateway) -> None:
    async with client_for(gw, credential_name="plant") as client:
        with pytest.raises(GatewayAuthError, match="give credential 'plant' a username"):
            await client.reset_trial()


async def test_csrf_rotation_is_handled_by_relogin(client_for: ClientFor, gw: SimGateway) -> None:
    gw.expire_trial()
    async with client_for(gw, username="admin", password="password") as client:
        await client.login()
        gw.sessions.clear()
        assert (await client.reset_trial())["expired"] is False


@pytest.mark.parametrize("url", ["ftp://gw", "file:///etc/passwd", "gw:8088", ""])
def test_only_http_urls(url: str) -> None:
    with pytest.raises(GatewayError, match="not an http"):
        GatewayClient(url)


def test_tls_verification_is_on_by_default(tmp_path) -> None:
    default = tls_verify()
    assert isinstance(default, ssl.SSLContext) and default.verify_mode == ssl.CERT_REQUIRED
    assert default.check_hostname is True
    assert tls_verify(False) is False
    with pytest.raises(ssl.SSLError):
        tls_verify(ca_cert="-----BEGIN CERTIFICATE-----\nnot a cert\n-----END CERTIFICATE-----")


def test_path_must_be_relative(gw: SimGateway) -> None:
    import asyncio

    async def go() -> None:
        async with asgi_client(gw) as client:
            with pytest.raises(GatewayError, match="must start with a single"):
                await client.request("GET", "//evil.example/x")

    asyncio.run(go())


async def test_polls_start_a_pause_apart_whatever_the_answers_take() -> None:
    import asyncio

    from ignition_toolbox.gateway.client import Stopwatch

    slept: list[float] = []

    async def sleep(seconds: float) -> None:
        slept.append(seconds)

    watch = Stopwatch()
    await watch.timed(asyncio.sleep(0.1))  # a poll that took 0.1 s
    await watch.pause(sleep, 0.25)
    await watch.pause(sleep, 0.25)  # no call in between: the whole pause
    await watch.timed(asyncio.sleep(0.3))  # slower than the pause: still a fifth of it
    await watch.pause(sleep, 0.25)
    assert 0.13 <= slept[0] <= 0.15
    assert slept[1:] == [0.25, 0.05]
    assert watch.elapsed >= 0.1 + sum(slept) + 0.3
