"""``itk gateway-sim``: run the simulated gateway on a real port."""

from __future__ import annotations

import argparse
from typing import Any


def add_parser(subparsers: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    parser = subparsers.add_parser(
        "gateway-sim",
        help="Run a simulated Ignition gateway (spec/IGNITION.md §4) for tests and demos",
        description="Serve a simulated Ignition gateway. Prints 'gateway-sim: listening on URL'.",
    )
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=8088, help="0 picks a free port")
    parser.add_argument(
        "--version",
        dest="sim_version",
        default="8.3.6",
        help="Ignition version to simulate (8.3.x or 8.1.x)",
    )
    parser.add_argument("--name", default="Ignition-sim", help="Gateway name")
    parser.add_argument("--restart-seconds", type=float, default=40.0)
    parser.add_argument(
        "--grace-seconds",
        type=float,
        default=5.0,
        help="Seconds a restarting gateway still reports RUNNING",
    )
    parser.add_argument(
        "--down-seconds",
        type=float,
        default=0.0,
        help="Seconds the port refuses connections during a restart [UNC]",
    )
    parser.add_argument("--restore-seconds", type=float, default=1.0)
    parser.add_argument("--trial-seconds", type=float, default=7200.0)
    parser.add_argument("--admin-user", default="admin")
    parser.add_argument("--admin-password", default="password")
    parser.add_argument(
        "--commissioning",
        action="store_true",
        help="Start in NEEDS_COMMISSIONING (every page redirects to /welcome)",
    )
    parser.add_argument(
        "--api-token",
        action="append",
        default=[],
        metavar="NAME:SECRET",
        help="An API token with the Administrator level (repeatable); default itk:sim-secret",
    )
    parser.add_argument("--allow-unsigned-modules", action="store_true")
    parser.add_argument("--require-https-tokens", action="store_true")
    parser.add_argument(
        "--bearer-auth",
        action="store_true",
        help="Also accept Authorization: Bearer name:secret [UNC]",
    )
    parser.add_argument("--uninstall-accepts", choices=["both", "query", "body"], default="both")
    parser.add_argument(
        "--render-delay-ms",
        type=int,
        default=300,
        help="How long Perspective pages show the loading spinner",
    )
    parser.add_argument(
        "--no-demo",
        dest="demo",
        action="store_false",
        help="Start without the Perspective demo projects (demo, demo_secure)",
    )
    parser.add_argument(
        "--time-scale",
        type=float,
        default=1.0,
        help="Run simulated time this many times faster than real time",
    )
    parser.set_defaults(func=run)


def options_from_args(args: argparse.Namespace) -> dict[str, Any]:
    tokens: dict[str, str] = {}
    for item in args.api_token or ["itk:sim-secret"]:
        name, sep, secret = item.partition(":")
        if not sep or not name or not secret:
            raise SystemExit(f"--api-token must be NAME:SECRET, got {item!r}")
        tokens[name] = secret
    return {
        "version": args.sim_version,
        "name": args.name,
        "port": args.port,
        "restart_seconds": args.restart_seconds,
        "grace_seconds": args.grace_seconds,
        "down_seconds": args.down_seconds,
        "restore_seconds": args.restore_seconds,
        "trial_seconds": args.trial_seconds,
        "admin_user": args.admin_user,
        "admin_password": args.admin_password,
        "commissioned": not args.commissioning,
        "api_tokens": tokens,
        "allow_unsigned_modules": args.allow_unsigned_modules,
        "require_secure_api_keys": args.require_https_tokens,
        "bearer_auth": args.bearer_auth,
        "uninstall_accepts": args.uninstall_accepts,
        "render_delay_ms": args.render_delay_ms,
    }


def run(args: argparse.Namespace) -> int:
    import asyncio
    import contextlib

    from .sim import SimClock, SimGateway, SimOptions, serve_async

    options = SimOptions(**options_from_args(args))
    gateway = SimGateway(options, clock=SimClock(scale=args.time_scale))
    if args.demo:
        from .sim.perspective import load_demo

        load_demo(gateway)
    with contextlib.suppress(KeyboardInterrupt):
        asyncio.run(
            serve_async(
                args.host, args.port, gateway=gateway, announce=lambda line: print(line, flush=True)
            )
        )
    return 0


__all__ = ["add_parser", "options_from_args", "run"]
