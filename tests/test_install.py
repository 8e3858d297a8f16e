"""Packaging: the kernelspec ships in the wheel and the installer writes a working one."""

from __future__ import annotations

import json
import os
import site
import struct
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest
from kernel_client import execute, running

from gorun_kernel.frontends.install import LOGOS, RESOURCES, kernel_json

ROOT = Path(__file__).parent.parent
SPEC_IN_WHEEL = "share/jupyter/kernels/gorun/kernel.json"


def assert_logos(spec_dir: Path) -> None:
    """The launcher's icons are in the spec: the PNGs at their sizes, the SVG an SVG."""
    for size in (32, 64):
        png = (spec_dir / f"logo-{size}x{size}.png").read_bytes()
        assert png.startswith(b"\x89PNG\r\n\x1a\n") and png[12:16] == b"IHDR"
        assert struct.unpack(">II", png[16:24]) == (size, size)
    assert (spec_dir / "logo-svg.svg").read_bytes() == (RESOURCES / "logo-svg.svg").read_bytes()
    assert b"<svg" in (spec_dir / "logo-svg.svg").read_bytes()


def test_repository_kernel_json_is_the_installers_spec():
    assert json.loads((ROOT / "kernel.json").read_text()) == kernel_json("python")


@pytest.fixture(scope="module")
def wheel(tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("wheel")
    subprocess.run(
        [sys.executable, "-m", "pip", "wheel", "--no-deps", "--no-build-isolation", "-q",
         "-w", str(out), str(ROOT)],
        check=True,
    )  # fmt: skip
    (built,) = out.glob("gorun_kernel-*.whl")
    return built


def test_the_wheel_carries_the_kernelspec(wheel):
    with zipfile.ZipFile(wheel) as z:
        (name,) = [n for n in z.namelist() if n.endswith(SPEC_IN_WHEEL)]
        assert json.loads(z.read(name)) == kernel_json("python")
        for logo in LOGOS:
            assert z.read(name.replace("kernel.json", logo)) == (RESOURCES / logo).read_bytes()


def test_the_wheel_carries_the_go_display_package(wheel):
    golib = ROOT / "gorun_kernel" / "golib"
    sources = sorted(
        str(p.relative_to(ROOT)) for p in golib.rglob("*") if p.suffix in (".go", ".mod")
    )
    assert "gorun_kernel/golib/go.mod" in sources and "gorun_kernel/golib/display.go" in sources
    with zipfile.ZipFile(wheel) as z:
        names = set(z.namelist())
        assert [s for s in sources if s not in names] == []


def test_the_wheel_carries_the_prebuilt_jupyterlab_extension(wheel):
    """Go highlighting under %%gorun comes with pip install; no node at install time."""
    prebuilt = ROOT / "labextension" / "prebuilt"
    files = sorted(str(p.relative_to(prebuilt)) for p in prebuilt.rglob("*") if p.is_file())
    meta = json.loads((prebuilt / "package.json").read_text())
    assert meta["name"] == "gorun-kernel" and meta["jupyterlab"]["_build"]["load"] in files
    with zipfile.ZipFile(wheel) as z:
        where = "share/jupyter/labextensions/gorun-kernel/"
        shipped = {n.split(where, 1)[1]: n for n in z.namelist() if where in n}
        assert sorted(shipped) == files
        for name in files:
            assert z.read(shipped[name]) == (prebuilt / name).read_bytes()


# Run in the freshly installed package: a cell that imports the display package
# builds offline from the wheel's copy (not this checkout's).
_CELL_FROM_WHEEL = """
import sys
from gorun_kernel.engine import Engine
from gorun_kernel.cmdline import parse
from gorun_kernel.outcome import RunOptions
from gorun_kernel.paths import GOLIB_DIR
from gorun_kernel.events import BaseSink, Display

class Sink(BaseSink):
    def stdout(self, text): sys.stdout.write(text)
    def stderr(self, text): sys.stderr.write(text)
    def event(self, event):
        if isinstance(event, Display):  # a sink shows what it knows (not Progress, say)
            print(event.data["text/markdown"])

engine = Engine()
out = engine.run_cell('display.Markdown("*from the wheel*")', parse([]), Sink(), RunOptions("."))
engine.close()
print(out.status, GOLIB_DIR)
"""


@pytest.mark.e2e
def test_pip_install_into_a_fresh_venv_shows_the_kernel(wheel, tmp_path):
    venv = tmp_path / "fresh"
    subprocess.run([sys.executable, "-m", "venv", str(venv)], check=True)
    py = venv / "bin" / "python"
    subprocess.run(
        [str(py), "-m", "pip", "install", "-q", "--no-deps", "--no-index", str(wheel)],
        check=True,
    )
    # The dependencies (jupyter_client, ipykernel...) come from this test
    # environment, so that no network is needed; the spec is the wheel's own.
    purelib = subprocess.run(
        [str(py), "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])"],
        capture_output=True, text=True, check=True,
    ).stdout.strip()  # fmt: skip
    Path(purelib, "deps.pth").write_text("\n".join(site.getsitepackages()) + "\n")
    env = {k: v for k, v in os.environ.items() if not k.startswith("JUPYTER")}
    # `jupyter kernelspec list`, run by the fresh environment's own Python.
    listing = subprocess.run(
        [str(py), "-m", "jupyter_client.kernelspecapp", "list"],
        capture_output=True, text=True, check=True, env=env,
    ).stdout  # fmt: skip
    (line,) = [ln for ln in listing.splitlines() if ln.split()[:1] == ["gorun"]]
    assert str(venv) in line, listing
    assert_logos(Path(line.split()[1]))
    res = subprocess.run(
        [str(py), "-c", _CELL_FROM_WHEEL], capture_output=True, text=True, env=env, cwd=tmp_path
    )
    assert res.returncode == 0, res.stderr
    assert res.stdout.startswith("*from the wheel*\nexit status 0 ")
    assert Path(res.stdout.split()[-1]).is_relative_to(venv)


@pytest.mark.e2e
def test_install_prefix_writes_a_working_kernelspec(tmp_path, monkeypatch):
    subprocess.run(
        [sys.executable, "-m", "gorun_kernel", "install", "--prefix", str(tmp_path)], check=True
    )
    spec_dir = tmp_path / "share" / "jupyter" / "kernels" / "gorun"
    spec = json.loads((spec_dir / "kernel.json").read_text())
    assert spec["argv"][0] == sys.executable and spec["display_name"] == "Go (gorun)"
    assert_logos(spec_dir)

    from jupyter_client.kernelspec import KernelSpecManager

    monkeypatch.setenv("JUPYTER_PATH", str(tmp_path / "share" / "jupyter"))
    ksm = KernelSpecManager()
    assert Path(ksm.find_kernel_specs()["gorun"]) == spec_dir
    with running(kernel_spec_manager=ksm) as (_, kc):
        assert execute(kc, 'fmt.Println("from the installed spec")').stream() == (
            "from the installed spec\n"
        )


# Run by the freshly installed package: the helper is built from the wheel's
# copy of its source, into the user's cache, and answers.
_HELPER_FROM_WHEEL = """
from gorun_kernel.help import typeinfo
from gorun_kernel.build.toolchain import find_toolchain

tc = find_toolchain()
exe = typeinfo.helper_binary(tc)
helper = typeinfo.Helper(exe, tc)
print(helper.ask({"op": "ping"}, timeout=60)["ok"], typeinfo.SOURCE_DIR, exe)
helper.close()
"""


@pytest.mark.e2e
def test_the_wheel_builds_the_typeinfo_helper_from_its_own_source(wheel, tmp_path):
    source = ROOT / "gorun_kernel" / "gohelpers" / "typeinfo"
    go_files = [p for p in source.iterdir() if p.suffix in (".go", ".mod")]
    files = sorted(str(p.relative_to(ROOT)) for p in go_files)
    assert "gorun_kernel/gohelpers/typeinfo/go.mod" in files
    with zipfile.ZipFile(wheel) as z:
        assert [f for f in files if f not in z.namelist()] == []
    venv = tmp_path / "fresh"
    subprocess.run([sys.executable, "-m", "venv", str(venv)], check=True)
    py = venv / "bin" / "python"
    subprocess.run(
        [str(py), "-m", "pip", "install", "-q", "--no-deps", "--no-index", str(wheel)],
        check=True,
    )
    purelib = subprocess.run(
        [str(py), "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])"],
        capture_output=True, text=True, check=True,
    ).stdout.strip()  # fmt: skip
    Path(purelib, "deps.pth").write_text("\n".join(site.getsitepackages()) + "\n")
    env = {**os.environ, "GORUN_CACHE": str(tmp_path / "cache")}
    res = subprocess.run(
        [str(py), "-c", _HELPER_FROM_WHEEL], capture_output=True, text=True, env=env, cwd=tmp_path
    )
    assert res.returncode == 0, res.stderr
    ok, source_dir, exe = res.stdout.split()
    assert ok == "True"
    assert Path(source_dir).is_relative_to(venv)  # the wheel's source, not this checkout's
    assert Path(exe).is_relative_to(tmp_path / "cache" / "helpers")
