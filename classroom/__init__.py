"""A class on JupyterHub: a local deployment, its load test, and shared Go caches.

`python -m classroom.hub` starts JupyterHub (DummyAuthenticator,
SimpleLocalProcessSpawner, configurable-http-proxy from npm) on 127.0.0.1 and
stops it cleanly on Ctrl-C; `python -m classroom.loadtest` plays a class of
students against it. classroom/README.md says what was tested here.
"""
