"""nbval runs the notebooks of this directory: `python -m pytest` or `python -m pytest notebooks`.

pyproject.toml's addopts give `--nbval --nbval-sanitize-with notebooks/nbval-sanitize.cfg`.
nbval opens the sanitizer file relative to the current directory; when pytest runs
from elsewhere (`cd notebooks && python -m pytest tour.ipynb`), it is found relative
to the project's root instead.

The notebooks need no network and no module proxy: they use the standard library
and the module in hello/, which has no requirements. They pass with the hermetic
environment of tests/conftest.py (when the whole suite runs) and without it.
"""

from __future__ import annotations

from pathlib import Path

import pytest


def pytest_configure(config: pytest.Config) -> None:
    option = getattr(config.option, "nbval_sanitize_with", None)
    if option and not Path(option).exists():
        candidate = config.rootpath / option
        if candidate.exists():
            config.option.nbval_sanitize_with = str(candidate)
