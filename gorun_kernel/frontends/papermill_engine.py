"""The `gorun` papermill engine: papermill's own nbclient engine, plus the Go translator.

papermill loads its third-party engines (entry point group `papermill.engine`)
every time it starts, and has no entry point group for parameter translators
(papermill/translators.py registers its own languages in code). So this engine
is how `papermill -p n 5 in.ipynb out.ipynb` finds the Go translator: loading
it registers the translator. It runs notebooks exactly as papermill's default
engine does (`--engine gorun` changes nothing).
"""

from __future__ import annotations

from papermill.engines import NBClientEngine

from gorun_kernel.frontends import papermill_go  # noqa: F401  (registers the translator)


class GorunEngine(NBClientEngine):
    """papermill's nbclient engine, unchanged."""
