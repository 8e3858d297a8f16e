"""The kernel's start: it answers kernel_info before its engine is made (issue 23 item 3).

The engine (the whole pipeline's modules and a scratch module) is made in a
thread once the kernel has answered kernel_info; a cell or a help request that
comes first waits for it. benchmarks/kernel_start.py measures the start against
a python3 kernel's.
"""

from __future__ import annotations

import subprocess
import sys

import pytest
from kernel_client import complete, execute, reply_to, running

from gorun_kernel.build.toolchain import find_toolchain

pytestmark = pytest.mark.e2e


def kernel_info(kc) -> dict:
    return reply_to(kc, kc.kernel_info())["content"]


def test_kernel_info_names_the_go_version_and_the_debugger():
    go = find_toolchain().go
    version = subprocess.run([go, "env", "GOVERSION"], capture_output=True, text=True).stdout
    with running() as (_, kc):
        info = kernel_info(kc)
        assert info["language_info"]["version"] == version.strip().removeprefix("go")
        assert f"{version.strip()} from " in info["banner"]
        assert "debugger" in info["supported_features"]  # relayed to Delve (gorun_kernel/debug)
        # The first requests after ready wait for the engine, and are answered.
        assert "Println" in complete(kc, "fmt.Print")["matches"]
        assert execute(kc, 'fmt.Println("first")').stream() == "first\n"


def test_a_first_cell_sent_with_kernel_info_waits_for_the_engine():
    with running(ready=False) as (_, kc):
        kc.wait_for_ready(timeout=180)
        r = execute(kc, "x := 6 * 7\nx")  # no pause: the engine may still be being made
        assert r.status == "ok", r.messages
        assert r.value == "42"


def test_a_kernel_without_go_starts_and_says_why_in_every_cell():
    with running(env={"GORUN_GO": "/nonexistent/go"}) as (_, kc):
        why = "GORUN_GO=/nonexistent/go is not an executable go binary"
        assert why in kernel_info(kc)["banner"]
        for _ in range(2):
            r = execute(kc, 'fmt.Println("hi")')
            assert r.status == "error"
            assert why in r.reply["content"]["evalue"]
        assert complete(kc, "fmt.Print")["status"] == "ok"  # help answers, with nothing


# A kernel on the adapter whose after_ready and after_execute say so on IOPub, and
# whose kernel_info banner counts after_ready's calls so far.
READY_KERNEL = """
from ipykernel.kernelapp import IPKernelApp
from gorun_kernel.frontends.ipykernel_adapter import AdaptedKernel

class ReadyKernel(AdaptedKernel):
    implementation = language = "ready"
    implementation_version = "1"
    language_info = {"name": "ready"}
    calls = 0

    @property
    def banner(self):
        return f"after_ready calls: {self.calls}"

    def after_ready(self):
        self.calls += 1
        self.say("after_ready")

    def after_execute(self):
        self.say(f"after_execute {self.execution_count}")

    def say(self, text):
        self.session.send(self.iopub_socket, "stream", {"name": "stdout", "text": text},
                          ident=self._topic("stream"))

    async def do_execute(self, code, silent, store_history=True, user_expressions=None,
                         allow_stdin=False, **kwargs):
        return {"status": "ok", "execution_count": self.execution_count, "payload": [],
                "user_expressions": {}}

IPKernelApp.launch_instance(kernel_class=ReadyKernel)
"""


def test_background_work_starts_once_after_the_ready_answer_is_sent():
    # The kernel's engine and warm-up start in after_ready: not while the first
    # kernel_info reply is made (the reply says no call yet), after its idle status
    # has gone out on IOPub, and once however many kernel_info requests come.
    argv = [sys.executable, "-c", READY_KERNEL, "-f", "{connection_file}"]
    with running(argv=argv, ready=False) as (_, kc):
        # IOPub is connected (ipykernel welcomes a subscriber) before anything is asked:
        # no status of the first request is lost to a subscription still on its way.
        while kc.get_iopub_msg(timeout=60)["msg_type"] != "iopub_welcome":
            pass
        first = kc.kernel_info()
        assert reply_to(kc, first)["content"]["banner"] == "after_ready calls: 0"
        seen = []
        while "after_ready" not in seen:
            msg = kc.get_iopub_msg(timeout=60)
            if msg["msg_type"] == "stream":
                seen.append(msg["content"]["text"])
            elif msg["msg_type"] == "status" and msg["parent_header"].get("msg_id") == first:
                seen.append(msg["content"]["execution_state"])
        assert seen[-2:] == ["idle", "after_ready"], seen
        for _ in range(3):
            assert kernel_info(kc)["banner"] == "after_ready calls: 1"


def test_what_a_cell_leaves_is_done_after_its_idle_status_is_sent():
    # The kernel commits a cell's history rows in after_execute: after each
    # execute_request's idle status has gone out, not while the cell runs.
    argv = [sys.executable, "-c", READY_KERNEL, "-f", "{connection_file}"]
    with running(argv=argv) as (_, kc):
        for n in (1, 2, 3):
            request = kc.execute(f"cell {n}")
            seen = []
            while f"after_execute {n}" not in seen:
                msg = kc.get_iopub_msg(timeout=60)
                if msg["msg_type"] == "stream":
                    seen.append(msg["content"]["text"])
                elif msg["msg_type"] == "status" and msg["parent_header"].get("msg_id") == request:
                    seen.append(msg["content"]["execution_state"])
            assert seen == ["busy", "idle", f"after_execute {n}"], seen
            assert reply_to(kc, request)["content"]["status"] == "ok"
