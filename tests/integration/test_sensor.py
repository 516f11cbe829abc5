# SPDX-License-Identifier: Apache-2.0
"""The sensor's lifecycle on the real kernel: attach, count, report, detach."""
import os
import socket
import subprocess

from conftest import CLI, bpf_prog_ids, bpf_prog_ids_of, wait_for

EXPECTED_PROGRAMS = {"exec", "exit", "cpu_sample", "connect4", "connect6", "sendmsg4",
                     "sendmsg6", "skb_egress", "skb_ingress", "sock_close"}


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
    # This daemon's own programs: other sensors may run on the machine.
    ours = bpf_prog_ids_of(sensor.proc.pid)
    assert len(ours) >= 4, "programs should be loaded while the sensor runs"
    assert ours <= bpf_prog_ids()
    rc = sensor.stop()
    assert rc == 0, sensor.log()
    # The kernel frees released programs asynchronously (after an RCU grace period).
    wait_for(lambda: not ours & bpf_prog_ids(), 10, what="every program to be released")
    assert not os.path.exists(sensor.socket)


def test_raw_tracepoint_fallback_works(sensor_factory):
    s = sensor_factory(config="hooks = raw_tp\n")
    progs = {p["name"]: p for p in s.status()["programs"]}
    assert progs["exec"]["hook"] == "raw_tp/sched_process_exec"
    assert progs["sock_close"]["hook"] == "raw_tp/tcp_destroy_sock"
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


CAP_DAC_READ_SEARCH, CAP_SYS_PTRACE, CAP_BPF = 2, 19, 39


def test_capabilities_dropped_after_attach(sensor, procs, pool):
    """Least privilege: after attach only CAP_BPF, CAP_SYS_PTRACE and
    CAP_DAC_READ_SEARCH remain, no_new_privs is set, and detection still works."""
    st = sensor.status()
    with open(f"/proc/{sensor.proc.pid}/status") as f:
        fields = dict(line.rstrip("\n").split(":\t", 1) for line in f if ":\t" in line)
    want = (1 << CAP_DAC_READ_SEARCH) | (1 << CAP_SYS_PTRACE) | (1 << CAP_BPF)
    assert int(fields["CapEff"], 16) == want, fields["CapEff"]
    assert int(fields["CapPrm"], 16) == want, fields["CapPrm"]
    assert int(fields["CapInh"], 16) == 0 and int(fields["CapAmb"], 16) == 0
    assert fields["NoNewPrivs"].strip() == "1"
    assert sorted(st["privileges"]["capabilities"]) == \
        ["cap_bpf", "cap_dac_read_search", "cap_sys_ptrace"]
    # With what is left, map reads, /proc reads and hashing still work.
    p = procs.start("minersim", "--pool", f"127.0.0.1:{pool}", "--proto", "stratum",
                    "--threads", 1, "--duration", 30, "--submit-interval", 2)
    pid = int(wait_for(lambda: procs.output(p).split("\n", 1)[0], 10,
                       what="minersim's pid").split("=", 1)[1])
    f = wait_for(lambda: sensor.findings_for(pid), 30, what="a finding")[0]
    assert len(f["evidences"][0]["process"]["file"]["hashes"][0]["value"]) == 64
    wait_for(lambda: sensor.status()["counters"]["cpu_samples"] > 0, 10,
             what="CPU samples read from the maps")


def test_systemd_watchdog_and_readiness(tmp, sensor_factory):
    """READY=1 once attached, then WATCHDOG=1 pings when systemd asks for them."""
    path = os.path.join(tmp, "notify.sock")
    srv = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
    srv.bind(path)
    srv.settimeout(10)
    try:
        sensor_factory(env={"NOTIFY_SOCKET": path, "WATCHDOG_USEC": "2000000"})
        got = []
        wait_for(lambda: got.append(srv.recv(4096).decode()) or
                 any("WATCHDOG=1" in g for g in got), 15, what="a watchdog ping")
        assert any("READY=1" in g for g in got)
        assert got.index(next(g for g in got if "READY=1" in g)) < \
            got.index(next(g for g in got if "WATCHDOG=1" in g))
    finally:
        srv.close()
