"""Front-ends: the Jupyter kernel, the IPython magics, the command line, and what they
share (cell headers, session commands, rendering outcomes for a notebook)."""
