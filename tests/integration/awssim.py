# SPDX-License-Identifier: Apache-2.0
"""The IMDS and ECS agent simulators (build/tools/imdssim, ecssim) as fixtures.

Both listen on 127.0.0.1 on an ephemeral port, are started through the
`procs` fixture (so they are stopped at teardown) and log one
"METHOD TARGET STATUS" line per request on stdout, which `requests()` parses.

    def test_x(imds_sim, ecs_sim, sensor_factory):
        imds = imds_sim("--max-token-ttl", 2)
        ecs = ecs_sim(cluster="prod", tasks=[task(...)])
        s = sensor_factory(env=imds.env(), extra_args=("--ecs-agent-url", ecs.url))
"""
import json
import os
import re

import pytest

from conftest import wait_for

REQUEST_LINE = re.compile(r"^(GET|PUT|POST|HEAD|DELETE|PATCH|OPTIONS) (\S+) (\d{3}|drop)$")

TOKEN_PATH = "/latest/api/token"
DOCUMENT_PATH = "/latest/dynamic/instance-identity/document"


class Sim:
    """One running simulator: its port, base URL and request log."""

    def __init__(self, procs, tmp, tool, args):
        self.procs = procs
        self.tool = tool
        n = len(procs.children)
        self.port_file = os.path.join(tmp, f"{tool}.{n}.port")
        self.proc = procs.start(tool, "--port-file", self.port_file, "--duration", 300, *args)
        wait_for(self._listening, 10, interval=0.05, what=f"{tool} to listen")
        with open(self.port_file) as f:
            self.port = int(f.read().strip())
        self.url = f"http://127.0.0.1:{self.port}"

    def _listening(self):
        if self.proc.poll() is not None:
            raise AssertionError(f"{self.tool} exited with {self.proc.returncode}:\n"
                                 + self.output())
        return os.path.exists(self.port_file)

    def output(self):
        """Everything the simulator printed (stdout and stderr)."""
        return self.procs.output(self.proc)

    def requests(self, method=None, path=None, status=None):
        """Logged requests as (method, target, status) tuples, optionally filtered
        by method, by path (the target without its query string) and by status
        (an int, or "drop")."""
        out = []
        for line in self.output().splitlines():
            m = REQUEST_LINE.match(line.strip())
            if not m:
                continue
            meth, target, st = m.groups()
            st = int(st) if st.isdigit() else st
            if method and meth != method:
                continue
            if path and target.split("?", 1)[0] != path:
                continue
            if status is not None and st != status:
                continue
            out.append((meth, target, st))
        return out


class ImdsSim(Sim):
    def env(self):
        """The environment that points a sensor at this simulator."""
        return {"AWS_EC2_METADATA_SERVICE_ENDPOINT": self.url}

    def token_puts(self, status=None):
        return self.requests("PUT", TOKEN_PATH, status)

    def gets(self, status=None):
        return self.requests("GET", status=status)


class EcsSim(Sim):
    def __init__(self, procs, tmp, args, tasks_file):
        self.tasks_file = tasks_file
        super().__init__(procs, tmp, "ecssim", args)

    def set_tasks(self, tasks):
        """Replaces what the agent knows, atomically (the file is read per request)."""
        write_tasks(self.tasks_file, tasks)

    def task_lookups(self, docker_id=None, status=None):
        return [r for r in self.requests("GET", "/v1/tasks", status)
                if "dockerid=" in r[1] and (docker_id is None or
                                            r[1].endswith(f"dockerid={docker_id}"))]


def write_tasks(path, tasks):
    tmp = path + ".new"
    with open(tmp, "w") as f:
        json.dump({"Tasks": tasks}, f)
    os.replace(tmp, path)


def ecs_task(region, account, cluster, task_id, family, revision, containers,
             status="RUNNING"):
    """A task object as the agent's introspection API serves it."""
    return {
        "Arn": f"arn:aws:ecs:{region}:{account}:task/{cluster}/{task_id}",
        "DesiredStatus": status,
        "KnownStatus": status,
        "Family": family,
        "Version": str(revision),
        "Containers": containers,
    }


def ecs_container(docker_id, name, image, image_id, family="app", revision=1):
    """A container of a task object, as the agent lists it."""
    return {
        "DockerId": docker_id,
        "DockerName": f"ecs-{family}-{revision}-{name}-{docker_id[:16]}",
        "Name": name,
        "Image": image,
        "ImageID": image_id,
    }


@pytest.fixture
def imds_sim(procs, tmp):
    """Starts an imdssim with the given extra arguments; returns an ImdsSim."""
    def start(*args):
        return ImdsSim(procs, tmp, "imdssim", args)
    return start


@pytest.fixture
def ecs_sim(procs, tmp):
    """Starts an ecssim serving `tasks` (a list of task objects) from a file the
    test can replace with EcsSim.set_tasks(); returns an EcsSim."""
    def start(*args, cluster=None, tasks=()):
        tasks_file = os.path.join(tmp, f"ecs-tasks.{len(procs.children)}.json")
        write_tasks(tasks_file, list(tasks))
        extra = ["--tasks", tasks_file]
        if cluster:
            extra += ["--cluster", cluster]
        return EcsSim(procs, tmp, [*extra, *args], tasks_file)
    return start
