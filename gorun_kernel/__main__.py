"""`python -m gorun_kernel` starts the kernel; `... install` installs its kernelspec;
`... warm` warms go's build cache; `... --help` says so (cli.py)."""

import sys

from gorun_kernel.frontends.cli import main

main(sys.argv[1:])
