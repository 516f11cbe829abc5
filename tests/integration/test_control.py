# SPDX-License-Identifier: Apache-2.0
"""The control socket and the CLI under abuse: permissions from the first
moment, peer credentials, garbage, oversized and silent clients, too many
clients at once; and the CLI against a missing, stale, hung or lying daemon."""
import grp
import json
import os
import pwd
import socket
import stat
import subprocess
import threading
import time

import pytest

from conftest import CLI, wait_for

TEST_USER = "mw-outsider"


def ask(path, data, timeout=5.0, shut=True):
    """Sends data, returns what the daemon answered before closing."""
    c = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    c.settimeout(timeout)
    c.connect(path)
    try:
        if data:
            c.sendall(data)
        if shut:
            c.shutdown(socket.SHUT_WR)
        out = b""
        while True:
            b = c.recv(65536)
            if not b:
                return out
            out += b
    finally:
        c.close()


def error_of(reply):
    return json.loads(reply.decode().strip())["error"]


def test_socket_is_0660_from_the_start(sensor):
    st = os.stat(sensor.socket)
    assert stat.S_ISSOCK(st.st_mode)
    assert stat.S_IMODE(st.st_mode) == 0o660
    try:
        gid = grp.getgrnam("minerwatch").gr_gid
    except KeyError:
        gid = None
    if gid is not None:
        assert st.st_gid == gid


@pytest.fixture
def outsider():
    """A user that is neither root nor in the minerwatch group."""
    try:
        pwd.getpwnam(TEST_USER)
        created = False
    except KeyError:
        subprocess.run(["useradd", "--system", "--no-create-home", "--shell",
                        "/usr/sbin/nologin", TEST_USER], check=True)
        created = True
    yield pwd.getpwnam(TEST_USER)
    if created:
        subprocess.run(["userdel", TEST_USER], check=False)


def test_user_outside_the_group_is_refused(sensor, outsider):
    # What is tested is the daemon's own SO_PEERCRED check, not file modes, so
    # the socket is opened up to everyone and the outsider reaches it from its
    # directory (the child changes into it before dropping to the outsider,
    # so the test's private parent directories need not be searchable). The
    # connect itself runs as the outsider: SO_PEERCRED records the
    # credentials at connect time.
    sock_dir, sock_name = os.path.split(sensor.socket)
    os.chmod(sock_dir, 0o755)
    os.chmod(sensor.socket, 0o666)
    as_outsider = dict(capture_output=True, text=True, timeout=30, cwd=sock_dir,
                       user=outsider.pw_uid, group=outsider.pw_gid, extra_groups=[])
    code = (
        "import socket, sys\n"
        "c = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)\n"
        "c.settimeout(5)\n"
        f"c.connect({sock_name!r})\n"
        "c.sendall(b'{\"cmd\":\"status\"}\\n')\n"
        "out = b''\n"
        "while True:\n"
        "    b = c.recv(65536)\n"
        "    if not b: break\n"
        "    out += b\n"
        "sys.stdout.write(out.decode())\n")
    r = subprocess.run(["/usr/bin/python3", "-c", code], **as_outsider)
    assert r.returncode == 0, r.stderr
    assert "permission denied" in r.stdout
    assert '"state"' not in r.stdout
    assert sensor.status()["counters"]["control_refused"] >= 1
    # The CLI run as that user says so and exits 2.
    r = subprocess.run([CLI, "status", "-s", sock_name], **as_outsider)
    assert r.returncode == 2
    assert "permission denied" in (r.stderr + r.stdout)


@pytest.mark.parametrize("garbage", [
    b"\n",
    b"not json\n",
    b"[1, 2, 3]\n",
    b'{"cmd": 7}\n',
    b'{"cmd": "status"',            # no newline: ends at EOF
    b"\x00\xff\xfe\x1b[31m\n",
])
def test_garbage_requests_get_an_error_and_the_daemon_carries_on(sensor, garbage):
    out = ask(sensor.socket, garbage)
    if out:
        assert "error" in json.loads(out.decode().strip())
    assert sensor.status()["state"] in ("healthy", "degraded")


