"""The -exec wrapper of a debugged run: `python launch.py DLV PORT LOG DIR EXE ARGS...`.

The run stage runs `[*exec prefix, exe, *args]`. This script (standard library
only, run by path) writes the program's path, arguments and directory to
DIR/target, then runs `dlv dap --client-addr=127.0.0.1:PORT`: Delve dials the
kernel's debug session, which is listening there already (no polling for a
port), and launches the program from what DIR/target says (a DAP `launch` of
mode exec). The program gets dlv's stdin, stdout and stderr (Delve's "local"
output), which are the run's: its output streams and its input is asked for
as usual. dlv's own messages go to LOG.

dlv exits 0 whatever the program did; the session writes the program's exit
code (Delve's `exited` event) to DIR/exit, and this script ends the same way:
with that code, or killed by that signal (negative), so the run reports the
program's own exit status and a panic as a panic. dlv runs without Go
telemetry's side process (GO_TELEMETRY_CHILD=2: "a child's child, do
nothing"): it reads its own stdin, a pipe of dlv's, which the kernel would
take for the program waiting for input; the program's environment is the
run's, as the session's launch restores the variable. SIGINT (the kernel's
interrupt, sent to the run's process group) is left to dlv, which ends the
program and itself.
"""

import _signal as signal  # signal's own C module: `signal` imports enum (~5 ms a run)
import os
import sys

TELEMETRY = "GO_TELEMETRY_CHILD"


def main() -> int:
    dlv, port, log, folder, exe, *args = sys.argv[1:]
    # NUL-separated (no json: its import is ~5 ms of every run): the directory, the
    # telemetry variable ("=value", or "" when unset), the program and its arguments.
    telemetry = os.environ.get(TELEMETRY)
    fields = [os.getcwd(), "" if telemetry is None else f"={telemetry}", exe, *args]
    with open(os.path.join(folder, "target"), "wb") as f:
        f.write(b"\0".join(os.fsencode(x) for x in fields))
    # A handler, not SIG_IGN: exec resets it, so dlv gets SIGINT's default handling.
    signal.signal(signal.SIGINT, lambda signum, frame: None)
    argv = [dlv, "dap", f"--client-addr=127.0.0.1:{port}", f"--log-dest={log}"]
    # posix_spawn, not subprocess (~15 ms of imports); a list, no shell.
    pid = os.posix_spawn(dlv, argv, {**os.environ, TELEMETRY: "2"})
    code = os.waitstatus_to_exitcode(os.waitpid(pid, 0)[1])
    try:
        with open(os.path.join(folder, "failed")) as f:
            sys.stderr.write(f.read())
    except OSError:
        pass
    try:
        with open(os.path.join(folder, "exit")) as f:
            code = int(f.read())
    except (OSError, ValueError):
        pass  # dlv ended before the program did (an interrupt, a failed launch): its code
    if code < 0:
        signal.signal(-code, signal.SIG_DFL)
        os.kill(os.getpid(), -code)
        return 128 - code  # a signal that does not end a process: the shell's number
    return code & 0xFF


if __name__ == "__main__":
    sys.exit(main())
