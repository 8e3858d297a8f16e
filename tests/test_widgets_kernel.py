"""Widgets through a real Go kernel, jupyter_client acting as the widget frontend.

The frontend's side of the widget protocol is done by hand here, as JupyterLab's
manager does it: comm_info_request, the program's models arriving as comm_open
(target "jupyter.widget", ipywidgets' model names), the widget view as
display_data, an `update` or a click as comm_msg to the kernel.
"""

from __future__ import annotations

import os
import threading
import time
from typing import Any

import pytest

from tests.kernel_client import execute, reply_to, running

pytestmark = pytest.mark.e2e

VIEW = "application/vnd.jupyter.widget-view+json"

WAITING = """
s := widgets.NewIntSlider("zoom", 0, 10, 3)
b := widgets.NewButton("count")
clicks := 0
s.OnChange(func(v int) { fmt.Println("value", v, s.Value()) })
b.OnClick(func() { clicks++; fmt.Println("click", clicks) })
widgets.Show(widgets.NewVBox(s, b))
fmt.Println("ready", os.Getpid())
widgets.Wait()
fmt.Println("done waiting")
"""


def comm_info(kc: Any) -> dict[str, Any]:
    msg = kc.session.msg("comm_info_request", {})
    kc.shell_channel.send(msg)
    return reply_to(kc, msg["header"]["msg_id"])["content"]


def send_comm(kc: Any, comm_id: str, data: dict[str, Any]) -> None:
    kc.shell_channel.send(kc.session.msg("comm_msg", {"comm_id": comm_id, "data": data}))


def opened(messages: list[tuple[str, dict[str, Any]]]) -> dict[str, dict[str, Any]]:
    """model name -> comm_open content, of the comms a cell opened."""
    return {
        c["data"]["state"]["_model_name"]: c
        for t, c in messages
        if t == "comm_open" and c["target_name"] == "jupyter.widget"
    }


def test_comm_info_on_a_fresh_kernel_lists_no_comms() -> None:
    with running() as (_, kc):
        reply = comm_info(kc)
    assert reply["status"] == "ok"
    assert reply["comms"] == {}


def test_a_running_program_gets_the_frontends_changes_and_clicks() -> None:
    with running() as (km, kc):
        seen: list[tuple[str, dict[str, Any]]] = []
        sent: list[str] = []

        def on_message(kind: str, content: dict[str, Any]) -> None:
            seen.append((kind, content))
            text = content.get("text", "") if kind == "stream" else ""
            if text.startswith("ready") and not sent:
                models = opened(seen)
                sent.append("update")
                slider = models["IntSliderModel"]["comm_id"]
                button = models["ButtonModel"]["comm_id"]
                send_comm(kc, slider, {"method": "update", "state": {"value": 7}})
                send_comm(kc, button, {"method": "custom", "content": {"event": "click"}})
                send_comm(kc, button, {"method": "custom", "content": {"event": "click"}})
            if "click 2" in text:
                threading.Thread(target=km.interrupt_kernel).start()

        result = execute(kc, WAITING, on_message=on_message)
        out = result.stream()
        assert "value 7 7\nclick 1\nclick 2\n" in out
        assert "done waiting" in out
        models = opened(result.messages)
        slider = models["IntSliderModel"]
        assert slider["data"]["state"]["_model_module"] == "@jupyter-widgets/controls"
        assert slider["data"]["state"]["_model_module_version"] == "2.0.0"
        assert slider["data"]["state"]["value"] == 3
        assert {"ButtonModel", "VBoxModel", "LayoutModel", "SliderStyleModel"} <= set(models)
        views = [c["data"][VIEW] for c in result.of_type("display_data") if VIEW in c["data"]]
        assert [v["model_id"] for v in views] == [models["VBoxModel"]["comm_id"]]
        vbox = models["VBoxModel"]["data"]["state"]
        assert vbox["children"] == [
            "IPY_MODEL_" + slider["comm_id"],
            "IPY_MODEL_" + models["ButtonModel"]["comm_id"],
        ]
        # The kernel holds the models after the program ended, with the frontend's change.
        comms = comm_info(kc)["comms"]
        assert comms[slider["comm_id"]] == {"target_name": "jupyter.widget"}
        send_comm(kc, slider["comm_id"], {"method": "request_state"})
        state = _next_comm_msg(kc, slider["comm_id"])["data"]
        assert state["method"] == "update"
        assert state["state"]["value"] == 7


