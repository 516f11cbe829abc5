# SPDX-License-Identifier: Apache-2.0
"""How the kernel side keeps track of a TCP connection, read from its maps.

A connection is counted in its cookie's slot of mw_conn_slots from connect
to close: segments only until its first payload, everything from then on in
the struct mw_conn at the same index of mw_slot_conns. The socket's
destruction ends the connection and marks the slot free. A connect that lands
on the slot of a connection
still open, silent or not, moves that one into mw_conns first, so nothing
is lost track of.
"""
import ctypes
import json
import os
import socket
import struct
import subprocess
import time

import pytest

from conftest import wait_for

SO_COOKIE = 57
SLOTS = 32768           # MW_CONN_SLOTS
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
        self.slots = map_id(sensor.proc.pid, "mw_conn_slots")
        self.slot_conns = map_id(sensor.proc.pid, "mw_slot_conns")
        self.conns = map_id(sensor.proc.pid, "mw_conns")

    def slot(self, cookie):
        return lookup(self.slots, struct.pack("<I", cookie % SLOTS))

    def in_slot(self, cookie):
        s = self.slot(cookie)
        return s if s and s["cookie"] == cookie else None

    def slot_conn(self, cookie):
        """The full record of the connection in cookie's slot, once it carried payload."""
        s = self.in_slot(cookie)
        if not s or not s["payload"]:
            return None
        return lookup(self.slot_conns, struct.pack("<I", cookie % SLOTS))

    def conn(self, cookie):
        return lookup(self.conns, struct.pack("<Q", cookie))


def cookie_of(s):
    return struct.unpack("<Q", s.getsockopt(socket.SOL_SOCKET, SO_COOKIE, 8))[0]


def listener():
    srv = socket.socket()
    srv.bind(("127.0.0.1", 0))
    srv.listen(64)
    return srv


def test_a_connection_is_counted_in_its_slot_from_connect_to_close(sensor):
    maps = Maps(sensor)
    srv = listener()
    port = srv.getsockname()[1]
    c = socket.create_connection(("127.0.0.1", port))
    cookie = cookie_of(c)
    peer, _ = srv.accept()
    try:
        s = maps.in_slot(cookie)
        assert s, "a fresh connection is not in its slot"
        assert s["pid"] == os.getpid() and s["dport"] == port
        assert s["family"] == 2 and s["daddr"][:4] == [127, 0, 0, 1]
        assert not s["payload"] and not s["closed"]
        # SYN and the handshake's ACK out, SYN-ACK in.
        assert s["packets"][MW_DIR_OUT] >= 2 and s["packets"][MW_DIR_IN] >= 1

        c.sendall(b"hello\n")
        kc = wait_for(lambda: maps.slot_conn(cookie), 5,
                      what="the first payload counted in the slot")
        assert kc["pid"] == os.getpid() and kc["dport"] == port
        assert kc["daddr"] == s["daddr"]
        assert kc["connect_ns"] == s["connect_ns"] and kc["closed_ns"] == 0
        out = kc["flow"][MW_DIR_OUT]
        # The segments before the payload are carried into the flow.
        assert out["packets"] >= s["packets"][MW_DIR_OUT] + 1
        assert out["data_packets"] == 1 and out["bytes"] == 6 and out["captured"] == 1
        assert kc["announced"] == 1, "the daemon was not told of the connection"
        assert maps.conn(cookie) is None, "a connection in its slot is in mw_conns too"

        peer.sendall(b"welcome\n")
        wait_for(lambda: maps.slot_conn(cookie)["flow"][MW_DIR_IN]["bytes"] == 8, 5,
                 what="the answer counted")
    finally:
        c.close()
        peer.close()
        srv.close()
    wait_for(lambda: maps.in_slot(cookie)["closed"], 5, what="close to mark the slot")
    kc = maps.slot_conn(cookie)
    assert kc["closed_ns"] > 0 and kc["state"] == 7  # TCP_CLOSE
    assert maps.conn(cookie) is None


def test_a_silent_connection_frees_its_slot_when_it_closes(sensor):
    maps = Maps(sensor)
    srv = listener()
    c = socket.create_connection(srv.getsockname())
    cookie = cookie_of(c)
    s = maps.in_slot(cookie)
    assert s and not s["closed"]
    # An abortive close: the RST leaves, then the socket is destroyed.
    c.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
    c.close()
    srv.close()
    s = wait_for(lambda: (maps.in_slot(cookie) or {}).get("closed") and maps.in_slot(cookie),
                 5, what="close to mark the slot")
    assert maps.conn(cookie) is None
    # Counted in the slot, SYN, ACK and RST, and not moved anywhere.
    assert s["packets"][MW_DIR_OUT] >= 3
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


