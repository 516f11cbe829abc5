# SPDX-License-Identifier: Apache-2.0
"""The detection scenarios of SPEC 6, each a real process on the real kernel.

Miners must be reported with severity >= 3; benign workloads must not. Each
test asserts the verdict with a generous deadline and never a latency:
`make bench` measures time to detect.
"""
import os
import shutil
import socket
import subprocess
import sys
import threading
import time

from conftest import TOOLS, validate_ocsf, wait_for

MINER_DEADLINE = 90


def first_line_pid(procs, p):
    line = wait_for(lambda: procs.output(p).split("\n", 1)[0], 10, what="the tool's pid line")
    assert line.startswith("pid="), line
    return int(line.split("=", 1)[1])


def start_pool(procs, tmp, *extra, name="pool"):
    port_file = os.path.join(tmp, f"{name}.port")
    procs.start("poolsim", "--port-file", port_file, "--job-interval", 2, "--duration", 300,
                "--quiet", *extra)
    wait_for(lambda: os.path.exists(port_file), 10, what="the pool simulator")
    with open(port_file) as f:
        return int(f.read())


def reported(sensor, pid, deadline=MINER_DEADLINE):
    return wait_for(lambda: [f for f in sensor.findings_for(pid) if f["severity_id"] >= 3],
                    deadline, what=f"a finding of severity >= 3 for pid {pid}")


def never_reported(sensor, pids, seconds):
    """Watches for `seconds` (bounded) and fails on any finding for pids."""
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        hits = [f for pid in pids for f in sensor.findings_for(pid)]
        assert not hits, hits[0]["finding_info"]["desc"]
        time.sleep(1)


# --- miners -----------------------------------------------------------------

def test_tls_miner_is_reported_on_behaviour_alone(sensor, procs, tmp):
    port = start_pool(procs, tmp, "--tls")
    p = procs.start("minersim", "--pool", f"127.0.0.1:{port}", "--proto", "xmrig", "--tls",
                    "--threads", 2, "--duration", 150, "--submit-interval", 3)
    pid = first_line_pid(procs, p)
    f = reported(sensor, pid)[0]
    assert "protocol" not in f["unmapped"]
    assert f["unmapped"]["connection"]["stream"] == "tls"
    assert f["unmapped"]["connection"]["pool_like"] is True
    assert f["unmapped"]["connection"]["server_pushes"] >= 1
    assert f["unmapped"]["cpu"]["saturated"] is True
    validate_ocsf(sensor.output)


def test_tls_miner_asking_for_a_listed_pool_name_is_high(sensor_factory, procs, tmp):
    names = os.path.join(tmp, "pools.txt")
    with open(names, "w") as f:
        f.write("# test pools\npool.test\n")
    s = sensor_factory(config=f"pool_names_file = {names}\n")
    port = start_pool(procs, tmp, "--tls")
    p = procs.start("minersim", "--pool", f"127.0.0.1:{port}", "--proto", "stratum", "--tls",
                    "--sni", "eu.pool.test", "--threads", 2, "--duration", 150,
                    "--submit-interval", 3)
    pid = first_line_pid(procs, p)
    f = wait_for(lambda: [x for x in s.findings_for(pid) if x["severity_id"] >= 4],
                 MINER_DEADLINE, what="a High finding")[0]
    assert f["unmapped"]["names"] == {"pool_name": "eu.pool.test", "seen_in": "sni"}
    assert "eu.pool.test" in f["finding_info"]["desc"]


