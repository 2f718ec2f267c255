"""``python -m stochnet compile [--all]``: fill Numba's cache before the first fit."""

import argparse
import sys


def main(argv=None):
    parser = argparse.ArgumentParser(prog="python -m stochnet")
    commands = parser.add_subparsers(dest="command", required=True)
    compile_ = commands.add_parser(
        "compile",
        help="compile the CPU kernels into Numba's cache (once per machine and Numba version)",
    )
    compile_.add_argument(
        "--all", action="store_true", help="also float32 attention and float32 sparse input"
    )
    compile_.add_argument("--quiet", action="store_true", help="print nothing")
    args = parser.parse_args(argv)
    from .precompile import precompile

    seconds = precompile(all=args.all, file=None if args.quiet else sys.stderr)
    if not args.quiet:
        print(f"done in {sum(seconds.values()):.1f} s", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