@pytest.mark.parametrize("first_line", [b"", b"hello\n"], ids=["silent", "talking"])
def test_a_connect_on_a_taken_slot_moves_its_open_owner_with_its_counts(sensor, one_cpu, server,
                                                                         first_line):
    maps = Maps(sensor)
    with socket.create_connection(("127.0.0.1", server)) as first:
        a = cookie_of(first)
        if first_line:
            first.sendall(first_line)
            wait_for(lambda: maps.slot_conn(a), 5, what="the first payload counted in the slot")
        assert maps.in_slot(a)
        with socket_on_slot_of(a) as other:
            other.connect(("127.0.0.1", server))
            s = maps.in_slot(cookie_of(other))
            assert s and not s["payload"] and not s["closed"], \
                "the new connection did not take the slot clean"
            kc = maps.conn(a)
            assert kc, "the slot's open owner was dropped instead of moved"
            assert kc["pid"] == os.getpid() and kc["dport"] == server
            assert kc["announced"] == (1 if first_line else 0)
            out = kc["flow"][MW_DIR_OUT]
            assert out["packets"] >= 2 and out["bytes"] == len(first_line)
            assert out["data_packets"] == (1 if first_line else 0)
            first.sendall(b"still here\n")
            wait_for(lambda: maps.conn(a)["flow"][MW_DIR_OUT]["bytes"] == len(first_line) + 11,
                     5, what="the moved connection's payload counted")
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


def disconnect(sock):
    """connect(AF_UNSPEC): ends the socket's connection and keeps the socket."""
    libc = ctypes.CDLL(None, use_errno=True)
    if libc.connect(sock.fileno(), ctypes.create_string_buffer(16), 16):
        raise OSError(ctypes.get_errno(), "connect(AF_UNSPEC)")


def test_a_moved_connection_ends_when_its_socket_connects_again(sensor, one_cpu):
    """A socket moved out of its slot while open, then connecting again: the
    second connection takes the slot, counted afresh, and when it is
    announced the daemon ends the first and takes it out of mw_conns."""
    maps = Maps(sensor)
    with listener() as srv1, listener() as srv2, \
            socket.create_connection(srv1.getsockname()) as first:
        a = cookie_of(first)
        first.sendall(b"hello\n")
        wait_for(lambda: maps.slot_conn(a), 5, what="the first payload counted in the slot")
        with socket_on_slot_of(a) as other:
            other.connect(srv1.getsockname())
            assert maps.conn(a), "the open owner was not moved out of its slot"
            disconnect(first)
            first.connect(srv2.getsockname())
            s = maps.in_slot(a)
            assert s and s["dport"] == srv2.getsockname()[1] and not s["payload"]
            first.sendall(b"hello again\n")
            kc = wait_for(lambda: maps.slot_conn(a), 5, what="the second connection counted")
            assert kc["flow"][MW_DIR_OUT]["bytes"] == 12 and kc["announced"] == 1
            wait_for(lambda: maps.conn(a) is None, 5,
                     what="the first connection taken out of mw_conns")


def stratum_line(size):
    """A Stratum subscribe of exactly size bytes, newline included."""
    head, tail = '{"id":1,"method":"mining.subscribe","params":["', '"]}\n'
    return (head + "x" * (size - len(head) - len(tail)) + tail).encode()


SEND_AND_HOLD = """
import socket, sys
c = socket.create_connection(("127.0.0.1", int(sys.argv[1])))
c.sendall(sys.stdin.buffer.readline())
sys.stdin.read()
"""


def each_in_its_own_process(sensor, script, argvs, inputs, logged, what):
    """Runs script once per input with its argv, hands it the input on stdin,
    and waits until the daemon has logged logged.format(pid=...) for every
    one; each holds its socket until then. One process each: a process
    keeps a few peers and one pool name only."""
    procs = [subprocess.Popen(["python3", "-c", script, *argv], stdin=subprocess.PIPE)
             for argv in argvs]
    try:
        for p, data in zip(procs, inputs):
            p.stdin.write(data)
            p.stdin.flush()
        wait_for(lambda: all(logged.format(pid=p.pid) in sensor.log() for p in procs), 10,
                 what=what)
    finally:
        for p in procs:
            p.stdin.close()
            p.wait(timeout=10)


def test_payload_records_hold_lines_of_every_size_up_to_the_capture(sensor):
    """Payload records are cut to the shortest of three sizes that holds the
    segment: a line on either side of each cut still reaches the protocol
    reader whole."""
    sizes = (20, 64, 65, 192, 193, 512)
    with listener() as srv:
        port = str(srv.getsockname()[1])
        each_in_its_own_process(sensor, SEND_AND_HOLD, [[port]] * len(sizes),
                                [stratum_line(n) for n in sizes],
                                "pid {pid}: stratum-v1 protocol (mining.subscribe)",
                                "every line recognised as Stratum")
    assert sensor.status()["lost"]["total"] == 0


def dns_query_of_size(size, domain="pool.test"):
    """A DNS query of exactly size bytes that ends with its name's zero label:
    without its last byte the name no longer parses."""
    tail = b"".join(bytes([len(x)]) + x.encode() for x in domain.split(".")) + b"\0"
    pad = size - 12 - len(tail)
    labels = []
    while pad > 0:
        n = min(63, pad - 1)
        if pad - (n + 1) == 1:
            n -= 1
        labels.append(bytes([n]) + b"a" * n)
        pad -= n + 1
    q = struct.pack(">HHHHHH", 0x1234, 0x0100, 1, 0, 0, 0) + b"".join(labels) + tail
    assert len(q) == size
    return q


