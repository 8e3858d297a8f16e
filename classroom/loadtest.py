"""A class of N students against the local JupyterHub, measured.

    python -m classroom.loadtest [--students 10] [--think 2] [--no-shared-cache] [--json F]
                                 [--containers [--image NAME]]

Each student logs in (a token for the dummy user, made with the admin API
token), starts a server, opens the exercise notebook's kernel and runs its
cells (classroom/exercise.py) with think time between them. Printed: cells
run, unexpected failures, cell latency, cells per minute, memory per student,
and, after the Hub has stopped, the processes and scratch directories left.
The exit status is 0 only with no unexpected failure and nothing left.

With --containers each student's server runs in a container of its own (DockerSpawner
through podman's Docker-compatible API), from the class's image (classroom/Dockerfile,
built from this checkout on the local Debian base, or --image), with the class's memory
and CPU limits set on the container; the kernel's own memory limit is off, so the bad
student is stopped by the container's.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import random
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path

from tornado.httpclient import AsyncHTTPClient, HTTPClientError
from tornado.websocket import WebSocketClosedError

from . import exercise, podman, report, settings
from .caches import CacheError
from .hub import ClassOptions, Classroom, ClassroomError, default_class_dir
from .proxy import ProxyUnavailable
from .student import Student, StudentError


@dataclass
class LoadOptions:
    students: int = 10
    think: float = 2.0  # mean seconds between two cells of one student
    ramp: float = 5.0  # students arrive within this many seconds
    bad_student: bool = True  # student 0 also runs the unbounded allocation (if supported)
    seed: int = 1
    class_options: ClassOptions = field(default_factory=ClassOptions)


class MemorySampler:
    """Peak resident memory per student, sampled from /proc while the class runs."""

    def __init__(self, room: Classroom, interval: float = 0.5) -> None:
        self.room, self.interval = room, interval
        self.peaks: dict[str, dict[str, int]] = {}  # user -> kind ("total", ...) -> bytes
        self._task: asyncio.Task[None] | None = None

    async def _loop(self) -> None:
        while True:
            totals = await asyncio.to_thread(self.room.processes.rss_by_user)
            for user, kinds in totals.items():
                peaks = self.peaks.setdefault(user, {})
                for kind, rss in kinds.items():
                    peaks[kind] = max(peaks.get(kind, 0), rss)
            await asyncio.sleep(self.interval)  # a sampling period, not a wait for an event

    def __enter__(self) -> MemorySampler:
        self._task = asyncio.get_running_loop().create_task(self._loop())
        return self

    def __exit__(self, *exc: object) -> None:
        assert self._task is not None
        self._task.cancel()


async def _admin(room: Classroom, method: str, path: str, body: object = None) -> dict:
    from tornado.httpclient import HTTPRequest

    request = HTTPRequest(
        f"{room.url}/hub/api{path}",
        method=method,
        headers={"Authorization": f"token {room.admin_token}"},
        body=json.dumps(body) if body is not None else None,
    )
    response = await AsyncHTTPClient().fetch(request)
    return json.loads(response.body) if response.body else {}


async def log_in(room: Classroom, name: str) -> Student:
    """The dummy user's login: the user exists, and has a token of its own."""
    try:
        await _admin(room, "POST", f"/users/{name}", {})
    except HTTPClientError as e:
        if e.code != 409:  # 409: there already (a Hub's allowed users are made at its start)
            raise
    token = await _admin(room, "POST", f"/users/{name}/tokens", {"note": "load test"})
    return Student(name, room.url, token["token"])


async def play(room: Classroom, index: int, cells: list, opts: LoadOptions) -> Student | str:
    """One student's class; returns the Student, or why it could not even start."""
    rng = random.Random(opts.seed * 1000 + index)  # noqa: S311 (think times, not secrets)
    await asyncio.sleep(rng.uniform(0, opts.ramp))  # students arrive over the ramp
    try:
        student = await log_in(room, f"student{index:02d}")
        await student.start_server()
        await student.open_notebook()
        for cell in cells:
            await asyncio.sleep(rng.uniform(0.5, 1.5) * opts.think)  # the student thinks
            await student.run_cell(cell)
        student.close()
        return student
    except (
        StudentError,
        HTTPClientError,
        WebSocketClosedError,
        OSError,
        asyncio.TimeoutError,
    ) as e:
        return f"student{index:02d}: {type(e).__name__}: {e}"


