"""The long-lived spawner of supervisors (proc/spawner.py): runs after the first are
supervised by a supervisor forked from it, not from the kernel, with the same guarantees.

The "kernel" here is a Python process of its own running run_process (so that it can
be killed outright): the supervisor's parent is read from /proc.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import pytest

pytestmark = [
    pytest.mark.e2e,
    pytest.mark.skipif(not sys.platform.startswith("linux"), reason="reads /proc (Linux)"),
]

REPO = Path(__file__).resolve().parent.parent

# A sink as a front-end's, keeping the program's stdout (both scripts below).
SINK = """
class Sink:
    def __init__(self): self.out = ""
    def stdout(self, t): self.out += t
    def stderr(self, t): pass
    def event(self, e): pass
    def input_wanted(self, p): return None
"""

# Runs programs as a kernel does; prints one JSON line per run.
KERNEL = SINK + textwrap.dedent(
    """
    import json, os, sys, time
    from gorun_kernel.proc.control import Control
    from gorun_kernel.proc.process import ProcessSpec, run_process
    from gorun_kernel.proc import spawner

    def ppid(pid):
        text = open(f"/proc/{pid}/stat").read()
        return int(text.rsplit(")", 1)[1].split()[1])


    # the program: its own pid, its supervisor's, and a daemon in a session of its own
    program = [sys.executable, "-c",
        "import os, subprocess, sys;"
        "d = subprocess.Popen(['sleep', '1000'], start_new_session=True);"
        "print(os.getpid(), os.getppid(), d.pid, flush=True);"
        "sys.stdin.read() if len(sys.argv) > 1 else None", *sys.argv[1:2]]
    deadline = time.monotonic() + 60
    while True:  # until a run goes through the spawner (it starts at the first run)
        sink = Sink()
        control = Control()
        res = run_process(ProcessSpec(program, os.getcwd(), os.environ), control, sink)
        pid, sup, daemon = map(int, sink.out.split())
        print(json.dumps({"status": res.returncode, "pid": pid, "supervisor": sup,
                          "daemon": daemon, "spawner": spawner.SPAWNER.proc.pid
                          if spawner.SPAWNER.proc else None}), flush=True)
        if spawner.SPAWNER.ready or time.monotonic() > deadline:
            break
        time.sleep(0.05)
    if len(sys.argv) > 2:  # one more run, which the test ends by killing us
        program.append("wait")
        print("last", flush=True)
        run_process(ProcessSpec(program, os.getcwd(), os.environ, interactive=True),
                    Control(), Sink())
    """
)


def alive(pid: int) -> bool:
    try:
        text = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return False
    return text.rsplit(")", 1)[1].split()[0] != "Z"


def gone(pids: list[int], timeout: float = 30) -> list[int]:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline and any(alive(p) for p in pids):
        time.sleep(0.02)
    return [p for p in pids if alive(p)]


def kernel(*args: str) -> subprocess.Popen[str]:
    env = {**os.environ, "PYTHONPATH": str(REPO)}
    return subprocess.Popen(
        [sys.executable, "-c", KERNEL, *args], env=env, stdout=subprocess.PIPE, text=True
    )


def test_a_run_after_the_first_is_supervised_from_the_spawner_and_leaves_nothing() -> None:
    proc = kernel()
    out, _ = proc.communicate(timeout=120)
    runs = [json.loads(line) for line in out.splitlines()]
    last = runs[-1]
    assert last["spawner"] is not None, "no spawner started"
    # the run's supervisor was forked from the spawner, not from the kernel
    assert last["supervisor"] != proc.pid
    assert len(runs) >= 2
    assert all(r["status"] == 0 for r in runs)
    # the daemon each program left in a session of its own ended with its run
    assert gone([r["daemon"] for r in runs]) == []
    assert gone([last["spawner"]]) == []  # and the spawner with its kernel


def test_a_kernel_killed_outright_ends_the_spawner_the_supervisor_and_the_program() -> None:
    proc = kernel("wait", "last")
    assert proc.stdout is not None
    runs = []
    for line in proc.stdout:
        if line.strip() == "last":
            break
        runs.append(json.loads(line))
    spawner_pid = runs[-1]["spawner"]
    assert spawner_pid is not None
    # the last run is under way (its program waits for input): find it below the spawner
    deadline = time.monotonic() + 30
    below: list[int] = []
    while time.monotonic() < deadline and len(below) < 3:  # supervisor, program, daemon
        below = _descendants(spawner_pid)
        time.sleep(0.02)
    assert len(below) >= 3, below
    os.kill(proc.pid, signal.SIGKILL)
    proc.wait()
    assert gone([spawner_pid, *below]) == []


def script_result(script: str, timeout: float = 120) -> dict:
    """Run a kernel-like script in a process of its own; the JSON of its last line."""
    env = {**os.environ, "PYTHONPATH": str(REPO)}
    proc = subprocess.run(
        [sys.executable, "-c", script], env=env, capture_output=True, text=True, timeout=timeout
    )
    assert proc.returncode == 0, proc.stderr
    return json.loads(proc.stdout.splitlines()[-1])


def _descendants(pid: int) -> list[int]:
    from gorun_kernel.proc import linux

    return list(linux.descendants(pid))


# -- the standby: the next run's supervisor, forked before the run ------------------

STANDBY = SINK + textwrap.dedent(
    """
    import json, os, sys, time
    from gorun_kernel.proc import cgroup, linux, spawner
    from gorun_kernel.proc.control import Control
    from gorun_kernel.proc.process import ProcessSpec, run_process


    def run():
        sink = Sink()
        program = [sys.executable, "-S", "-c", "import os; print(os.getppid())"]
        res = run_process(ProcessSpec(program, os.getcwd(), os.environ), Control(), sink)
        assert res.returncode == 0, res
        return int(sink.out)

    def cgroup_of(pid):
        text = open(f"/proc/{pid}/cgroup").read()
        return next(line[3:] for line in text.splitlines() if line.startswith("0::"))

    deadline = time.monotonic() + 60
    while not spawner.SPAWNER.ready and time.monotonic() < deadline:
        run()
    last = run()  # through the spawner: its standby took it, and waits again after it
    box = cgroup.sandbox()
    v2 = box is not None and box.lifetime is not None and box.lifetime_version == 2
    spawner_pid = spawner.SPAWNER.proc.pid
    waiting = []
    while not waiting and time.monotonic() < deadline:  # (made as the last run ended)
        waiting = [p for p in linux.children(spawner_pid)
                   if os.getsid(p) == p
                   and (not v2 or os.path.basename(cgroup_of(p)).startswith("run-s"))]
    standby = waiting[0]
    info = {"v2": v2, "spawner": spawner_pid, "standby": standby, "last": last,
            "waiting": waiting, "standby_cgroup": cgroup_of(standby),
            "supervisor": run(), "then": run()}
    print(json.dumps(info), flush=True)
    if len(sys.argv) > 1:  # wait for the test to kill us, a standby waiting
        run()
        print("[]", flush=True)
        time.sleep(3600)
    """
)


def standby_kernel(*args: str) -> subprocess.Popen[str]:
    env = {**os.environ, "PYTHONPATH": str(REPO)}
    return subprocess.Popen(
        [sys.executable, "-c", STANDBY, *args], env=env, stdout=subprocess.PIPE, text=True
    )


def test_the_next_runs_supervisor_waits_in_its_own_cgroup_before_the_run() -> None:
    """After a run, the spawner has a supervisor ready for the next one: already a
    session leader, in a run cgroup of its own (run-sN) where the program will be born;
    the next runs are supervised by exactly that process: the last run's, which waits
    again once all its run started is gone (one, not one a run)."""
    proc = standby_kernel()
    out, _ = proc.communicate(timeout=120)
    assert proc.returncode == 0, out
    info = json.loads(out.splitlines()[0])
    if not info["v2"]:
        pytest.skip("no writable cgroup v2 hierarchy here: standbys come without a cgroup")
    assert info["standby_cgroup"].rsplit("/", 1)[1].startswith("run-s")
    assert info["waiting"] == [info["last"]]
    assert info["supervisor"] == info["standby"] == info["then"]
    assert gone([info["spawner"], info["standby"]]) == []


def test_a_kernel_killed_while_a_standby_waits_leaves_no_process_and_no_cgroup() -> None:
    proc = standby_kernel("wait")
    assert proc.stdout is not None
    info = json.loads(proc.stdout.readline())
    assert proc.stdout.readline().strip() == "[]"
    spawner_pid = info["spawner"]
    below = _descendants(spawner_pid)
    assert below, "no standby waiting below the spawner"
    os.kill(proc.pid, signal.SIGKILL)
    proc.wait()
    assert gone([spawner_pid, *below]) == []
    if info["v2"]:
        session = Path(
            "/sys/fs/cgroup/unified"
            if Path("/sys/fs/cgroup/unified").is_dir()
            else "/sys/fs/cgroup"
        )
        leftover = [
            p
            for p in session.glob(f"**/gorun-{proc.pid}-*/run-s*")  # (the session's own)
        ]
        # the standby's cgroup was removed by the spawner on its way out
        assert all(not p.exists() for p in leftover), leftover


# -- interrupts: a standby killed with its run is not a standby lost at birth --------

INTERRUPTED = SINK + textwrap.dedent(
    """
    import json, os, sys, time
    from gorun_kernel.proc import spawner
    from gorun_kernel.proc.control import Control
    from gorun_kernel.proc.process import ProcessSpec, run_process

    def run(interrupted=False):
        sink, control = Sink(), Control()
        if interrupted:  # before the program's pid is known: its cgroup is killed
            control.interrupt()
        program = [sys.executable, "-S", "-c", "import os; print(os.getppid())"]
        res = run_process(ProcessSpec(program, os.getcwd(), os.environ), control, sink)
        return res, sink.out

    deadline = time.monotonic() + 60
    while not spawner.SPAWNER.ready and time.monotonic() < deadline:
        run()
    first = spawner.SPAWNER.proc.pid
    stopped = [run(interrupted=True)[0] for _ in range(40)]
    res, out = run()
    supervisor = int(out)
    text = open(f"/proc/{supervisor}/stat").read() if res.returncode == 0 else ""
    print(json.dumps({
        "interrupted": [r.interrupted for r in stopped],
        "status": res.returncode,
        "spawner": first,
        "spawner_now": spawner.SPAWNER.proc.pid if spawner.SPAWNER.proc else None,
        "spawner_alive": spawner.SPAWNER.proc is not None and spawner.SPAWNER.proc.poll() is None,
        "failures": spawner.SPAWNER.failures,
        "supervisors_parent": int(text.rsplit(")", 1)[1].split()[1]) if text else None,
    }), flush=True)
    """
)


def test_runs_interrupted_as_they_start_leave_the_spawner_serving_the_next() -> None:
    """A run interrupted as soon as its standby answers ends with its cgroup (and the
    standby in it). Such standbys were counted as lost at birth when the kill came
    before their word to the spawner: after three, the spawner gave up and exited,
    and a standby that had meanwhile taken the next cell's launch was stopped by its
    parent's death: the cell said `signal: killed` though nobody interrupted it."""
    info = script_result(INTERRUPTED)
    assert all(info["interrupted"]), info
    assert info["status"] == 0, info
    assert info["spawner_alive"] and info["spawner_now"] == info["spawner"], info
    assert info["failures"] == 0, info
    assert info["supervisors_parent"] == info["spawner"], info  # a standby's run