def test_disguised_binary_run_from_tmp_and_deleted(sensor_factory, procs, tmp):
    s = sensor_factory(config="update_interval_seconds = 1\n")
    port = start_pool(procs, tmp)
    fake = os.path.join("/tmp", f".mw-test-{os.getpid()}-dbus-helper")
    shutil.copy(os.path.join(TOOLS, "minersim"), fake)
    def disguised():
        try:
            with open(f"/proc/{p.pid}/cmdline", "rb") as f:
                return f.read().startswith(b"[kworker/0:2]")
        except OSError:
            return False
    try:
        p = procs.start_cmd([fake, "--pool", f"127.0.0.1:{port}", "--proto", "xmrig",
                             "--threads", "1", "--duration", "90", "--submit-interval", "2",
                             "--comm", "kworker/0:2", "--argv0", "[kworker/0:2]",
                             "--args-disguise"])
        # Delete the binary once it has re-executed under its disguise.
        wait_for(disguised, 10, what="the miner to disguise itself")
    finally:
        os.unlink(fake)
    pid = p.pid
    f = reported(s, pid)[0]
    proc = f["evidences"][0]["process"]
    assert proc["name"] == "kworker/0:2"
    # The arguments were captured at exec, before the process wiped them.
    assert proc["cmd_line"].startswith("[kworker/0:2]")
    assert "--pool" in proc["cmd_line"]
    # Once the file is gone an Update says so.
    g = wait_for(lambda: [x for x in s.findings_for(pid)
                          if x["unmapped"]["exec"]["deleted"]], MINER_DEADLINE,
                 what="an update naming the deleted binary")[0]
    assert g["unmapped"]["exec"]["temp_path"] is True
    assert g["finding_info"]["uid"] == f["finding_info"]["uid"]
    validate_ocsf(s.output)


def test_single_thread_miner(sensor, procs, tmp):
    port = start_pool(procs, tmp)
    p = procs.start("minersim", "--pool", f"127.0.0.1:{port}", "--proto", "stratum",
                    "--threads", 1, "--duration", 60, "--submit-interval", 3)
    reported(sensor, first_line_pid(procs, p))


def test_quarter_duty_cycle_miner(sensor, procs, tmp):
    port = start_pool(procs, tmp)
    p = procs.start("minersim", "--pool", f"127.0.0.1:{port}", "--proto", "xmrig",
                    "--threads", 1, "--duty", 25, "--duration", 60, "--submit-interval", 3)
    f = reported(sensor, first_line_pid(procs, p))[0]
    assert f["unmapped"]["protocol"]["name"] == "xmrig-jsonrpc"


def test_throttled_tls_miner_stands_out_by_its_steadiness(sensor, procs, tmp):
    """One thread at a 25% duty cycle behind TLS: no protocol, far from saturating
    a core, but steadier than any interactive or batch load."""
    port = start_pool(procs, tmp, "--tls")
    p = procs.start("minersim", "--pool", f"127.0.0.1:{port}", "--proto", "xmrig", "--tls",
                    "--sni", "api.example.net", "--threads", 1, "--duty", 25,
                    "--duration", 150, "--submit-interval", 3)
    f = reported(sensor, first_line_pid(procs, p))[0]
    cpu = f["unmapped"]["cpu"]
    assert cpu["saturated"] is False and cpu["steady"] is True
    assert 0.1 < cpu["steady_cores"] < 0.5
    assert f["unmapped"]["connection"]["pool_like"] is True


def test_miner_reconnecting_after_pool_restart_stays_reported(sensor, procs, tmp):
    port_file = os.path.join(tmp, "r.port")
    pool = procs.start("poolsim", "--port-file", port_file, "--job-interval", 2,
                       "--duration", 300, "--quiet")
    wait_for(lambda: os.path.exists(port_file), 10, what="the pool")
    with open(port_file) as f:
        port = int(f.read())
    p = procs.start("minersim", "--pool", f"127.0.0.1:{port}", "--proto", "stratum",
                    "--threads", 1, "--duration", 90, "--submit-interval", 2)
    pid = first_line_pid(procs, p)
    first = reported(sensor, pid)[0]
    pool.terminate()
    pool.wait(timeout=10)
    procs.start("poolsim", "--port", port, "--job-interval", 2, "--duration", 300, "--quiet")
    wait_for(lambda: procs.output(p).count("login_sent_ns=") >= 2, 30,
             what="the miner to log in again")
    st = wait_for(lambda: (lambda s: s if s["counters"]["close"] >= 1 else None)(
        sensor.status()), 10, what="the old connection's close")
    assert any(x["pid"] == pid for x in st["findings"])
    assert not [x for x in sensor.findings_for(pid) if x["activity_id"] == 3]
    assert all(x["finding_info"]["uid"] == first["finding_info"]["uid"]
               for x in sensor.findings_for(pid))


