"""pytest for the whole repository (tests/ and notebooks/).

nbval's notebook cells run in a real kernel: they are e2e (pyproject.toml's marker),
also when only notebooks/ is collected (`python -m pytest -m "not e2e" notebooks`
runs none of them). tests/conftest.py marks the tests under tests/.
"""

from __future__ import annotations

import pytest


@pytest.hookimpl(tryfirst=True)  # before -m deselects
def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    for item in items:
        if type(item).__module__.startswith("nbval"):
            item.add_marker(pytest.mark.e2e)
