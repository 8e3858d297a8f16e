"""Shared fixtures: a hermetic Go environment, real IPython, helpers."""

from __future__ import annotations

import os
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).parent))
from goproxy import build_proxy, network_available

# Tiers (pyproject.toml's e2e marker). A test that uses one of these fixtures starts
# a kernel, IPython, a browser or a hub, or runs go: it is e2e whatever its module says.
# Modules whose tests start such things without a fixture say so with a module-level
# `pytestmark = pytest.mark.e2e`; `python -m pytest -m "not e2e"` is the inner loop.
E2E_FIXTURES = frozenset(
    {
        # a gorun kernel, an IPython kernel
        "kernel",
        "kc",
        "fresh_kernel",
        "python_kernel",
        # real IPython in this process (its cells build with go)
        "ip",
        "run",
        # JupyterLab in Chromium
        "lab",
        # an in-process Engine (tests/engine_tier.py): it runs go
        "go_engine",
        # `python -m gorun_kernel warm --machine`: it runs go
        "machine_cache",
    }
)


@pytest.hookimpl(tryfirst=True)  # before -m deselects
def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    # (nbval's notebook cells: the repository's conftest.py.)
    for item in items:
        if E2E_FIXTURES.intersection(getattr(item, "fixturenames", ())):
            item.add_marker(pytest.mark.e2e)


def pytest_terminal_summary(terminalreporter: pytest.TerminalReporter) -> None:
    """The largest definitions in gorun_kernel/ (tests/sizes.py): a report, never a failure."""
    import sizes

    terminalreporter.section("largest definitions in gorun_kernel/")
    for line in sizes.report(5):
        terminalreporter.write_line(line)


@pytest.fixture(scope="session", autouse=True)
def hermetic_go(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, str]]:
    """Modules come from a file:// proxy the tests build; nothing leaves the machine.

    Set in os.environ so that every process the tests start (kernels, IPython)
    inherits it. GOCACHE stays the user's: the standard library compiles once.
    """
    root = tmp_path_factory.mktemp("go")
    values = {
        "GOPROXY": build_proxy(root / "proxy"),
        "GOSUMDB": "off",
        "GOTOOLCHAIN": "local",
        "GOMODCACHE": str(root / "modcache"),
        "GOFLAGS": "-modcacherw -buildvcs=false",  # a removable module cache; no VCS stamping
        "GORUN_CACHE": str(root / "gorun-cache"),
        "GORUN_SCRATCH_DIR": str(root / "scratch"),
        # No background warm-up (GOCACHE is the user's, warm): tests/test_warm.py turns it on.
        "GORUN_WARM": "0",
        # No machine-wide cache (/var/cache/gorun_kernel) but the tests' own
        # (tests/test_machine_cache.py): a kernel seeds from the one it is given.
        "GORUN_MACHINE_CACHE": str(root / "no-machine-cache"),
        # The kernels' input history: the tests', never the user's.
        "GORUN_HISTORY": str(root / "history.sqlite"),
    }
    (root / "scratch").mkdir()
    saved = {k: os.environ.get(k) for k in [*values, "GOWORK", "GOPRIVATE", "GONOPROXY"]}
    os.environ.update(values)
    for k in ("GOWORK", "GOPRIVATE", "GONOPROXY"):
        os.environ.pop(k, None)
    yield values
    for k, v in saved.items():
        if v is None:
            os.environ.pop(k, None)
        else:
            os.environ[k] = v


@pytest.fixture
def online(monkeypatch: pytest.MonkeyPatch) -> None:
    """The real Go module proxy, or skip saying why."""
    if not network_available():
        pytest.skip("no network: proxy.golang.org:443 is not reachable")
    monkeypatch.setenv("GOPROXY", "https://proxy.golang.org")
    monkeypatch.delenv("GOSUMDB")


