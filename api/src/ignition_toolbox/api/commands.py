"""The ``itk`` subcommands this distribution adds: ``serve``, ``keys`` and ``credentials``."""

from __future__ import annotations

import argparse
import asyncio
import sys
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

from .settings import Settings, env_var, env_vars, parse_origins, parse_pid


def settings_from_args(args: argparse.Namespace) -> Settings:
    return Settings.from_env(
        host=getattr(args, "host", None),
        port=getattr(args, "port", None),
        data_dir=Path(args.data_dir) if getattr(args, "data_dir", None) else None,
        database_url=getattr(args, "database_url", None),
        playbooks_dir=Path(args.playbooks_dir) if getattr(args, "playbooks_dir", None) else None,
        auth=True if getattr(args, "auth", False) else None,
        max_concurrent=getattr(args, "max_concurrent", None),
        files_dirs=tuple(Path(d) for d in args.files_dir)
        if getattr(args, "files_dir", None)
        else None,
        secret_key_file=Path(args.secret_key_file)
        if getattr(args, "secret_key_file", None)
        else None,
        server_names=tuple(n for names in args.server_name for n in names)
        if getattr(args, "server_name", None)
        else None,
        allow_special_gateway_addresses=True
        if getattr(args, "allow_special_gateway_addresses", False)
        else None,
        audit_retention_days=getattr(args, "audit_retention_days", None),
        allowed_origins=parse_origins(args.allowed_origins)
        if getattr(args, "allowed_origins", None) is not None
        else None,
        parent_pid=getattr(args, "parent_pid", None),
        stdin_watch=True if getattr(args, "stdin_watch", False) else None,
    )


def _server_names(value: str) -> tuple[str, ...]:
    from .server_names import parse_list

    try:
        return parse_list(value)
    except ValueError as exc:
        raise argparse.ArgumentTypeError(str(exc)) from None


def _days(value: str) -> int:
    if not value.isdigit():
        raise argparse.ArgumentTypeError(f"not a whole number of days: {value!r}")
    return int(value)


def _pid(value: str) -> int:
    try:
        return parse_pid(value)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a process id: {value!r}") from None


def _option(parser: argparse.ArgumentParser, name: str, **kwargs: Any) -> None:
    """The option of the settings field ``name``: its flag, help and variable come from the
    field's declaration in settings.py, so ``--help`` cannot drift from what is read."""
    var = env_var(name)
    assert var is not None and var.option is not None, name
    shown = (
        f"{var.help[:-1]}; {var.variable})"
        if var.help.endswith(")")
        else f"{var.help} ({var.variable})"
    )
    parser.add_argument(var.option, help=shown, **kwargs)


def _environment_only() -> str:
    """The ``--help`` epilog: settings read from the environment that have no flag."""
    lines = ["also read from the environment:"]
    lines += [f"  {v.variable}: {v.help}" for v in env_vars().values() if v.option is None]
    lines.append("  ITK_EVENT_LOOP: 'asyncio' keeps the standard event loop instead of uvloop")
    return "\n".join(lines)


def _storage_options(parser: argparse.ArgumentParser) -> None:
    _option(parser, "data_dir")
    _option(parser, "database_url")
    _option(parser, "secret_key_file")


def cmd_serve(args: argparse.Namespace) -> int:
    from .server import serve

    return serve(settings_from_args(args))


def _with_database(args: argparse.Namespace, body: Callable[[Settings], Awaitable[int]]) -> int:
    from .database import DatabaseError, close_database, open_database

    settings = settings_from_args(args)

    async def run() -> int:
        settings.data_dir.mkdir(parents=True, exist_ok=True)
        try:
            context = await open_database(settings.resolved_database_url)
        except DatabaseError as exc:
            print(f"itk: error: {exc}", file=sys.stderr)
            return 1
        try:
            return await body(settings)
        finally:
            await close_database(context)

    return asyncio.run(run())


def cmd_keys_create(args: argparse.Namespace) -> int:
    from ignition_toolbox.core import ToolboxError

    from . import audit, keys

    async def body(_settings: Settings) -> int:
        try:
            new = await keys.create_key(args.role, args.name, expires_in_days=args.expires_in_days)
        except ToolboxError as exc:
            print(f"itk: error: {exc.message}", file=sys.stderr)
            return 2
        await audit.record(
            "key.created", actor="cli", target=new.record.id, details={"role": args.role}
        )
        info = keys.describe(new.record)
        print(f"key_id: {info['key_id']}")
        print(f"role: {info['role']}")
        print(f"expires_at: {info['expires_at']}")
        print("The key is shown once; store it now:")
        print(new.raw, flush=True)
        return 0

    return _with_database(args, body)


