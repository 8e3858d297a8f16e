"""gorun_kernel: Go in Jupyter, the way `go run` works.

`%load_ext gorun_kernel` registers the `%%gorun` and `%gorun` magics (and
`%%gotest`, `%gotest` for tests); the "Go (gorun)" Jupyter kernel is started
with `python -m gorun_kernel`.
"""

from __future__ import annotations

from typing import Any

from gorun_kernel.errors import (
    BuildError,
    CellError,
    ExitError,
    GoPanic,
    GorunError,
    Interrupted,
    OverMemoryLimit,
    RunTimeout,
    SignalError,
    TestFailure,
    ToolchainError,
    UsageError,
)

__version__ = "0.1.0"
__all__ = [
    "BuildError",
    "CellError",
    "ExitError",
    "GoPanic",
    "GorunError",
    "Interrupted",
    "OverMemoryLimit",
    "RunTimeout",
    "SignalError",
    "TestFailure",
    "ToolchainError",
    "UsageError",
    "load_ipython_extension",
]


def load_ipython_extension(ipython: Any) -> None:
    from gorun_kernel.build import warm
    from gorun_kernel.frontends.magic import (
        GorunMagics,  # IPython is imported only by this front-end
    )
    from gorun_kernel.frontends.magic_help import register

    magics = GorunMagics(ipython)  # the session lives on it, made at the first cell
    ipython.register_magics(magics)
    warm.WARMER.start()  # go's build cache warms while the user writes the first cell
    register(ipython, magics)  # Go completion inside %%gorun cells