async def run_class(room: Classroom, opts: LoadOptions, features: set[str]) -> report.Report:
    AsyncHTTPClient.configure(None, max_clients=4 * opts.students + 10)
    limit = settings.MEM_LIMIT if room.options.image else None
    plans = [
        exercise.cells_for(i, features, opts.bad_student, container_limit=limit)
        for i in range(opts.students)
    ]
    started = time.monotonic()
    with MemorySampler(room) as sampler:
        results = await asyncio.gather(
            *(play(room, i, plans[i], opts) for i in range(opts.students))
        )
    wall = time.monotonic() - started
    students = [r for r in results if isinstance(r, Student)]
    return report.Report(
        students=opts.students,
        think=opts.think,
        shared_cache=room.options.shared_cache,
        features=sorted(features),
        bad_student=opts.bad_student,
        runs=[run for s in students for run in s.runs],
        broken=[r for r in results if isinstance(r, str)],
        server_seconds=[s.server_seconds for s in students],
        wall=wall,
        memory=dict(sampler.peaks),
    )


def kernel_help() -> str:
    """The installed kernel's `%help` text, from a real kernel (for the feature checks)."""
    from jupyter_client.manager import start_new_kernel

    km, kc = start_new_kernel(kernel_name="gorun", stderr=subprocess.DEVNULL)
    try:
        text = []
        kc.execute("%help")
        while True:
            msg = kc.get_iopub_msg(timeout=60)
            if msg["msg_type"] == "stream":
                text.append(msg["content"]["text"])
            elif msg["msg_type"] == "display_data":  # the reference, as a notebook shows it
                text.append(msg["content"]["data"].get("text/plain", ""))
            if msg["msg_type"] == "status" and msg["content"]["execution_state"] == "idle":
                return "".join(text)
    finally:
        kc.stop_channels()
        km.shutdown_kernel(now=False)


def run(opts: LoadOptions) -> report.Report:
    features = exercise.features_in_help(kernel_help())
    room = Classroom(opts.class_options)
    try:
        room.start()
        result = asyncio.run(run_class(room, opts, features))
        if result.failures:  # the whole log outlives the run directory, for a post-mortem
            result.hub_log = room.save_log()
    finally:
        left = room.stop()
    result.left_processes = [f"{p.pid} {p.cmdline}" for p in left.processes]
    result.left_scratch = [str(p) for p in left.scratch_dirs]
    result.warmed = room.warmed.how if room.warmed else ""
    result.left_containers = left.containers
    if room.options.image:
        result.warmed = "in the image"
        result.containers = (
            f"a container each from {room.options.image} (DockerSpawner, podman), "
            f"--memory {settings.MEM_LIMIT} --cpus {settings.CPU_LIMIT:g}, kernel limit off"
        )
    return result


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m classroom.loadtest", description=__doc__)
    parser.add_argument("--students", type=int, default=10, help="how many (default 10)")
    parser.add_argument("--think", type=float, default=2.0, help="mean think time, s")
    parser.add_argument("--ramp", type=float, default=5.0, help="arrivals spread over, s")
    parser.add_argument("--no-bad-student", action="store_true", help="no unbounded allocation")
    parser.add_argument("--no-shared-cache", action="store_true", help="cold build caches")
    parser.add_argument("--class-dir", type=Path, default=default_class_dir())
    parser.add_argument("--json", type=Path, help="also write the figures here")
    parser.add_argument(
        "--containers", action="store_true", help="a container per student (podman, DockerSpawner)"
    )
    parser.add_argument(
        "--image", help="with --containers: this image, not one built from this checkout"
    )
    args = parser.parse_args(argv)
    if args.students < 1:
        parser.error("--students must be at least 1")
    class_options = ClassOptions(args.class_dir, shared_cache=not args.no_shared_cache)
    try:
        if args.containers:
            if args.image is None:
                built = podman.build_image()
                print(f"built {built.image} in {built.seconds:.0f} s", file=sys.stderr)
            class_options.image = args.image or podman.IMAGE
            # the container's limit is what stops the bad student
            class_options.kernel_env = {"GORUN_MEMORY_LIMIT": "off"}
        opts = LoadOptions(
            students=args.students,
            think=args.think,
            ramp=args.ramp,
            bad_student=not args.no_bad_student,
            class_options=class_options,
        )
        result = run(opts)
    except (ClassroomError, CacheError, ProxyUnavailable, podman.PodmanError) as e:
        print(f"the class could not start: {e}", file=sys.stderr)
        return 1
    print(result.text())
    if args.json:
        args.json.write_text(json.dumps(result.summary(), indent=2))
    return 0 if result.passed else 1


if __name__ == "__main__":
    sys.exit(main())