def cmd_keys_list(args: argparse.Namespace) -> int:
    from . import keys
    from .models import ApiKeyRecord

    async def body(_settings: Settings) -> int:
        for record in await ApiKeyRecord.all().order_by("created_at"):
            info = keys.describe(record)
            state = "active" if info["active"] else ("revoked" if info["revoked"] else "expired")
            print(
                f"{info['key_id']}  {info['display_prefix']}…  {info['role']:8}  {state:7}  {info['name']}"
            )
        return 0

    return _with_database(args, body)


def cmd_keys_revoke(args: argparse.Namespace) -> int:
    from datetime import UTC, datetime

    from . import audit
    from .models import ApiKeyRecord

    async def body(_settings: Settings) -> int:
        updated = await ApiKeyRecord.filter(id=args.key_id, revoked_at=None).update(
            revoked_at=datetime.now(UTC)
        )
        if not updated:
            print(f"itk: error: no active key {args.key_id}", file=sys.stderr)
            return 1
        await audit.record("key.revoked", actor="cli", target=args.key_id)
        print(f"revoked {args.key_id}")
        return 0

    return _with_database(args, body)


def cmd_credentials_rotate(args: argparse.Namespace) -> int:
    from . import audit
    from .vault import VaultError, open_vault

    async def body(settings: Settings) -> int:
        try:
            vault = await open_vault(
                key_file=settings.resolved_secret_key_file,
                env_value=settings.secret_key,
                data_dir=settings.data_dir,
            )
            version = await vault.rotate()
        except VaultError as exc:
            print(f"itk: error: {exc}", file=sys.stderr)
            return 1
        await audit.record("credentials.key_rotated", actor="cli", details={"version": version})
        print(f"credentials re-encrypted with key version {version}")
        return 0

    return _with_database(args, body)


def cmd_credentials_list(args: argparse.Namespace) -> int:
    from .models import CredentialRecord

    async def body(_settings: Settings) -> int:
        for record in await CredentialRecord.all().order_by("name"):
            print(f"{record.name}  {record.username}  {record.gateway_url or '-'}")
        return 0

    return _with_database(args, body)


def register(subparsers: Any) -> None:
    serve = subparsers.add_parser(
        "serve",
        help="run the REST API and WebSocket server",
        description="Run the REST API and WebSocket server. Every option can also be set by\n"
        "the ITK_* variable named with it; an option given overrides its variable.",
        epilog=_environment_only(),
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    _option(serve, "host")
    _option(serve, "port", type=int)
    _option(serve, "playbooks_dir")
    _option(serve, "auth", action="store_true")
    _option(serve, "max_concurrent", type=int)
    _option(serve, "files_dirs", action="append", metavar="DIR")
    _option(serve, "server_names", action="append", type=_server_names, metavar="NAME[,NAME]")
    _option(serve, "allow_special_gateway_addresses", action="store_true")
    _option(serve, "audit_retention_days", type=_days, metavar="DAYS")
    _option(serve, "allowed_origins", metavar="ORIGIN[,ORIGIN]")
    _option(serve, "parent_pid", type=_pid, metavar="PID")
    _option(serve, "stdin_watch", action="store_true")
    _storage_options(serve)
    serve.set_defaults(func=cmd_serve)

    keys = subparsers.add_parser("keys", help="manage API keys")
    keys_sub = keys.add_subparsers(dest="keys_command", required=True)
    create = keys_sub.add_parser("create", help="create a key; the last output line is the key")
    create.add_argument("--role", required=True, choices=["admin", "user", "executor", "readonly"])
    create.add_argument("--name", required=True)
    create.add_argument("--expires-in-days", type=int, default=None)
    _storage_options(create)
    create.set_defaults(func=cmd_keys_create)
    listing = keys_sub.add_parser("list", help="list keys (never the keys themselves)")
    _storage_options(listing)
    listing.set_defaults(func=cmd_keys_list)
    revoke = keys_sub.add_parser("revoke", help="revoke a key by id")
    revoke.add_argument("key_id")
    _storage_options(revoke)
    revoke.set_defaults(func=cmd_keys_revoke)

    creds = subparsers.add_parser("credentials", help="manage the credential vault")
    creds_sub = creds.add_subparsers(dest="credentials_command", required=True)
    rotate = creds_sub.add_parser("rotate-key", help="re-encrypt every credential with a new key")
    _storage_options(rotate)
    rotate.set_defaults(func=cmd_credentials_rotate)
    clist = creds_sub.add_parser("list", help="list credential names (never secrets)")
    _storage_options(clist)
    clist.set_defaults(func=cmd_credentials_list)


__all__ = ["register"]
