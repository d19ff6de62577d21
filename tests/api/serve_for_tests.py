"""``itk serve`` for tests: the same argument parsing and server, but with only the core built-ins
and the test plugin, so the subprocess does not depend on other plugins' state."""

from __future__ import annotations

import argparse
import sys

import api_test_plugin

from ignition_toolbox.api.commands import register, settings_from_args
from ignition_toolbox.api.server import serve
from ignition_toolbox.core import PluginManager


def main() -> int:
    parser = argparse.ArgumentParser()
    register(parser.add_subparsers(dest="command"))
    args = parser.parse_args(sys.argv[1:])
    if args.command != "serve":
        return int(args.func(args))
    plugins = PluginManager(entry_points=False, extra=[("testplugin", api_test_plugin)])
    return serve(settings_from_args(args), plugins)


if __name__ == "__main__":
    sys.exit(main())
