"""A real IPython session in its own process, driven by the tests.

Usage: python ipython_session.py CELLS.json
Runs each cell through InteractiveShell.run_cell, printing a marker line after
each, so a test can follow along and interrupt it with a real SIGINT.
"""

import json
import sys

from IPython.core.interactiveshell import InteractiveShell

import gorun_kernel.frontends.magic as magic

ip = InteractiveShell.instance()
ip.run_line_magic("load_ext", "gorun_kernel")
with open(sys.argv[1]) as f:
    cells = json.load(f)
for i, cell in enumerate(cells):
    if cell == "!scratch":
        print("scratch:", magic.magics_of(ip).engine().scratch.path, flush=True)
        continue
    result = ip.run_cell(cell)
    print(f"--- cell {i} done: error={type(result.error_in_exec).__name__}", flush=True)