SEND_DATAGRAM_AND_HOLD = """
import socket, sys
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
s.sendto(sys.stdin.buffer.read(int(sys.argv[1])), ("127.0.0.1", 53))
sys.stdin.read()
"""


def test_dns_records_hold_queries_of_every_size_up_to_the_capture(sensor_factory, tmp):
    """The same cut, to the byte: a query's name ends with its last byte, so a
    record one byte short of a query loses the name."""
    names = os.path.join(tmp, "pools.txt")
    with open(names, "w") as f:
        f.write("pool.test\n")
    sensor = sensor_factory(config=f"pool_names_file = {names}\n")
    # 267: the longest query with a name of the longest length DNS allows.
    sizes = (40, 64, 65, 192, 193, 267)
    each_in_its_own_process(sensor, SEND_DATAGRAM_AND_HOLD, [[str(n)] for n in sizes],
                            [dns_query_of_size(n) for n in sizes],
                            "pid {pid} asked for mining-pool name ", "every query's name read")


def test_a_connection_reset_under_its_process_ends_when_the_process_lets_go(sensor):
    """A connection ends with its socket: a reset one whose process still holds
    the descriptor is open until the descriptor is closed, and then ends in
    full, counts kept and nothing left in mw_conns."""
    maps = Maps(sensor)
    with listener() as srv:
        c = socket.create_connection(srv.getsockname())
        cookie = cookie_of(c)
        peer, _ = srv.accept()
        c.sendall(b"hello\n")
        wait_for(lambda: maps.slot_conn(cookie), 5, what="the first payload counted")
        peer.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
        peer.close()
        try:
            with pytest.raises(ConnectionResetError):
                for _ in range(50):
                    c.send(b"x")
                    time.sleep(0.02)
            assert not maps.in_slot(cookie)["closed"], "ended while its socket is held"
        finally:
            c.close()
    wait_for(lambda: maps.in_slot(cookie)["closed"], 5, what="close to end the connection")
    kc = maps.slot_conn(cookie)
    assert kc["closed_ns"] > 0 and kc["flow"][MW_DIR_OUT]["bytes"] >= 6
    assert maps.conn(cookie) is None


FAIL_BEFORE_SYN = """
import socket, struct, sys
s = socket.socket()
print(struct.unpack("<Q", s.getsockopt(socket.SOL_SOCKET, 57, 8))[0], flush=True)
try:
    s.connect(("127.0.0.1", 9))
except OSError as e:
    print(e.errno, flush=True)
sys.stdin.read()
s.close()
sys.stdin.close()
"""


def test_a_connect_that_fails_before_its_syn_ends_at_close(sensor):
    """In a network namespace whose loopback is down, connect() fails with
    ENETUNREACH after the connect hook took a slot, and no segment or state
    change ever happens; closing the socket still ends it, so its slot is
    free for the next owner instead of being moved to mw_conns."""
    maps = Maps(sensor)
    p = subprocess.Popen(["unshare", "-n", "python3", "-c", FAIL_BEFORE_SYN],
                         stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
    try:
        cookie = int(p.stdout.readline())
        assert int(p.stdout.readline()) == 101  # ENETUNREACH
        s = maps.in_slot(cookie)
        assert s and not s["closed"] and s["packets"] == [0, 0]
    finally:
        p.stdin.close()
        p.wait(timeout=10)
    wait_for(lambda: maps.in_slot(cookie)["closed"], 5, what="close to end the connection")
    assert maps.conn(cookie) is None


RECONNECT = """
import ctypes, socket, sys
libc = ctypes.CDLL(None, use_errno=True)
a, b = int(sys.argv[1]), int(sys.argv[2])
c = socket.create_connection(("127.0.0.1", a))
c.sendall(b"hello\\n")
# connect(AF_UNSPEC) ends the connection, keeping the socket for another.
if libc.connect(c.fileno(), ctypes.create_string_buffer(16), 16):
    sys.exit("AF_UNSPEC connect: errno %d" % ctypes.get_errno())
c.connect(("127.0.0.1", b))
c.sendall(sys.stdin.buffer.readline())
sys.stdin.read()
"""


def test_a_socket_connecting_again_is_a_new_connection_to_the_daemon(sensor):
    """The first connection of a socket that connects again ends without the
    socket being destroyed: the daemon is told, so the second one is judged
    with its own destination."""
    with listener() as first, listener() as second:
        ports = [str(first.getsockname()[1]), str(second.getsockname()[1])]
        each_in_its_own_process(sensor, RECONNECT, [ports], [stratum_line(80)],
                                "pid {pid}: stratum-v1 protocol (mining.subscribe) to port "
                                + ports[1], "the second connection judged on its own")
