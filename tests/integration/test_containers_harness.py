# SPDX-License-Identifier: Apache-2.0
"""Checks of the runc container harness (containers.py) the attribution tests use.

No sensor runs here: these only prove that a command started through
RuncContainer really sits in the ECS-shaped cgroup it was given, that its host
pid is known and goes away with it, and that it reaches the host's loopback.
"""
import os
import socket

import pytest

from conftest import TOOLS, wait_for
import containers
from containers import RuncContainer, ecs_al2023_path, ecs_al2_path, new_container_id, \
    new_task_id

pytestmark = pytest.mark.skipif(not containers.runc_available(),
                                reason="runc is not installed")


def _pid_gone(pid):
    return not os.path.exists(f"/proc/{pid}")


def _leftover_cgroup_dirs(path):
    return [m + path for m in containers.cgroup_mounts() if os.path.exists(m + path)]


@pytest.mark.parametrize("shape", ["al2023", "al2"])
def test_container_sits_in_the_ecs_cgroup(shape):
    task, cid = new_task_id(), new_container_id()
    path = ecs_al2023_path(task, cid) if shape == "al2023" else ecs_al2_path(task, cid)
    top = "/" + path.strip("/").split("/")[0] + "/" + path.strip("/").split("/")[1]
    with RuncContainer(["/usr/bin/sleep", "60"], cgroups_path=path, container_id=cid) as c:
        assert c.id == cid and c.cgroups_path == path
        assert c.pid and os.path.exists(f"/proc/{c.pid}")
        lines = c.read_cgroup().splitlines()
        assert f"0::{path}" in lines, lines
        # The host pid is the command itself, pid 1 of its own pid namespace.
        with open(f"/proc/{c.pid}/cmdline", "rb") as f:
            assert f.read().split(b"\0")[0] == b"/usr/bin/sleep"
        with open(f"/proc/{c.pid}/status") as f:
            nspid = [ln for ln in f if ln.startswith("NSpid:")][0].split()[1:]
        assert nspid == [str(c.pid), "1"], nspid
        assert c.host_pids() == [c.pid]
        # Shares the host network namespace, not the host pid namespace.
        assert os.readlink(f"/proc/{c.pid}/ns/net") == os.readlink("/proc/self/ns/net")
        assert os.readlink(f"/proc/{c.pid}/ns/pid") != os.readlink("/proc/self/ns/pid")
        pid = c.pid
    wait_for(lambda: _pid_gone(pid), 10, interval=0.05, what="the container's pid to go")
    assert cid not in containers.runc_list()
    assert _leftover_cgroup_dirs(path) == []
    assert _leftover_cgroup_dirs(top) == []


def test_container_reaches_host_loopback(tmp, procs):
    srv = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    srv.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    srv.bind(("127.0.0.1", 0))
    srv.listen(4)
    srv.settimeout(15)
    port = srv.getsockname()[1]
    client = (
        "import socket,sys\n"
        f"s=socket.create_connection(('127.0.0.1',{port}),timeout=10)\n"
        "s.sendall(b'hello from the container\\n')\n"
        "s.settimeout(10)\n"
        "sys.stdout.write(s.recv(64).decode())\n"
        "sys.stdout.flush()\n"
        "import time; time.sleep(30)\n")
    try:
        with RuncContainer(["/usr/bin/python3", "-c", client]) as c:
            conn, peer = srv.accept()
            with conn:
                conn.settimeout(10)
                assert peer[0] == "127.0.0.1"
                data = b""
                while not data.endswith(b"\n"):
                    chunk = conn.recv(64)
                    assert chunk, "the container closed the connection early"
                    data += chunk
                assert data == b"hello from the container\n"
                conn.sendall(b"hello from the host\n")
                wait_for(lambda: c.stdout() == "hello from the host\n", 10,
                         interval=0.05, what="the container to print the reply")
                assert "0::" + c.cgroups_path in c.read_cgroup().splitlines()
            # A host tool from build/ runs unchanged inside, too: the
            # heartbeat client against a heartbeat echo server on the host.
            port_file = os.path.join(tmp, "hb.port")
            procs.start("heartbeat", "--serve", "--port-file", port_file, "--duration", 60,
                        "--quiet")
            wait_for(lambda: os.path.exists(port_file), 10, interval=0.05,
                     what="the heartbeat server to listen")
            with open(port_file) as f:
                hb_port = int(f.read().strip())
            r = c.exec([os.path.join(TOOLS, "heartbeat"), "--to", f"127.0.0.1:{hb_port}",
                        "--interval", 1, "--duration", 2], timeout=20)
            assert r.returncode == 0, r.stdout + r.stderr
    finally:
        srv.close()