@pytest.fixture
def ip(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[object]:
    """A real IPython shell with the extension loaded, a fresh session, cwd = tmp_path."""
    from IPython.core.interactiveshell import InteractiveShell

    import gorun_kernel.frontends.magic as magic

    shell = InteractiveShell.instance()
    shell.run_line_magic("load_ext", "gorun_kernel")
    monkeypatch.chdir(tmp_path)
    magics = magic.magics_of(shell)
    magics.close_engine()  # a fresh session
    yield shell
    magics.close_engine()


@pytest.fixture
def run(ip: object, capsys: pytest.CaptureFixture[str]):
    """run(cell) -> (ExecutionResult, stdout, stderr) through the real IPython shell."""

    def _run(cell: str):
        capsys.readouterr()
        result = ip.run_cell(cell)  # type: ignore[attr-defined]
        out, err = capsys.readouterr()
        return result, out, err

    return _run


def _kernel() -> Iterator[tuple]:
    from kernel_client import running

    with running() as (km, kc):
        yield km, kc


@pytest.fixture(scope="module")
def kernel():
    """A gorun kernel process shared by a test module: (KernelManager, client)."""
    yield from _kernel()


@pytest.fixture
def fresh_kernel():
    """A gorun kernel process of the test's own (for interrupts and the like)."""
    yield from _kernel()


@pytest.fixture(scope="module")
def python_kernel():
    """A real IPython kernel with the extension loaded: (KernelManager, client)."""
    from kernel_client import execute, running

    with running(kernel_name="python3") as (km, kc):
        execute(kc, "%load_ext gorun_kernel")
        yield km, kc


@pytest.fixture(scope="module")
def go_engine() -> Iterator[object]:
    """An in-process Engine shared by a test module (tests/engine_tier.py: run, Recorder)."""
    from gorun_kernel.build.toolchain import find_toolchain
    from gorun_kernel.engine import Engine

    engine = Engine(find_toolchain())
    yield engine
    engine.close()


@pytest.fixture
def fresh_engine() -> Iterator[object]:
    """An in-process Engine of one test's own: a session nothing ran in before."""
    from gorun_kernel.build.toolchain import find_toolchain
    from gorun_kernel.engine import Engine

    engine = Engine(find_toolchain())
    yield engine
    engine.close()


@pytest.fixture
def stamps_trusted_at_once(monkeypatch: pytest.MonkeyPatch) -> None:
    """Files written by the test a moment ago are trusted by their stamps at once
    (localmods.racy_ns: otherwise only once older than its window), so that the rerun
    memo answers and a change is seen by its stamp, not by the file's youth."""
    from gorun_kernel.build import localmods

    monkeypatch.setattr(localmods, "RACY_NS", 0)


@pytest.fixture(scope="session")
def machine_cache() -> Iterator[Path]:
    """`python -m gorun_kernel warm --machine`, run once for the session by this user
    (root, in the tests that use it), in a place other users can read. Shared by
    test_machine_cache (users' kernels seed from it) and test_classroom_users (the
    class's own machine cache is pre-linked from it, so its own warm finds every
    entry instead of compiling the standard library a second time)."""
    import shutil
    import subprocess
    import tempfile

    reuse = os.environ.get("GORUN_TEST_FILLED_MACHINE_CACHE")  # (iterating on those tests)
    if reuse:
        yield Path(reuse)
        return
    parent = Path(tempfile.mkdtemp(prefix="gorun-machine-", dir="/var/tmp"))
    parent.chmod(0o755)
    root = parent / "gorun_kernel"
    env = {**os.environ, "GORUN_MACHINE_CACHE": str(root)}
    proc = subprocess.run(
        [sys.executable, "-m", "gorun_kernel", "warm", "--machine"],
        env=env, capture_output=True, text=True, timeout=1800, stdin=subprocess.DEVNULL,
    )  # fmt: skip
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert f"{root} is ready" in proc.stdout
    yield root
    shutil.rmtree(parent, ignore_errors=True)


@pytest.fixture
def kc(kernel):
    return kernel[1]


@pytest.fixture(scope="session")
def lab_processes():
    """One JupyterLab server and one headless Chromium for every browser test module."""
    from browser import lab_processes

    with lab_processes("browser-tests") as processes:
        yield processes


@pytest.fixture(scope="module")
def lab(lab_processes):
    """A real JupyterLab in headless Chromium: a page loaded anew for each test module,
    its kernels shut down when the module ends (tests/browser.py)."""
    from browser import lab_page

    yield from lab_page(*lab_processes)