def test_miner_behind_a_local_proxy(sensor, procs, tmp):
    port = start_pool(procs, tmp)
    relay_file = os.path.join(tmp, "relay.port")
    procs.start("tcprelay", "--listen-port", 0, "--port-file", relay_file, "--to",
                f"127.0.0.1:{port}", "--duration", 120)
    wait_for(lambda: os.path.exists(relay_file), 10, what="the relay")
    with open(relay_file) as f:
        relay = int(f.read())
    p = procs.start("minersim", "--pool", f"127.0.0.1:{relay}", "--proto", "xmrig",
                    "--threads", 1, "--duration", 60, "--submit-interval", 2)
    pid = first_line_pid(procs, p)
    f = reported(sensor, pid)[0]
    ports = [e["dst_endpoint"]["port"] for e in f["evidences"] if "dst_endpoint" in e]
    assert relay in ports


# --- benign workloads ---------------------------------------------------------

BENIGN_WATCH = 50  # longer than long_connection_seconds (30) + the CPU window


def test_idle_connection_with_heartbeat_is_not_reported(sensor, procs, tmp):
    port_file = os.path.join(tmp, "hb.port")
    procs.start("heartbeat", "--serve", "--port-file", port_file, "--duration", 120)
    wait_for(lambda: os.path.exists(port_file), 10, what="the heartbeat server")
    with open(port_file) as f:
        port = int(f.read())
    p = procs.start("heartbeat", "--to", f"127.0.0.1:{port}", "--interval", 2,
                    "--duration", BENIGN_WATCH + 5)
    never_reported(sensor, [first_line_pid(procs, p)], BENIGN_WATCH)


def test_cpu_heavy_worker_polling_an_http_api_is_not_reported(sensor, procs, tmp):
    port_file = os.path.join(tmp, "api.port")
    procs.start("apipoll", "--serve", "--port-file", port_file, "--duration", 120)
    wait_for(lambda: os.path.exists(port_file), 10, what="the API server")
    with open(port_file) as f:
        port = int(f.read())
    p = procs.start("apipoll", "--url", f"127.0.0.1:{port}", "--threads", 2, "--interval", 2,
                    "--duration", BENIGN_WATCH + 5)
    pid = first_line_pid(procs, p)
    never_reported(sensor, [pid], BENIGN_WATCH)
    # It was looked at, and judged not to be a miner.
    assert sensor.status()["counters"]["connect"] >= 1


def write_big_c(path, functions=1500):
    with open(path, "w") as f:
        for i in range(functions):
            f.write(f"int f{i}(int x) {{ int s = 0; for (int k = 0; k < x; k++) "
                    f"s += (k * {i}) ^ (s >> 3); return s; }}\n")
        f.write("int main(void) { return f1(3); }\n")


def test_compile_while_a_download_runs_is_not_reported(sensor, procs, tmp):
    port_file = os.path.join(tmp, "mirror.port")
    procs.start("bulkserve", "--port-file", port_file, "--size", 400, "--rate", 8,
                "--duration", 120)
    wait_for(lambda: os.path.exists(port_file), 10, what="the package mirror")
    with open(port_file) as f:
        port = int(f.read())
    dl = procs.start("bulkserve", "--fetch", f"127.0.0.1:{port}")
    src = os.path.join(tmp, "big.c")
    write_big_c(src)
    cc = shutil.which("gcc") or shutil.which("cc")
    pids = [first_line_pid(procs, dl)]
    deadline = time.monotonic() + BENIGN_WATCH
    while time.monotonic() < deadline:  # compile again and again, like a build
        c = procs.start_cmd([cc, "-O2", "-c", src, "-o", os.path.join(tmp, "big.o")])
        pids.append(c.pid)
        c.wait(timeout=120)
        never_reported(sensor, pids, 1)
    never_reported(sensor, pids, 5)


SSH_SERVER_BANNER = b"SSH-2.0-OpenSSH_9.2p1 Debian-2\r\n"


