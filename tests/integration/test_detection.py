# SPDX-License-Identifier: Apache-2.0
"""Miners are reported, benign work is not: real processes, real CPU, real
Stratum/XMRig traffic to the pool simulator on loopback."""
import os
import socket
import sys
import threading
import time

from conftest import validate_ocsf, wait_for

DEADLINE = 30  # generous: these tests assert verdicts, never latency


def miner_pid(procs, p):
    line = wait_for(lambda: procs.output(p).split("\n", 1)[0], 10, what="minersim's pid")
    assert line.startswith("pid="), line
    return int(line.split("=", 1)[1])


def check_miner_finding(sensor, pid, port):
    f = wait_for(lambda: sensor.findings_for(pid), DEADLINE, what=f"a finding for pid {pid}")[0]
    assert f["class_uid"] == 2004 and f["activity_id"] == 1
    assert f["severity_id"] >= 3
    ports = [e["dst_endpoint"]["port"] for e in f["evidences"] if "dst_endpoint" in e]
    assert port in ports
    assert f["finding_info"]["attacks"][0]["technique"]["uid"] == "T1496"
    assert str(pid) in f["finding_info"]["desc"]
    return f


def test_arguments_beyond_the_exec_record_are_read_when_judged(sensor, procs, pool):
    # The exec record carries the first 256 bytes of argv; the rest is read
    # from /proc once the process is judged, so the finding has all of it.
    wallet = "4" + "A" * 299
    p = procs.start("minersim", "--user", wallet, "--pool", f"127.0.0.1:{pool}",
                    "--threads", 2, "--duration", 60, "--submit-interval", 2,
                    "--proto", "xmrig")
    pid = miner_pid(procs, p)
    f = check_miner_finding(sensor, pid, pool)
    cmd = f["evidences"][0]["process"]["cmd_line"]
    assert wallet in cmd
    assert cmd.endswith("--proto xmrig"), cmd[-80:]


def test_xmrig_style_miner_is_reported(sensor, procs, pool):
    p = procs.start("minersim", "--pool", f"127.0.0.1:{pool}", "--proto", "xmrig",
                    "--threads", 2, "--duration", 60, "--submit-interval", 2)
    pid = miner_pid(procs, p)
    f = check_miner_finding(sensor, pid, pool)
    assert f["severity_id"] >= 4  # protocol evidence
    assert f["unmapped"]["protocol"]["name"] == "xmrig-jsonrpc"
    proc = f["evidences"][0]["process"]
    assert proc["name"] == "minersim"
    assert "--proto xmrig" in proc["cmd_line"]
    assert len(proc["file"]["hashes"][0]["value"]) == 64
    validate_ocsf(sensor.output)
    st = sensor.status()
    assert any(x["pid"] == pid for x in st["findings"])


def test_stratum_miner_is_reported_and_closed_on_exit(sensor, procs, pool):
    p = procs.start("minersim", "--pool", f"127.0.0.1:{pool}", "--proto", "stratum",
                    "--threads", 1, "--duration", 8, "--submit-interval", 2)
    pid = miner_pid(procs, p)
    f = check_miner_finding(sensor, pid, pool)
    assert f["unmapped"]["protocol"]["name"] == "stratum-v1"
    p.wait(timeout=30)
    closed = wait_for(lambda: [x for x in sensor.findings_for(pid) if x["activity_id"] == 3],
                      DEADLINE, what="the Close finding after the miner exits")[0]
    assert closed["finding_info"]["uid"] == f["finding_info"]["uid"]
    validate_ocsf(sensor.output)


def test_miner_running_before_the_sensor_is_reported(sensor_factory, procs, pool):
    p = procs.start("minersim", "--pool", f"127.0.0.1:{pool}", "--proto", "xmrig",
                    "--threads", 1, "--duration", 90, "--submit-interval", 2)
    pid = miner_pid(procs, p)
    wait_for(lambda: "login_sent_ns=" in procs.output(p), 10, what="the miner to log in")
    s = sensor_factory()
    assert s.status()["tracked"]["scanned_connections"] >= 1
    check_miner_finding(s, pid, pool)
    validate_ocsf(s.output)


def test_cpu_burner_without_network_is_not_reported(sensor, procs):
    p = procs.start("cpuburn", "--threads", 2, "--duration", 15)
    pid = int(wait_for(lambda: procs.output(p).split("\n", 1)[0], 10,
                       what="cpuburn's pid").split("=", 1)[1])
    p.wait(timeout=40)
    # Its samples were seen, so the sensor watched it and chose not to report.
    assert sensor.status()["counters"]["cpu_samples"] > 0
    assert sensor.findings_for(pid) == []


BUSY_CLIENT = r"""
import socket, sys, time
s = socket.create_connection(("127.0.0.1", int(sys.argv[1])))
end = time.monotonic() + float(sys.argv[2])
n = 0
while time.monotonic() < end:
    n += 1
    if n % 5000000 == 0:
        s.sendall(b"\x17\x03\x03\x00\x20" + bytes(32))  # opaque, TLS-record-like
"""


def test_cpu_saturation_with_long_lived_quiet_connection_is_medium(sensor_factory, procs, tmp):
    s = sensor_factory(config="long_connection_seconds = 5\ncpu_window_seconds = 5\n")
    srv = socket.socket()
    srv.bind(("127.0.0.1", 0))
    srv.listen()
    stop = threading.Event()

    def serve():
        # Like a pool behind TLS: answers every client message with a small
        # opaque record, and pushes one of its own every second, unasked.
        conn, _ = srv.accept()
        conn.settimeout(0.2)
        last_push = time.monotonic()
        while not stop.is_set():
            try:
                if not conn.recv(4096):
                    break
                conn.sendall(b"\x17\x03\x03\x00\x10" + bytes(16))
            except socket.timeout:
                pass
            except OSError:
                break  # the client is gone
            if time.monotonic() - last_push >= 1.0:
                try:
                    conn.sendall(b"\x17\x03\x03\x00\x30" + bytes(48))
                except OSError:
                    break
                last_push = time.monotonic()
        conn.close()
    t = threading.Thread(target=serve, daemon=True)
    t.start()
    try:
        client = procs.start_cmd([sys.executable, "-c", BUSY_CLIENT,
                                  str(srv.getsockname()[1]), "40"])
        f = wait_for(lambda: s.findings_for(client.pid), DEADLINE,
                     what="a behaviour-only finding")[0]
        assert f["severity_id"] == 3
        assert "protocol" not in f["unmapped"]
        assert f["unmapped"]["cpu"]["saturated"] is True
        assert f["unmapped"]["connection"]["pool_like"] is True
        validate_ocsf(s.output)
    finally:
        stop.set()
        srv.close()
