"""The Jupyter debug protocol for the Go kernel, relayed to Delve's debug adapter.

cells.py: cells as files named the way JupyterLab computes them (murmur2 of the
code); delve.py: the pinned Delve, found or built once; dap.py: a DAP client;
launch.py: the -exec wrapper that runs a program under `dlv exec --headless`;
adapter.py: the debug session JupyterLab talks to, across cell runs.
"""
