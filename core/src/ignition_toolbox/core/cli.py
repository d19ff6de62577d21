"""The ``itk`` command. Core subcommands live here; plugins add theirs through ``itk_register_commands``."""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import logging
import os
import signal
import sys
from pathlib import Path
from typing import Any

from .credentials import Credential, MappingCredentials
from .errors import ToolboxError
from .plugins import PluginManager
from .progress import ProgressPrinter
from .reports import junit_xml

EXIT_OK, EXIT_FAILED, EXIT_INVALID = 0, 1, 2


def _plugins(args: argparse.Namespace) -> PluginManager:
    manager: PluginManager = args.plugins
    return manager


def _parse_pairs(pairs: list[str]) -> dict[str, str]:
    values: dict[str, str] = {}
    for pair in pairs or []:
        name, sep, value = pair.partition("=")
        if not sep or not name:
            raise ToolboxError(f"-p expects name=value, got {pair!r}")
        values[name] = value
    return values


def _env_credentials(gateway_url: str | None = None) -> MappingCredentials:
    """Credentials for ``itk run``: ``ITK_CREDENTIAL_<NAME>_{USERNAME,PASSWORD,GATEWAY_URL,API_TOKEN}``
    and ``_EXTRA_ORIGINS`` (comma-separated).

    The CLI runs without the server's vault; environment variables keep secrets off the command line
    (and out of shell history and ``ps``). A credential without its own gateway URL is bound to the
    ``--gateway-url`` of the run: on the command line the operator owns both.
    """
    found: dict[str, dict[str, Any]] = {}
    prefix = "ITK_CREDENTIAL_"
    for key, value in os.environ.items():
        if not key.startswith(prefix):
            continue
        if key.endswith("_EXTRA_ORIGINS"):
            name = key[len(prefix) : -len("_EXTRA_ORIGINS")].lower().replace("_", "-")
            origins = tuple(o.strip() for o in value.split(",") if o.strip())
            found.setdefault(name, {})["extra_origins"] = origins
            continue
        for field in ("USERNAME", "PASSWORD", "GATEWAY_URL", "API_TOKEN"):
            if key.endswith("_" + field):
                name = key[len(prefix) : -len(field) - 1].lower().replace("_", "-")
                found.setdefault(name, {})[field.lower()] = value
    creds = MappingCredentials()
    for name, fields in found.items():
        fields.setdefault("gateway_url", gateway_url)
        creds.add(Credential(name=name, **fields))
    return creds


def _library_for(path: Path, plugins: PluginManager) -> Any:
    from .library import PlaybookLibrary
    from .steps import PlaybookRoot

    return PlaybookLibrary.from_plugins(
        plugins, extra=[PlaybookRoot("local", path.parent.resolve())]
    )


def cmd_run(args: argparse.Namespace) -> int:
    from .executor import Execution

    plugins = _plugins(args)
    path = Path(args.playbook)
    try:
        playbook = plugins.load_playbook_file(path)
    except FileNotFoundError:
        print(f"itk: no such playbook: {path}", file=sys.stderr)
        return EXIT_INVALID
    except ToolboxError as exc:
        print(f"itk: invalid playbook: {exc.message}", file=sys.stderr)
        return EXIT_INVALID
    try:
        parameters = _parse_pairs(args.param)
        printer = ProgressPrinter(
            playbook, stream=sys.stderr if args.json else sys.stdout, quiet=args.json
        )
        execution = Execution(
            playbook,
            plugins=plugins,
            parameters=parameters,
            parameters_from_text=True,
            sink=printer,
            gateway_url=args.gateway_url,
            credential_name=args.credential,
            credentials=_env_credentials(args.gateway_url),
            debug=False,
            artifacts_dir=Path(args.artifacts_dir) if args.artifacts_dir else None,
            library=_library_for(path, plugins),
        )
    except ToolboxError as exc:
        print(f"itk: {exc.message}", file=sys.stderr)
        return EXIT_INVALID

    async def main() -> str:
        loop = asyncio.get_running_loop()
        cancel_task: list[asyncio.Task[None]] = []

        def on_interrupt() -> None:
            if not cancel_task and execution.status not in ("completed", "failed", "cancelled"):
                print("\nitk: cancelling (finally steps still run)…", file=sys.stderr)
                cancel_task.append(loop.create_task(execution.cancel()))

        for sig in (signal.SIGINT, signal.SIGTERM):
            with contextlib.suppress(NotImplementedError, RuntimeError):  # Windows
                loop.add_signal_handler(sig, on_interrupt)
        return await execution.run()

    status = asyncio.run(main())
    if args.junit:
        Path(args.junit).write_text(junit_xml(playbook, execution), encoding="utf-8")
    if args.json:
        print(
            json.dumps(
                {
                    "execution_id": execution.execution_id,
                    "playbook_name": playbook.name,
                    "status": status,
                    "error": execution.error,
                    "step_results": [r.describe() for r in execution.step_results],
                    "artifacts_dir": str(execution.context.artifacts_dir)
                    if execution.context
                    else None,
                },
                default=str,
                indent=2,
            )
        )
    return EXIT_OK if status == "completed" else EXIT_FAILED


