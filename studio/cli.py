"""The `friction-studio` command line: thin, over the same engines as the GUI.

Each layer owns its subcommands in a `commands` module exposing
`register(subparsers)`; this file only assembles them.
"""
from __future__ import annotations

import argparse
import importlib
import sys

from studio import __version__
from studio.errors import StudioError

# (module, subcommands it registers) — modules are imported lazily so `--help` stays fast.
_COMMAND_MODULES = (
    "studio.io.commands",       # simulate
    "studio.data.commands",     # data generate
    "studio.models.commands",   # train, evaluate
    "studio.design.commands",   # design, bench
    "studio.dynamics.commands",  # rsf simulate, rsf fit
    "studio.design.validate_command",  # validate
    "studio.models.gru_commands",  # rsf gru-data, train-gru, evaluate-gru, predict (after rsf exists)
    "studio.gui.commands",      # gui
)


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="friction-studio", description=__doc__.splitlines()[0])
    parser.add_argument("--version", action="version", version=f"friction-studio {__version__}")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    for name in _COMMAND_MODULES:
        try:
            module = importlib.import_module(name)
        except ModuleNotFoundError as exc:
            if exc.name == name:
                continue  # layer not built yet
            raise
        module.register(sub)
    return parser


def main(argv=None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    parser = build_parser()
    if not argv or argv[0].startswith("-") and argv[0] not in ("-h", "--help", "--version"):
        argv = ["gui", *argv]  # the GUI is the default
    args = parser.parse_args(argv)
    if not getattr(args, "run", None):
        parser.print_help()
        return 2
    from studio.physics import enable_compilation_cache, enable_float64
    enable_float64()  # the physics' float64 reference: process-wide, so decided here, not on import
    enable_compilation_cache()
    try:
        return int(args.run(args) or 0)
    except StudioError as exc:
        print(f"friction-studio {args.command}: {exc}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("interrupted", file=sys.stderr)
        return 130


if __name__ == "__main__":
    sys.exit(main())