# -- a standby that dies at birth: its cgroup goes with it --------------------------

DIES_AT_BIRTH = textwrap.dedent(
    """
    import json, os, selectors, signal, socket, time
    from gorun_kernel.proc import cgroup, spawner

    box = cgroup.sandbox()
    if box is None or box.lifetime is None or box.lifetime_version != 2:
        print(json.dumps({"v2": False}))
        raise SystemExit
    spawner._GROUPS = spawner._Groups(box.lifetime, box.origin.get(box.lifetime))
    signal.signal(signal.SIGCHLD, spawner._on_child)
    spawner._stand_by = lambda *args: 0  # the standby exits at once
    fork_into = spawner._fork_into

    def fork_then_wait(group):
        # the standby is dead (and its SIGCHLD sent) before the spawner goes on
        pid, inside = fork_into(group)
        if pid:
            os.waitid(os.P_PID, pid, os.WEXITED | os.WNOWAIT)
        return pid, inside

    spawner._fork_into = fork_then_wait
    ours, theirs = socket.socketpair(socket.AF_UNIX, socket.SOCK_SEQPACKET)
    one = spawner._fork_standby(theirs, selectors.DefaultSelector())
    made = box.lifetime / f"run-s{os.getpid()}-1"
    deadline = time.monotonic() + 10
    while made.exists() and time.monotonic() < deadline:
        time.sleep(0.01)
    print(json.dumps({"v2": True, "left": made.exists(),
                      "recorded": list(spawner._GROUPS.of)}))
    """
)