def cmd_validate(args: argparse.Namespace) -> int:
    plugins = _plugins(args)
    worst = EXIT_OK
    for name in args.paths:
        files = sorted(Path(name).rglob("*.y*ml")) if Path(name).is_dir() else [Path(name)]
        for file in files:
            try:
                plugins.load_playbook_file(file)
                print(f"ok       {file}")
            except FileNotFoundError:
                print(f"missing  {file}")
                worst = EXIT_INVALID
            except ToolboxError as exc:
                worst = EXIT_INVALID
                errors = exc.details.get("errors") or [
                    {"message": exc.message, "line": exc.details.get("line")}
                ]
                for error in errors:
                    where = f"{file}:{error.get('line', '?')}:{error.get('column', '?')}"
                    path = f" {error['path']}:" if "path" in error else ""
                    print(f"invalid  {where}:{path} {error['message']}")
    return worst


def cmd_plugins(args: argparse.Namespace) -> int:
    plugins = _plugins(args)
    infos = [p.describe() for p in plugins.plugins()]
    if args.json:
        print(json.dumps(infos, indent=2))
        return EXIT_OK
    for info in infos:
        dist = f"{info['distribution']} {info['version']}" if info["distribution"] else "(local)"
        print(f"{info['name']:<14} {dist}")
        for name in info["step_types"]:
            print(f"    {name}")
    return EXIT_OK


def cmd_step_types(args: argparse.Namespace) -> int:
    from .docs import step_types_markdown

    plugins = _plugins(args)
    types = sorted(plugins.step_types.values(), key=lambda t: t.name)
    if args.json:
        print(
            json.dumps(
                [{**t.describe(), "plugin": plugins.owner_of(t.name)} for t in types], indent=2
            )
        )
    elif args.markdown:
        print(step_types_markdown(plugins))
    else:
        for t in types:
            print(f"{t.name:<32} {t.summary}")
            required = set(t.parameters.get("required", []))
            for name, schema in t.parameters.get("properties", {}).items():
                kind = schema.get("type", "enum" if "enum" in schema else "any")
                kind = "|".join(kind) if isinstance(kind, list) else kind
                flag = ", required" if name in required else ""
                flag += ", accepts a secret" if schema.get("writeOnly") is True else ""
                print(f"    {name} ({kind}{flag})")
    return EXIT_OK


def cmd_schema(args: argparse.Namespace) -> int:
    from .schema import playbook_schema

    print(json.dumps(playbook_schema(_plugins(args).step_types.values()), indent=2))
    return EXIT_OK


def build_parser(plugins: PluginManager | None = None) -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="itk", description="Ignition Toolbox: run and serve automation playbooks"
    )
    parser.add_argument(
        "--disable-plugin", action="append", metavar="NAME", help="leave a plugin out"
    )
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")

    run = sub.add_parser("run", help="run a playbook with live progress")
    run.add_argument("playbook")
    run.add_argument("-p", "--param", action="append", metavar="NAME=VALUE", default=[])
    run.add_argument("--gateway-url")
    run.add_argument("--credential", help="credential name (from ITK_CREDENTIAL_<NAME>_* env vars)")
    run.add_argument("--artifacts-dir")
    run.add_argument("--json", action="store_true", help="print the result as JSON on stdout")
    run.add_argument("--junit", metavar="FILE", help="write a JUnit XML report")
    run.set_defaults(func=cmd_run)

    validate = sub.add_parser("validate", help="validate playbook files or folders")
    validate.add_argument("paths", nargs="+")
    validate.set_defaults(func=cmd_validate)

    plugins_cmd = sub.add_parser("plugins", help="list installed plugins")
    plugins_cmd.add_argument("--json", action="store_true")
    plugins_cmd.set_defaults(func=cmd_plugins)

    step_types = sub.add_parser("step-types", help="list step types with their schemas")
    step_types.add_argument("--json", action="store_true")
    step_types.add_argument("--markdown", action="store_true", help="the reference docs")
    step_types.set_defaults(func=cmd_step_types)

    schema = sub.add_parser("schema", help="print the playbook JSON Schema (for editors)")
    schema.set_defaults(func=cmd_schema)

    (plugins or PluginManager()).register_commands(sub)
    return parser


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    # Plugins add subcommands, so they load before parsing; --disable-plugin is read by hand.
    disabled = [argv[i + 1] for i, a in enumerate(argv[:-1]) if a == "--disable-plugin"]
    logging.basicConfig(level=logging.WARNING, format="itk: %(message)s")
    # Libraries that log INFO through their own handlers must not be echoed a second time here.
    for handler in logging.getLogger().handlers:
        handler.setLevel(logging.WARNING)
    try:
        plugins = PluginManager(disabled=disabled)
        parser = build_parser(plugins)
    except ToolboxError as exc:
        print(f"itk: {exc.message}", file=sys.stderr)
        return EXIT_INVALID
    args = parser.parse_args(argv)
    args.plugins = plugins
    if not getattr(args, "func", None):
        parser.print_help()
        return EXIT_INVALID
    try:
        return int(args.func(args))
    except ToolboxError as exc:
        print(f"itk: {exc.message}", file=sys.stderr)
        return EXIT_INVALID
    except KeyboardInterrupt:
        return 130
    except BrokenPipeError:  # `itk step-types | head`: the reader left, which is fine
        sys.stderr.close()
        return EXIT_OK


if __name__ == "__main__":
    sys.exit(main())
