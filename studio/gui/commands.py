"""`friction-studio gui`: open the studio (the default when no subcommand is given)."""
from __future__ import annotations


def register(subparsers) -> None:
    parser = subparsers.add_parser("gui", help="open the design studio (default)",
                                   description="Open the Friction Studio window.")
    parser.add_argument("--demo", action="store_true",
                        help="load the example target, show candidates and run one short refinement")
    parser.add_argument("--screenshot", metavar="PATH",
                        help="save a picture of the window once it is ready, then exit")
    parser.add_argument("--target", metavar="CSV", help="start from this friction curve (load, friction)")
    parser.set_defaults(run=run)


def run(args) -> int:
    from studio.desktop import check_display
    check_display()  # before Qt: its own failure here is an abort with a misleading hint
    from studio.gui.app import run_gui
    return run_gui(demo=args.demo, screenshot=args.screenshot, target_csv=args.target)
