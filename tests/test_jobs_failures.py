"""A background job whose start fails inside gorun_kernel (not the program) says so in
the cell that started it, as an error in the user's terms; the cell does not hang and
no traceback is printed (run/jobs.py). Pure: the launch is a function, no process."""

from __future__ import annotations

from gorun_kernel.outcome import Outcome
from gorun_kernel.proc.control import Control
from gorun_kernel.run.jobs import Jobs


class Sink:
    def __init__(self) -> None:
        self.err = ""

    def stdout(self, text: str) -> None:
        pass

    def stderr(self, text: str) -> None:
        self.err += text

    def event(self, event: object) -> None:
        pass

    def input_wanted(self, prompt: str) -> str | None:
        return None


def test_a_failure_of_ours_in_a_jobs_start_is_its_cells_error_not_a_hang(tmp_path):
    def launch(sink: object, control: Control) -> Outcome:
        raise TypeError("started() got an unexpected keyword argument")

    jobs = Jobs(tmp_path, Control())
    sink = Sink()
    outcome = jobs.start("cell [1]", launch, sink)  # returns: it does not wait forever
    assert outcome.error is not None
    assert "gorun_kernel failed (TypeError: started() got" in str(outcome.error)
    assert "please report this" in str(outcome.error)
    assert "Traceback" not in sink.err
