# SPDX-License-Identifier: Apache-2.0
"""How the kernel side keeps track of a TCP connection, read from its maps.

A connection sits in its cookie's slot of mw_conn_starts until its first
payload, which moves it into mw_conns; close frees whichever holds it. A
connect that lands on the slot of a connection still open and silent moves
that one into mw_conns first, so nothing is lost track of.
"""
import json
import os
import socket
import struct
import subprocess
import time

import pytest

from conftest import wait_for

SO_COOKIE = 57
SLOTS = 65536           # MW_CONN_STARTS
MW_DIR_OUT, MW_DIR_IN = 0, 1


def map_id(pid, name):
    """Id of the map called name that process pid holds."""
    ids = set()
    for fd in os.listdir(f"/proc/{pid}/fdinfo"):
        try:
            with open(f"/proc/{pid}/fdinfo/{fd}") as f:
                ids.update(int(line.split()[1]) for line in f if line.startswith("map_id:"))
        except OSError:
            continue
    for i in ids:
        out = subprocess.run(["bpftool", "-j", "map", "show", "id", str(i)],
                             capture_output=True, text=True)
        if out.returncode == 0 and json.loads(out.stdout).get("name") == name:
            return i
    raise AssertionError(f"minerwatchd holds no map {name}")


def lookup(mid, key):
    """The map's value for key (bytes) as bpftool formats it with BTF, or None."""
    out = subprocess.run(["bpftool", "-j", "map", "lookup", "id", str(mid), "key",
                          *[str(b) for b in key]], capture_output=True, text=True)
    if out.returncode != 0:
        return None
    return json.loads(out.stdout)["formatted"]["value"]


class Maps:
    def __init__(self, sensor):
        self.starts = map_id(sensor.proc.pid, "mw_conn_starts")
        self.conns = map_id(sensor.proc.pid, "mw_conns")

    def slot(self, cookie):
        return lookup(self.starts, struct.pack("<I", cookie % SLOTS))

    def in_slot(self, cookie):
        s = self.slot(cookie)
        return s if s and s["cookie"] == cookie else None

    def conn(self, cookie):
        return lookup(self.conns, struct.pack("<Q", cookie))


def cookie_of(s):
    return struct.unpack("<Q", s.getsockopt(socket.SOL_SOCKET, SO_COOKIE, 8))[0]


def listener():
    srv = socket.socket()
    srv.bind(("127.0.0.1", 0))
    srv.listen(64)
    return srv


def test_a_connection_moves_from_its_slot_at_its_first_payload(sensor):
    maps = Maps(sensor)
    srv = listener()
    port = srv.getsockname()[1]
    c = socket.create_connection(("127.0.0.1", port))
    cookie = cookie_of(c)
    peer, _ = srv.accept()
    try:
        s = maps.in_slot(cookie)
        assert s, "a fresh connection is not in its slot"
        assert s["pid"] == os.getpid() and s["dport"] == port and s["family"] == 2
        assert s["daddr"][:4] == [127, 0, 0, 1]
        # SYN and the handshake's ACK out, SYN-ACK in.
        assert s["packets"][MW_DIR_OUT] >= 2 and s["packets"][MW_DIR_IN] >= 1
        assert maps.conn(cookie) is None, "a silent connection is in mw_conns"

        c.sendall(b"hello\n")
        kc = wait_for(lambda: maps.conn(cookie), 5, what="the connection in mw_conns")
        assert maps.in_slot(cookie) is None, "the slot still holds a moved connection"
        assert kc["pid"] == os.getpid() and kc["dport"] == port
        assert kc["connect_ns"] == s["connect_ns"]
        out = kc["flow"][MW_DIR_OUT]
        # The segments before the payload came along from the slot.
        assert out["packets"] >= s["packets"][MW_DIR_OUT] + 1
        assert out["data_packets"] == 1 and out["bytes"] == 6

        peer.sendall(b"welcome\n")
        wait_for(lambda: maps.conn(cookie)["flow"][MW_DIR_IN]["bytes"] == 8, 5,
                 what="the answer counted")
    finally:
        c.close()
        peer.close()
        srv.close()
    wait_for(lambda: maps.conn(cookie) is None, 5, what="close to end tracking")


def test_a_silent_connection_frees_its_slot_when_it_closes(sensor):
    maps = Maps(sensor)
    srv = listener()
    c = socket.create_connection(srv.getsockname())
    cookie = cookie_of(c)
    s = maps.in_slot(cookie)
    assert s and not s["closed"]
    # An abortive close: the RST leaves after the state change to closed.
    c.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
    c.close()
    srv.close()
    s = wait_for(lambda: (maps.in_slot(cookie) or {}).get("closed") and maps.in_slot(cookie),
                 5, what="close to mark the slot")
    assert maps.conn(cookie) is None
    # The RST ended at the slot: not counted, and not moved anywhere.
    assert s["packets"][MW_DIR_OUT] >= 2
    assert maps.conn(cookie) is None


def socket_on_slot_of(cookie, seconds=60):
    """A new, unconnected socket whose cookie shares cookie's slot. Cookies
    are handed out in sequence: on one CPU, new sockets' cookies come round
    to any slot within a few times SLOTS."""
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        s = socket.socket()
        ck = cookie_of(s)
        if ck % SLOTS == cookie % SLOTS and ck != cookie:
            return s
        s.close()
    raise AssertionError(f"no cookie came round to slot {cookie % SLOTS} in {seconds} s")


@pytest.fixture
def one_cpu():
    """This process on one CPU, where new sockets' cookies come in sequence."""
    old = os.sched_getaffinity(0)
    os.sched_setaffinity(0, {min(old)})
    yield
    os.sched_setaffinity(0, old)


@pytest.fixture
def server():
    with listener() as srv:
        yield srv.getsockname()[1]


def test_a_connect_on_a_taken_slot_moves_its_silent_owner_to_mw_conns(sensor, one_cpu, server):
    maps = Maps(sensor)
    with socket.create_connection(("127.0.0.1", server)) as first:
        a = cookie_of(first)
        assert maps.in_slot(a)
        with socket_on_slot_of(a) as other:
            other.connect(("127.0.0.1", server))
            assert maps.in_slot(cookie_of(other)), "the new connection did not take the slot"
            kc = maps.conn(a)
            assert kc, "the slot's silent owner was dropped instead of moved"
            assert kc["pid"] == os.getpid() and kc["dport"] == server
            assert kc["flow"][MW_DIR_OUT]["packets"] >= 2
            first.sendall(b"still here\n")
            wait_for(lambda: maps.conn(a)["flow"][MW_DIR_OUT]["bytes"] == 11, 5,
                     what="the moved connection's payload counted")
            assert sensor.status()["lost"]["conn_map_full"] == 0
    wait_for(lambda: maps.conn(a) is None, 5, what="close to end tracking of the moved one")


def test_a_connect_on_the_slot_of_a_closed_connection_just_takes_it(sensor, one_cpu, server):
    maps = Maps(sensor)
    with socket.create_connection(("127.0.0.1", server)) as first:
        a = cookie_of(first)
    wait_for(lambda: maps.in_slot(a)["closed"], 5, what="close to mark the slot")
    with socket_on_slot_of(a) as other:
        other.connect(("127.0.0.1", server))
        s = maps.in_slot(cookie_of(other))
        assert s and not s["closed"], "the new connection did not take the slot"
        assert maps.conn(a) is None, "a closed connection was moved to mw_conns"
