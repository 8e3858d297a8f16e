"""The -exec wrapper of a debugged run: `python launch.py DLV PORT LOG PIDFILE EXE ARGS...`.

The run stage runs `[*exec prefix, exe, *args]`; `dlv exec` wants the program's
arguments after `--`, so this script (standard library only, run by path)
writes its pid (dlv's, after the exec) and becomes
`dlv exec --headless --listen=127.0.0.1:PORT --log-dest=LOG EXE -- ARGS...`.
Delve launches the program with dlv's stdin, stdout, stderr and other open
descriptors (the display channel), so its output streams as usual; dlv's own
messages go to LOG.
"""

import os
import sys


def main() -> None:
    dlv, port, log, pidfile, exe, *args = sys.argv[1:]
    with open(pidfile, "w") as f:
        f.write(str(os.getpid()))
    argv = [dlv, "exec", "--headless", f"--listen=127.0.0.1:{port}", f"--log-dest={log}"]
    argv += ["--api-version=2", exe, "--", *args]
    os.execv(dlv, argv)  # noqa: S606 - an argument list, no shell


if __name__ == "__main__":
    main()
