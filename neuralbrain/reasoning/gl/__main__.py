"""``python -m neuralbrain.reasoning.gl prove THEORY.mpl ...`` (same as ``neuralbrain prove``)."""

from __future__ import annotations

import argparse
import sys

from neuralbrain.errors import Error
from neuralbrain.reasoning.gl.commands import add_commands


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m neuralbrain.reasoning.gl")
    add_commands(parser.add_subparsers(dest="command", required=True))
    args = parser.parse_args(argv)
    try:
        return args.func(args)
    except Error as e:
        print(f"error: {e}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
