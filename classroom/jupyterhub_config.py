"""JupyterHub's configuration for the local class (read by `jupyterhub -f`).

classroom.hub writes a JSON spec for one run (ports, paths, the admin token, the
students' environment) and points CLASSROOM_SPEC at it; everything here is
JupyterHub's own classes: DummyAuthenticator, SimpleLocalProcessSpawner (or
LocalProcessSpawner, for students who are Unix users; DockerSpawner, for a
container per student), configurable-http-proxy.
"""

# ruff: noqa: F821  (JupyterHub provides get_config)
import json
import os
import pwd
import shutil
import sys
from pathlib import Path

from jupyterhub.spawner import LocalProcessSpawner, SimpleLocalProcessSpawner

spec = json.loads(Path(os.environ["CLASSROOM_SPEC"]).read_text())
state = Path(spec["state_dir"])
sys.path.insert(0, spec["repo_root"])  # for classroom.caches in the hook below
c = get_config()

c.JupyterHub.bind_url = f"http://127.0.0.1:{spec['proxy_port']}"
c.JupyterHub.hub_bind_url = f"http://127.0.0.1:{spec['hub_port']}"
c.ConfigurableHTTPProxy.api_url = f"http://127.0.0.1:{spec['proxy_api_port']}"
c.ConfigurableHTTPProxy.command = [spec["chp"]]
c.ConfigurableHTTPProxy.pid_file = str(state / "proxy.pid")
c.JupyterHub.db_url = f"sqlite:///{state / 'jupyterhub.sqlite'}"
c.JupyterHub.cookie_secret_file = str(state / "cookie_secret")
c.JupyterHub.pid_file = str(state / "jupyterhub.pid")
# On stop, the Hub stops every server and the proxy it started: nothing is left.
c.JupyterHub.cleanup_servers = True
c.JupyterHub.cleanup_proxy = True

c.JupyterHub.authenticator_class = "dummy"
c.Authenticator.allow_all = True
# The teacher's (and the load test's) API token: it makes students and their tokens.
c.JupyterHub.services = [{"name": "classroom-admin", "api_token": spec["admin_token"]}]
c.JupyterHub.load_roles = [
    {
        "name": "classroom-admin",
        "scopes": ["admin:users", "admin:servers", "tokens", "access:servers"],
        "services": ["classroom-admin"],
    }
]


class StopsWithSigterm:
    """A local spawner stopping a server with SIGTERM rather than SIGINT first.

    Without a terminal, jupyter-server dies of SIGINT at once without shutting
    its kernels down; they then exit on their own when they notice, leaving
    their scratch directories behind. On SIGTERM it shuts each kernel down.
    """

    async def stop(self, now: bool = False) -> None:
        await super().stop(now=True)  # now=True: straight to SIGTERM, then SIGKILL


class ClassSpawner(StopsWithSigterm, SimpleLocalProcessSpawner):
    """Every student's server as the teacher's user, in a home under the run's directory."""


class ClassUserSpawner(StopsWithSigterm, LocalProcessSpawner):
    """Every student's server as that student's Unix user, in their own home."""


c.Spawner.term_timeout = 60  # time for the server to shut its kernels down
c.Spawner.start_timeout = 300  # a class starting at once on a small machine
c.Spawner.http_timeout = 300
# Set once for the class. SimpleLocalProcessSpawner does not enforce these: it only
# passes MEM_LIMIT and CPU_LIMIT to the server's environment. DockerSpawner (below)
# and KubeSpawner make them the container's cgroup limits.
c.Spawner.mem_limit = spec["mem_limit"]
c.Spawner.cpu_limit = spec["cpu_limit"]
docker = spec.get("docker")
unix_users = spec.get("unix_users")
if unix_users:
    # The Littlest JupyterHub's way: each student is a Unix user of this machine, and
    # LocalProcessSpawner starts their server as them (setuid after fork; the Hub is
    # root). DummyAuthenticator's names are those users' names; no one else gets in.
    c.JupyterHub.spawner_class = ClassUserSpawner
    c.Authenticator.allow_all = False
    c.Authenticator.allowed_users = set(unix_users)
    c.Spawner.cmd = spec["singleuser_cmd"]  # from an environment every student may run
    # Not the Hub's PATH or PYTHONPATH: root's, leading where students cannot read.
    c.Spawner.env_keep = ["LANG", "LC_ALL"]
    c.Spawner.environment = spec["student_env"]