def test_a_standby_that_dies_before_its_cgroup_is_recorded_leaves_no_cgroup() -> None:
    """The spawner's SIGCHLD handler reaps standbys and removes their cgroups. It used
    to be able to run between a standby's fork and the record of its cgroup: a standby
    dead by then was reaped unknown, and its cgroup recorded for good, never removed."""
    info = script_result(DIES_AT_BIRTH)
    if not info["v2"]:
        pytest.skip("no writable cgroup v2 hierarchy here: standbys come without a cgroup")
    assert info == {"v2": True, "left": False, "recorded": []}


# -- a late kill of a run whose standby has moved on ---------------------------------

MOVED_ON = SINK + textwrap.dedent(
    """
    import json, os, sys, threading
    from gorun_kernel.proc import spawn, spawner
    from gorun_kernel.proc.control import Control
    from gorun_kernel.proc.process import ProcessSpec, run_process

    class Started(Sink):
        def __init__(self):
            super().__init__()
            self.started = threading.Event()
        def stdout(self, t):
            super().stdout(t)
            self.started.set()

    def run(program, sink):
        res = run_process(ProcessSpec(program, os.getcwd(), os.environ), Control(), sink)
        sink.res = res

    while not spawner.SPAWNER.ready:
        run(["true"], Sink())
    later = ["sh", "-c", "echo $PPID; sleep 0.3; echo done"]
    for attempt in range(50):
        # A: a run (a background program's) whose end its thread has not handled yet:
        # its supervisor's report is read here, raw, to its end.
        fds = [os.open(os.devnull, os.O_RDONLY), os.open(os.devnull, os.O_WRONLY),
               os.open(os.devnull, os.O_WRONLY)]
        a = spawn.SupervisedChild(["true"], os.getcwd(), dict(os.environ), tuple(fds), [],
                                  Control(), None)
        for fd in fds:
            os.close(fd)
        while os.read(a.report, 4096):
            pass
        # B: a cell's run, meanwhile, which A's standby may take
        sink = Started()
        b = threading.Thread(target=run, args=(later, sink))
        b.start()
        sink.started.wait(30)
        took = int(sink.out.split()[0]) == a.supervisor
        if took:
            a.kill()  # A's --timeout, late: it must not stop B
        b.join()
        a.close()
        if took:
            print(json.dumps({"attempt": attempt, "status": sink.res.returncode,
                              "out": sink.out.split()[1:]}), flush=True)
            break
    else:
        print(json.dumps({"attempt": None}))
    """
)