def test_unknown_command(sensor):
    assert error_of(ask(sensor.socket, b'{"cmd":"shutdown"}\n')) == "unknown command"


def test_oversized_request_is_refused(sensor):
    out = ask(sensor.socket, b"{" + b"x" * (64 * 1024), shut=False)
    assert error_of(out) == "request too large"
    assert sensor.status()["state"] in ("healthy", "degraded")


def test_silent_client_times_out(sensor):
    c = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    c.settimeout(15)
    c.connect(sensor.socket)
    t0 = time.monotonic()
    out = c.recv(4096)
    waited = time.monotonic() - t0
    c.close()
    assert error_of(out).startswith("timeout")
    assert waited < 10
    assert sensor.status()["state"] in ("healthy", "degraded")


def test_many_concurrent_clients_are_bounded(sensor):
    # Hold more silent connections open than the daemon serves at once
    # (CONTROL_MAX_CLIENTS = 16 slots, and a listen backlog of 16): the extra
    # ones are told it is busy or find the backlog full, and the daemon still
    # answers once they are gone.
    held, turned_away, busy = [], 0, 0
    try:
        for _ in range(40):
            c = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
            c.settimeout(1)
            try:
                c.connect(sensor.socket)
            except (BlockingIOError, ConnectionRefusedError, socket.timeout):
                turned_away += 1
                c.close()
                continue
            held.append(c)
        for c in held:
            try:
                c.settimeout(0.5)
                b = c.recv(4096)
                if b and b"busy" in b:
                    busy += 1
            except (socket.timeout, ConnectionResetError):
                pass
        assert turned_away + busy >= 40 - 2 * 16, (turned_away, busy)
    finally:
        for c in held:
            c.close()
    assert wait_for(lambda: sensor.status(check=False), 10, what="status after the crowd")


# --- the CLI against daemons that are not there or misbehave -----------------

def test_cli_missing_daemon(tmp):
    r = subprocess.run([CLI, "status", "-s", os.path.join(tmp, "none.sock")],
                       capture_output=True, text=True, timeout=30)
    assert r.returncode == 2 and r.stderr.strip()


def test_cli_stale_socket_file(tmp):
    path = os.path.join(tmp, "stale.sock")
    s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    s.bind(path)
    s.close()  # the file stays, nobody listens
    r = subprocess.run([CLI, "status", "-s", path], capture_output=True, text=True, timeout=30)
    assert r.returncode == 2 and r.stderr.strip()


def fake_daemon(path, answer):
    """A listener that accepts one client and answers (or never does)."""
    srv = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    srv.bind(path)
    srv.listen(1)
    srv.settimeout(30)

    def serve():
        try:
            c, _ = srv.accept()
        except OSError:
            return
        try:
            c.settimeout(30)
            c.recv(4096)
            if answer is not None:
                c.sendall(answer)
                c.close()
            else:
                time.sleep(20)  # hung: reads, never answers
                c.close()
        except OSError:
            pass
    t = threading.Thread(target=serve, daemon=True)
    t.start()
    return srv, t


@pytest.mark.parametrize("answer", [
    None,                                   # hung
    b"this is not json\n",
    b'{"state": 42}\n',
    b"\x1b]0;owned\x07\n",
])
def test_cli_hung_or_garbage_daemon(tmp, answer):
    path = os.path.join(tmp, "fake.sock")
    srv, t = fake_daemon(path, answer)
    try:
        t0 = time.monotonic()
        r = subprocess.run([CLI, "status", "-s", path], capture_output=True, text=True,
                           timeout=60)
        assert time.monotonic() - t0 < 30
        assert r.returncode == 2, r.stdout + r.stderr
        assert r.stderr.strip()
        assert "\x1b" not in r.stdout + r.stderr
    finally:
        srv.close()