elif docker is None:
    c.JupyterHub.spawner_class = ClassSpawner
    c.SimpleLocalProcessSpawner.home_dir_template = str(state / "home" / "{username}")
    c.Spawner.cmd = spec["singleuser_cmd"]
    if os.geteuid() == 0:  # jupyter-server refuses root unless told
        c.Spawner.args = ["--ServerApp.allow_root=True"]
    c.Spawner.environment = {
        **spec["student_env"],
        # each student's own caches, seeded from the class's warmed ones below
        "GOCACHE": lambda spawner: str(Path(spawner.home_dir, ".cache", "go-build")),
        "GORUN_CACHE": lambda spawner: str(Path(spawner.home_dir, ".cache", "gorun_kernel")),
    }
else:
    # A container per student from the class's image (classroom/Dockerfile), through
    # podman's Docker-compatible API. Host networking: no bridge or port forwarding to
    # set up; each server listens on its own port of 127.0.0.1, as local servers do.
    from dockerspawner import DockerSpawner
    from jupyterhub.utils import random_port

    class ClassDockerSpawner(DockerSpawner):
        async def start(self):
            self.port = random_port()
            return await super().start()

        async def get_ip_and_port(self):
            return "127.0.0.1", self.port

    c.JupyterHub.spawner_class = ClassDockerSpawner
    c.DockerSpawner.client_kwargs = {"base_url": f"unix://{docker['socket']}"}
    c.DockerSpawner.image = docker["image"]
    c.DockerSpawner.pull_policy = "never"  # built here; no registry to pull from
    c.DockerSpawner.network_name = "host"
    c.DockerSpawner.use_internal_ip = True  # no port bindings: none with host networking
    c.DockerSpawner.ip = "127.0.0.1"
    c.DockerSpawner.remove = True  # a stopped student's container is gone
    c.DockerSpawner.name_template = f"gorun-class-{docker['class_id']}-{{username}}"
    c.DockerSpawner.cmd = ["jupyterhub-singleuser"]
    c.Spawner.environment = spec["student_env"]  # the image's ENV has the caches


def prepare_home(spawner) -> None:
    """Hand out the exercise and the warmed caches before the server starts."""
    home = Path(spawner.home_dir)
    home.mkdir(parents=True, exist_ok=True)
    for name in spec["exercise_files"]:
        target = home / Path(name).name
        if not target.exists():
            shutil.copy2(name, target)
    if spec["warmed_class_dir"]:
        from classroom.caches import seed_build_cache, seed_gorun_cache

        warmed = Path(spec["warmed_class_dir"])
        seed_build_cache(warmed / "go-build", home / ".cache" / "go-build")
        seed_gorun_cache(warmed / "gorun-cache", home / ".cache" / "gorun_kernel")


def give_exercise(spawner) -> None:
    """The exercise into a Unix student's own home, owned by them.

    Root writes in the student's directory: O_EXCL|O_NOFOLLOW, so a name the student
    made (a symlink to elsewhere, say) is left alone, never followed.
    """
    account = pwd.getpwnam(spawner.user.name)
    for name in spec["exercise_files"]:
        target = Path(account.pw_dir, Path(name).name)
        flags = os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW
        try:
            fd = os.open(target, flags, 0o644)
        except FileExistsError:
            continue  # theirs already
        with os.fdopen(fd, "wb") as out:
            os.fchown(fd, account.pw_uid, account.pw_gid)
            out.write(Path(name).read_bytes())


if unix_users:
    c.Spawner.pre_spawn_hook = give_exercise
elif docker is None:
    c.Spawner.pre_spawn_hook = prepare_home