def test_a_late_kill_of_a_run_does_not_stop_the_next_run_its_standby_took() -> None:
    """A background program's run ends; before its thread has read the report, its
    standby takes a cell's launch; then the background run's --timeout (or %kill)
    fires: that kill is for a run that is over, and the cgroup's program is the cell's."""
    info = script_result(MOVED_ON)
    if info["attempt"] is None:
        pytest.skip("no standby took the second launch in 50 tries (no spawner here?)")
    assert info["status"] == 0 and info["out"] == ["done"], info


def test_a_standby_loads_a_re_runs_launch_once_unless_it_brings_its_own_state():
    # An unchanged cell's re-run sends the bytes of the run before: loaded once. A
    # launch with a cgroup or a memory limit of its own is loaded each time.
    import pickle
    from dataclasses import replace

    from gorun_kernel.proc import spawner
    from gorun_kernel.proc.memlimit import MemoryLimit
    from gorun_kernel.proc.supervisor import Launch

    launch = Launch("/bin/true", ["true"], "/", {"A": "1"}, (3, 4, 5), [7])
    sent = pickle.dumps(launch)
    first = spawner._unpickled(sent)
    assert first == launch
    assert spawner._unpickled(sent) is first
    other = spawner._unpickled(pickle.dumps(replace(launch, argv=["true", "x"])))
    assert other.argv == ["true", "x"]
    limited = pickle.dumps(replace(launch, memory=MemoryLimit(1 << 30)))
    assert spawner._unpickled(limited) is not spawner._unpickled(limited)
    assert spawner._unpickled(limited).memory == MemoryLimit(1 << 30)
