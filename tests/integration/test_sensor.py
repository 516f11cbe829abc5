# SPDX-License-Identifier: Apache-2.0
"""The sensor's lifecycle on the real kernel: attach, count, report, detach."""
import os
import socket
import subprocess

from conftest import CLI, bpf_progs_named, wait_for

EXPECTED_PROGRAMS = {"exec", "exit", "cpu_sample", "connect4", "connect6", "sendmsg4",
                     "sendmsg6", "skb_egress", "skb_ingress", "sock_state"}


def test_status_lists_attached_programs_and_counts_events(sensor):
    st = sensor.status()
    assert st["state"] == "healthy"
    progs = {p["name"]: p for p in st["programs"]}
    assert set(progs) == EXPECTED_PROGRAMS
    assert all(p["attached"] for p in progs.values()), progs
    assert progs["exec"]["hook"].startswith("tp_btf/")
    for key in ("state", "programs", "counters", "lost", "tracked", "findings", "instance"):
        assert key in st
    assert st["tracked"]["processes"] > 0   # the start-up scan found what runs

    # Real execs and a real connect must show up in the kernel counters.
    for _ in range(3):
        subprocess.run(["/bin/true"], check=True)
    srv = socket.socket()
    srv.bind(("127.0.0.1", 0))
    srv.listen()
    c = socket.create_connection(srv.getsockname())
    c.sendall(b"hello")
    c.close()
    srv.close()

    def counted():
        s = sensor.status()
        return s["counters"]["exec"] >= 3 and s["counters"]["connect"] >= 1 and \
            s["counters"]["cpu_samples"] > 0 and s["counters"]["exec_handled"] >= 3
    wait_for(counted, 10, what="exec, connect and CPU counters to grow")
    assert sensor.status()["lost"]["total"] == 0


def test_human_status_output(sensor):
    r = sensor.cli("status")
    assert r.returncode == 0, r.stderr
    assert "healthy" in r.stdout
    assert "tp_btf/sched_process_exec" in r.stdout
    q = sensor.cli("status", "--quiet")
    assert q.returncode == 0 and q.stdout == ""


def test_sigterm_exits_zero_and_detaches_everything(sensor):
    assert bpf_progs_named(), "programs should be loaded while the sensor runs"
    rc = sensor.stop()
    assert rc == 0, sensor.log()
    # The kernel frees released programs asynchronously (after an RCU grace period).
    wait_for(lambda: bpf_progs_named() == [], 10, what="every program to be released")
    assert not os.path.exists(sensor.socket)


def test_raw_tracepoint_fallback_works(sensor_factory):
    s = sensor_factory(config="hooks = raw_tp\n")
    progs = {p["name"]: p for p in s.status()["programs"]}
    assert progs["exec"]["hook"] == "raw_tp/sched_process_exec"
    assert progs["sock_state"]["hook"] == "raw_tp/inet_sock_set_state"
    assert all(p["attached"] for p in progs.values())
    before = s.status()["counters"]["exec"]
    subprocess.run(["/bin/true"], check=True)
    wait_for(lambda: s.status()["counters"]["exec"] > before, 10,
             what="an exec seen through the raw tracepoint")


def test_sighup_rejects_bad_config_and_keeps_running(sensor):
    with open(sensor.config, "w") as f:
        f.write("cpu_window_seconds = lots\n")
    sensor.reload()
    st = wait_for(lambda: (lambda s: s if s["state"] == "degraded" else None)(sensor.status()),
                  10, what="status to show the rejected reload")
    assert "config reload rejected" in st["reasons"]
    assert "minerwatch.conf:1" in st["reasons"]
    with open(sensor.config, "w") as f:
        f.write("cpu_window_seconds = 5\n")
    sensor.reload()
    wait_for(lambda: sensor.status()["state"] == "healthy", 10,
             what="a good reload to clear the error")


def test_cli_reports_unreachable_daemon(tmp):
    r = subprocess.run([CLI, "status", "-s", os.path.join(tmp, "nope.sock")],
                       capture_output=True, text=True, timeout=15)
    assert r.returncode == 2
    assert "not running" in r.stderr