def test_interactive_ssh_like_session_is_not_reported(sensor, procs, tmp):
    srv = socket.socket()
    srv.bind(("127.0.0.1", 0))
    srv.listen()
    stop = threading.Event()

    def serve():
        conn, _ = srv.accept()
        conn.settimeout(0.5)
        conn.sendall(SSH_SERVER_BANNER)
        while not stop.is_set():
            try:
                data = conn.recv(4096)
                if not data:
                    break
                conn.sendall(data)  # echo, like a remote shell
            except socket.timeout:
                pass
            except OSError:
                break
        conn.close()
    threading.Thread(target=serve, daemon=True).start()
    client = r"""
import random, socket, sys, time
s = socket.create_connection(("127.0.0.1", int(sys.argv[1])))
s.recv(256)
s.sendall(b"SSH-2.0-OpenSSH_9.2p1\r\n")
end = time.monotonic() + float(sys.argv[2])
while time.monotonic() < end:
    time.sleep(random.uniform(0.1, 1.5))   # a person typing
    s.sendall(bytes(random.randint(36, 80)))
    s.recv(4096)
"""
    try:
        c = procs.start_cmd([sys.executable, "-c", client, str(srv.getsockname()[1]),
                             str(BENIGN_WATCH + 5)])
        never_reported(sensor, [c.pid], BENIGN_WATCH)
    finally:
        stop.set()
        srv.close()


# --- names and suppression ------------------------------------------------------

def test_dns_query_for_a_listed_pool_name_is_a_signal(sensor_factory, procs, tmp):
    """The miner resolves its pool through a resolver in a network namespace of
    the test's own: the query is captured on egress and matched to the list."""
    names = os.path.join(tmp, "pools.txt")
    with open(names, "w") as f:
        f.write("pool.test\n")
    s = sensor_factory(config=f"pool_names_file = {names}\n")
    ns = f"mwtest{os.getpid()}"
    subprocess.run(["ip", "netns", "add", ns], check=True)
    try:
        subprocess.run(["ip", "netns", "exec", ns, "ip", "link", "set", "lo", "up"],
                       check=True)
        dns_file = os.path.join(tmp, "dns.port")
        pool_file = os.path.join(tmp, "nspool.port")
        inns = ["ip", "netns", "exec", ns]
        procs.start_cmd(inns + [os.path.join(TOOLS, "dnsq"), "--serve", "--port", "53",
                                "--port-file", dns_file, "--duration", "120"])
        procs.start_cmd(inns + [os.path.join(TOOLS, "poolsim"), "--tls", "--port-file",
                                pool_file, "--job-interval", "2", "--duration", "120",
                                "--quiet"])
        wait_for(lambda: os.path.exists(dns_file) and os.path.exists(pool_file), 10,
                 what="the resolver and the pool in the namespace")
        with open(pool_file) as f:
            port = int(f.read())
        m = procs.start_cmd(inns + [os.path.join(TOOLS, "minersim"), "--pool",
                                    f"127.0.0.1:{port}", "--proto", "xmrig", "--tls",
                                    "--sni", "api.example.net", "--resolve",
                                    "xmr.pool.test", "--dns", "127.0.0.1:53", "--threads",
                                    "2", "--duration", "90", "--submit-interval", "3"])
        # `ip netns exec` execs the miner in place: same pid.
        f = wait_for(lambda: [x for x in s.findings_for(m.pid) if "names" in x["unmapped"]],
                     MINER_DEADLINE, what="a finding naming the pool from DNS")[0]
        assert f["unmapped"]["names"] == {"pool_name": "xmr.pool.test", "seen_in": "dns"}
        assert s.status()["counters"]["dns"] >= 1
    finally:
        procs.stop_all()
        subprocess.run(["ip", "netns", "delete", ns], check=False)


def test_suppressed_miner_writes_no_finding_but_shows_in_status(sensor_factory, procs, tmp):
    rules = os.path.join(tmp, "suppress.conf")
    with open(rules, "w") as f:
        f.write(f"# lab box\npath {os.path.join(TOOLS, 'minersim')}\n")
    s = sensor_factory(config=f"suppress_file = {rules}\n")
    port = start_pool(procs, tmp)
    p = procs.start("minersim", "--pool", f"127.0.0.1:{port}", "--proto", "stratum",
                    "--threads", 1, "--duration", 60, "--submit-interval", 2)
    pid = first_line_pid(procs, p)
    st = wait_for(lambda: (lambda x: x if any(y["pid"] == pid for y in x["suppressed"])
                           else None)(s.status()), MINER_DEADLINE,
                  what="the miner listed as suppressed")
    entry = [y for y in st["suppressed"] if y["pid"] == pid][0]
    assert entry["suppressed_by"].startswith("path ")
    assert entry["severity_id"] >= 3
    assert s.findings_for(pid) == []
    assert not any(y["pid"] == pid for y in st["findings"])
