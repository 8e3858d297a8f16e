"""`python -m gorun_kernel [command]`: the kernel (as Jupyter starts it) and our commands.

Jupyter's kernelspec starts the kernel with ipykernel's options only
(`python -m gorun_kernel -f CONNECTION_FILE`), so anything that is not one of
our commands (an option, or nothing) goes to ipykernel. `--help` is ours: it
names our commands and how the kernel is started; ipykernel's own options are
behind `--help-all`.
"""

from __future__ import annotations

import sys

USAGE = """\
usage: python -m gorun_kernel [COMMAND [ARGS]]

The Go (gorun) Jupyter kernel, and its commands.

commands:
  install [--user | --sys-prefix | --prefix P]
                  install the kernelspec ("gorun") for Jupyter
  warm [PACKAGE ...]
                  warm go's build cache with the standard packages cells use most
  help            this text

With no command, the kernel starts, as Jupyter starts it from its kernelspec:
  python -m gorun_kernel -f CONNECTION_FILE
(`python -m gorun_kernel --help-all` lists ipykernel's options for that.)
`python -m gorun_kernel COMMAND --help` tells more about a command.
"""

HELP_WORDS = ("-h", "--help", "help")


def main(argv: list[str]) -> None:
    """Dispatch on the first word; no command (or an option) starts the kernel."""
    command = argv[0] if argv else ""
    if command in HELP_WORDS:
        print(USAGE, end="")
    elif command == "install":
        from gorun_kernel.frontends.install import main as install

        install(argv[1:])
    elif command == "warm":
        from gorun_kernel.build.warm import main as warm

        warm(argv[1:])
    elif command and not command.startswith("-"):
        sys.stderr.write(USAGE)
        sys.exit(f"python -m gorun_kernel: unknown command {command!r}")
    else:
        # (go's build cache warms once the kernel has said it is ready: kernel.py)
        from gorun_kernel.frontends.kernel import main as kernel

        kernel(argv)