def _next_comm_msg(kc: Any, comm_id: str) -> dict[str, Any]:
    while True:
        msg = kc.get_iopub_msg(timeout=30)
        content = msg["content"]
        data = content.get("data", {})
        if content.get("comm_id") == comm_id and data.get("method") == "update":
            return content


def test_restart_with_live_widgets_leaves_no_program_and_no_comms() -> None:
    with running() as (km, kc):
        kc.execute(WAITING)
        pid = None
        while pid is None:
            msg = kc.get_iopub_msg(timeout=120)
            text = msg["content"].get("text", "") if msg["msg_type"] == "stream" else ""
            if text.startswith("ready"):
                pid = int(text.split()[1])
        os.kill(pid, 0)  # the program waits for events
        assert comm_info(kc)["comms"]  # its models, listed while the cell runs
        km.restart_kernel()
        kc.wait_for_ready(timeout=120)
        assert comm_info(kc)["comms"] == {}
        with pytest.raises(ProcessLookupError):
            os.kill(pid, 0)


INTERACT = """
a := widgets.NewIntSlider("a", 0, 100, 2)
b := widgets.NewIntSlider("b", 0, 100, 3)
fmt.Println("before Interact")
widgets.Interact(func(x, y int) { fmt.Println("sum", x+y) }, a, b)
"""


def _outputs_update(kc: Any, comm_id: str, timeout: float = 60) -> list[dict[str, Any]]:
    """The next `outputs` the kernel sends to an Output widget."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        msg = kc.get_iopub_msg(timeout=timeout)
        content = msg["content"]
        data = content.get("data", {})
        if content.get("comm_id") == comm_id and "outputs" in data.get("state", {}):
            return data["state"]["outputs"]
    raise TimeoutError("no outputs")


def test_interact_reruns_f_from_the_executable_on_each_change() -> None:
    with running() as (_, kc):
        result = execute(kc, INTERACT)
        assert result.status == "ok"
        models = [c for t, c in result.messages if t == "comm_open"]
        sliders = [
            c["comm_id"] for c in models if c["data"]["state"]["_model_name"] == "IntSliderModel"
        ]
        output = next(
            c["comm_id"] for c in models if c["data"]["state"]["_model_name"] == "OutputModel"
        )
        # The first output, from the starting values, comes before the cell's end.
        first = next(
            c["data"]["state"]["outputs"]
            for t, c in result.messages
            if t == "comm_msg" and c["comm_id"] == output and "outputs" in c["data"]["state"]
        )
        assert first == [{"output_type": "stream", "name": "stdout", "text": "sum 5\n"}]
        assert "before Interact" in result.stream()  # the cell's run printed it, not f's
        # Each change: the output area shows f's output for the new values, only it.
        latencies = []
        for n in range(1, 21):
            t0 = time.monotonic()
            send_comm(kc, sliders[0], {"method": "update", "state": {"value": n}})
            outputs = _outputs_update(kc, output)
            latencies.append(time.monotonic() - t0)
            assert outputs == [
                {"output_type": "stream", "name": "stdout", "text": f"sum {n + 3}\n"}
            ]
        latencies.sort()
        median = latencies[len(latencies) // 2]
        worst = latencies[-1]
        print(f"Interact change -> output: median {median * 1e3:.1f} ms, max {worst * 1e3:.1f} ms")
        assert median < 0.5  # a bound on a hang on a loaded machine; the figure is printed
