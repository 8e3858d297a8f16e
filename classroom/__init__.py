"""A class on JupyterHub: a local deployment, its load test, and shared Go caches.

`python -m classroom.hub` starts JupyterHub (DummyAuthenticator,
SimpleLocalProcessSpawner, configurable-http-proxy from npm) on 127.0.0.1 and
stops it cleanly on Ctrl-C; `python -m classroom.loadtest` plays a class of
students against it. README's "Running a class" says what was tested here.
"""
