# SPDX-License-Identifier: Apache-2.0
"""Missing pieces of the environment: tracefs, bpffs, BTF, capabilities, procfs.

Each piece is taken away from the daemon alone, never from the host: mounts
change only inside a private mount namespace made for the daemon
(`unshare --mount --propagation private`), and capabilities are dropped
from the daemon's bounding set with `capsh --drop` (a root process's
effective set after exec is its bounding set). Each wrapper first checks
that the piece really is gone and exits NOT_REMOVED when it is not, so a
test cannot pass without its case having happened.

What the daemon must do for each (SPEC 4 exit codes; SPEC 10: never a
hang, never a crash):
  - a piece it needs and cannot work without (kernel BTF, a usable --btf
    file, CAP_BPF / CAP_PERFMON / CAP_NET_ADMIN or CAP_SYS_ADMIN in their
    stead, procfs): exit 2, with a message naming the piece and what to do;
  - a piece some programs need (the cgroup v2 hierarchy): run degraded,
    status naming it;
  - a piece that costs detail, not detection (CAP_SYS_PTRACE for other
    users' /proc/PID/exe, an unreadable /proc/sys entry): run, warn on
    stderr and in status, and keep tracking and reporting processes;
  - a piece it does not use (tracefs, debugfs, bpffs: the hooks are tp_btf
    or raw tracepoints, a perf event and cgroup programs, nothing is
    pinned): run healthy.
Every run has a deadline (subprocess timeouts, bounded polls), and a
negative return code (killed by a signal: a crash) fails the test.
"""
import os
import shutil
import subprocess

import pytest

from conftest import CLOSED_URL, DAEMON, TOOLS, Sensor, safe_env, wait_for

UNSHARE = shutil.which("unshare")
CAPSH = shutil.which("capsh")
NOBODY = 65534
NOT_REMOVED = 97    # a wrapper's own check failed: the piece is still there
EXIT_TIMEOUT = 60   # a daemon that must stop does so long before this
READY_TIMEOUT = 30
FINDING_TIMEOUT = 60

CAP = {"cap_dac_override": 1, "cap_dac_read_search": 2, "cap_net_admin": 12,
       "cap_sys_ptrace": 19, "cap_sys_admin": 21, "cap_perfmon": 38, "cap_bpf": 39}
EXPECTED_PROGRAMS = {"exec", "exit", "cpu_sample", "connect4", "connect6", "sendmsg4",
                     "sendmsg6", "skb_egress", "skb_ingress", "sock_close"}
CGROUP_PROGRAMS = {"connect4", "connect6", "sendmsg4", "sendmsg6", "skb_egress",
                   "skb_ingress"}


@pytest.fixture(scope="module", autouse=True)
def _tools():
    missing = [n for n, p in (("unshare", UNSHARE), ("capsh", CAPSH)) if not p]
    if missing:
        pytest.fail(f"{', '.join(missing)} missing: run tools/install-deps.sh "
                    "(util-linux, libcap2-bin)")


# --- wrappers -------------------------------------------------------------

def private_mounts(setup):
    """argv prefix: runs the command in a new mount namespace, after `setup`
    (shell lines, run with sh -e) has changed that namespace's mounts."""
    return [UNSHARE, "--mount", "--propagation", "private", "--",
            "sh", "-ec", setup + '\nexec "$@"', "sh"]


def unmount_fstypes(*fstypes):
    """Shell lines that unmount every mount of the given file-system types
    (in the private namespace only) and check that none is left."""
    alt = "|".join(fstypes)
    return (
        "awk '{for (i = 7; i <= NF; i++) if ($i == \"-\") { "
        f"if ($(i + 1) ~ /^({alt})$/) print $5; break }}}}' /proc/self/mountinfo |\n"
        "  sort -r | while read -r m; do umount -l \"$m\"; done\n"
        f"! grep -Eq ' - ({alt}) ' /proc/self/mountinfo || exit {NOT_REMOVED}")


NO_KERNEL_BTF = ("mount -t tmpfs -o ro,size=4k nobtf /sys/kernel/btf\n"
                 f"test ! -e /sys/kernel/btf/vmlinux || exit {NOT_REMOVED}")


def dropped_caps(caps):
    """argv prefix: runs the command without caps in its bounding (hence
    effective) set. The shell first prints the capability sets a process
    exec'd from it gets, for the test to check."""
    return [CAPSH, "--drop=" + ",".join(caps), "--",
            "-c", 'grep -E "^Cap(Eff|Bnd):" /proc/self/status >&2; exec "$@"', "sh"]


def caps_of(text, field):
    """A capability mask from "CapEff:\\t..." lines in text."""
    for line in text.splitlines():
        if line.startswith(field + ":"):
            return int(line.split(":", 1)[1].strip(), 16)
    raise AssertionError(f"no {field} line in:\n{text}")


# --- running the daemon ---------------------------------------------------

def daemon_args(tmp, *extra):
    conf = os.path.join(tmp, "empty.conf")
    with open(conf, "w"):
        pass
    return [DAEMON, "-c", conf, "-o", os.path.join(tmp, "findings.jsonl"),
            "-s", os.path.join(tmp, "run", "minerwatch.sock"),
            "--state-dir", os.path.join(tmp, "state"), "--ecs-agent-url", CLOSED_URL, *extra]


def run_to_exit(tmp, wrapper, *extra):
    """Runs a daemon that must stop by itself; a hang fails (TimeoutExpired)."""
    args = daemon_args(tmp, *extra)
    r = subprocess.run(wrapper + args, capture_output=True, text=True, timeout=EXIT_TIMEOUT,
                       env=safe_env())
    assert r.returncode != NOT_REMOVED, f"the piece was not taken away:\n{r.stderr}"
    assert r.returncode >= 0, f"minerwatchd died of signal {-r.returncode}:\n{r.stderr}"
    # Nothing left behind for the next start to trip over.
    assert not os.path.exists(args[args.index("-s") + 1])
    return r


def assert_environment_error(r, *words):
    """Exit 2, with one error line that names the piece (words) and says what to do."""
    assert r.returncode == 2, f"exit {r.returncode}:\n{r.stderr}"
    errors = [ln for ln in r.stderr.splitlines() if " error: " in ln]
    assert errors, r.stderr
    msg = errors[-1]
    for w in words:
        assert w in msg, f"{w!r} not in the error: {msg}"
    return msg


@pytest.fixture
def launch(tmp):
    """Starts minerwatchd under a wrapper; waits until it has finished starting
    (healthy or degraded); stops it at teardown."""
    started = []

    def start(wrapper, config="", extra_args=()):
        d = os.path.join(tmp, f"sensor-{len(started)}")
        os.makedirs(d)
        s = Sensor(d, config, extra_args)
        s.args = wrapper + s.args
        started.append(s)
        s.start(wait_healthy=False)

        def started_up():
            if s.proc.poll() is not None:
                raise AssertionError(f"minerwatchd exited with {s.proc.returncode}:\n"
                                     + s.log())
            st = s.status(check=False)
            return st if st and st["state"] != "starting" else None
        wait_for(started_up, READY_TIMEOUT, what="minerwatchd to finish starting")
        return s

    yield start
    for s in started:
        s.stop()


def stop_cleanly(s):
    rc = s.stop()
    assert rc == 0, f"exit {rc} on SIGTERM:\n{s.log()}"


def mountinfo_fstypes(pid):
    with open(f"/proc/{pid}/mountinfo") as f:
        return {ln.split(" - ", 1)[1].split()[0] for ln in f if " - " in ln}


def exec_is_seen(s):
    before = s.status()["counters"]["exec"]
    subprocess.run(["/bin/true"], check=True)
    wait_for(lambda: s.status()["counters"]["exec"] > before, 15,
             what="an exec to be counted")


# --- pieces the sensor does not use -----------------------------------------

@pytest.mark.parametrize("piece,fstypes,hooks", [
    ("tracefs", ("tracefs", "debugfs"), "auto"),
    ("tracefs", ("tracefs", "debugfs"), "raw_tp"),
    ("bpffs", ("bpf",), "auto"),
])
def test_unused_pieces_are_not_needed(launch, piece, fstypes, hooks):
    """No tracefs, debugfs or bpffs: every hook attaches and events flow."""
    s = launch(private_mounts(unmount_fstypes(*fstypes)), config=f"hooks = {hooks}\n")
    assert not mountinfo_fstypes(s.proc.pid) & set(fstypes), "still mounted for the daemon"
    st = s.status()
    assert st["state"] == "healthy", st.get("reasons")
    progs = {p["name"]: p for p in st["programs"]}
    assert set(progs) == EXPECTED_PROGRAMS
    assert all(p["attached"] for p in progs.values()), progs
    want = "tp_btf/" if hooks == "auto" else "raw_tp/"
    assert progs["exec"]["hook"].startswith(want), progs["exec"]
    assert st["warnings"] == []
    exec_is_seen(s)
    stop_cleanly(s)


# --- BTF ----------------------------------------------------------------------

def test_no_kernel_btf_exits_2_naming_btf_and_the_fix(tmp):
    r = run_to_exit(tmp, private_mounts(NO_KERNEL_BTF))
    assert_environment_error(r, "/sys/kernel/btf/vmlinux", "CONFIG_DEBUG_INFO_BTF=y",
                             "--btf FILE")


def test_btf_file_stands_in_for_missing_kernel_btf(launch, tmp):
    """The fix the message gives works: --btf with this kernel's BTF."""
    btf = os.path.join(tmp, "vmlinux.btf")
    shutil.copyfile("/sys/kernel/btf/vmlinux", btf)
    s = launch(private_mounts(NO_KERNEL_BTF), extra_args=("--btf", btf))
    st = s.status()
    assert st["state"] == "healthy", st.get("reasons")
    assert st["btf"] == btf
    progs = {p["name"]: p for p in st["programs"]}
    assert all(p["attached"] for p in progs.values()), progs
    # tp_btf attaches through the kernel's own BTF: with a file, raw tracepoints.
    assert progs["exec"]["hook"] == "raw_tp/sched_process_exec"
    exec_is_seen(s)
    stop_cleanly(s)


@pytest.mark.parametrize("kind", ["text", "empty", "truncated", "fifo"])
def test_unusable_btf_file_exits_2_naming_the_file(tmp, kind):
    """A --btf file that is not a kernel's BTF; a FIFO (nobody writing) must
    not hang the start."""
    path = os.path.join(tmp, f"{kind}.btf")
    if kind == "fifo":
        os.mkfifo(path)
    else:
        with open(path, "wb") as f:
            if kind == "text":
                f.write(b"this is not BTF\n")
            elif kind == "truncated":
                with open("/sys/kernel/btf/vmlinux", "rb") as k:
                    f.write(k.read(64 * 1024))
    r = run_to_exit(tmp, private_mounts(NO_KERNEL_BTF), "--btf", path)
    msg = assert_environment_error(r, f"BTF file {path} is not usable", "--btf",
                                   os.uname().release)
    # Not libbpf's bare error number.
    assert "Unknown error" not in msg and "skeleton" not in msg, msg


# --- capabilities -------------------------------------------------------------

@pytest.mark.parametrize("drop,named", [
    (("cap_bpf", "cap_sys_admin"), ("CAP_BPF",)),
    (("cap_perfmon", "cap_sys_admin"), ("CAP_PERFMON",)),
    (("cap_net_admin", "cap_sys_admin"), ("CAP_NET_ADMIN",)),
    (("cap_bpf", "cap_perfmon", "cap_sys_admin"), ("CAP_BPF", "CAP_PERFMON")),
])
def test_missing_capability_exits_2_naming_it(tmp, drop, named):
    r = run_to_exit(tmp, dropped_caps(drop))
    for c in drop:
        assert not caps_of(r.stderr, "CapEff") & (1 << CAP[c]), f"{c} still effective"
        assert not caps_of(r.stderr, "CapBnd") & (1 << CAP[c]), f"{c} still in the bounding set"
    msg = assert_environment_error(r, "missing capabilit", *named)
    # Only what is missing is named as missing; the advice names what to grant.
    missing_part = msg.split("missing capabilit", 1)[1].split(": run ", 1)[0]
    for c in {"CAP_BPF", "CAP_PERFMON", "CAP_NET_ADMIN"} - set(named):
        assert c not in missing_part, msg
    assert "run minerwatchd as root" in msg and "CAP_SYS_ADMIN" in msg, msg
    # Refused before loading: no misleading memlock hint, no second attempt.
    assert "ulimit" not in r.stderr and "retrying" not in r.stderr, r.stderr


@pytest.mark.parametrize("drop,kept", [
    # The systemd unit's set: CAP_BPF, CAP_PERFMON and CAP_NET_ADMIN suffice.
    (("cap_sys_admin",), "cap_bpf"),
    # ECS cannot grant CAP_BPF or CAP_PERFMON: CAP_SYS_ADMIN stands in for all three.
    (("cap_bpf", "cap_perfmon", "cap_net_admin"), "cap_sys_admin"),
])
def test_either_capability_set_is_enough(launch, drop, kept):
    s = launch(dropped_caps(drop))
    with open(f"/proc/{s.proc.pid}/status") as f:
        bnd = caps_of(f.read(), "CapBnd")
    assert not any(bnd & (1 << CAP[c]) for c in drop), hex(bnd)
    st = s.status()
    assert st["state"] == "healthy", st.get("reasons")
    assert all(p["attached"] for p in st["programs"]), st["programs"]
    assert kept in st["privileges"]["capabilities"]
    assert not set(drop) & set(st["privileges"]["capabilities"])
    assert st["warnings"] == []
    exec_is_seen(s)
    stop_cleanly(s)


# --- procfs -------------------------------------------------------------------

@pytest.mark.skipif(bool(os.environ.get("MW_SANITIZED")),
                    reason="the sanitizer runtime needs /proc at exit (LeakSanitizer fails "
                           "and sets the exit status); make test covers this case")
def test_no_procfs_exits_2(tmp):
    r = run_to_exit(tmp, private_mounts(
        "mount -t tmpfs -o size=4k noproc /proc\n"
        f"test ! -e /proc/self/status || exit {NOT_REMOVED}"))
    assert_environment_error(r, "no procfs at /proc", "mount -t proc proc /proc")


def test_container_mode_without_the_hosts_proc_exits_2(tmp):
    host = os.path.join(tmp, "host")
    os.makedirs(os.path.join(host, "proc"))
    r = run_to_exit(tmp, [], "--host-root", host)
    assert_environment_error(r, f"no procfs at {host}/proc",
                             f"mount the host's /proc at {host}/proc")


def test_unreadable_proc_sys_entry_is_a_warning(launch):
    """procfs mounted with subset=pid: /proc/PID is there, /proc/sys is not.
    The boot id cannot be read: the daemon runs, says so, and names the fix."""
    s = launch(private_mounts(
        "mount -t proc -o subset=pid proc /proc\n"
        f"test ! -e /proc/sys/kernel/random/boot_id || exit {NOT_REMOVED}"))
    st = s.status()
    assert st["state"] == "healthy", st.get("reasons")
    w = [x for x in st["warnings"] if "boot_id" in x]
    assert w and "subset=pid" in w[0], st["warnings"]
    assert "boot_id" in s.log()
    assert st["tracked"]["scanned_processes"] > 0  # /proc/PID still read
    r = s.cli("status")
    assert r.returncode == 0 and "warning: cannot read /proc/sys/kernel/random/boot_id" \
        in r.stdout, r.stdout
    exec_is_seen(s)
    stop_cleanly(s)


def test_unreadable_proc_exe_of_another_user(launch, procs, pool):
    """Without CAP_SYS_PTRACE, /proc/PID/exe of another user's process cannot
    be read (the container case where the capability was not granted). The
    daemon keeps running, says which capability is missing, and still reports
    the miner, with what it could read (path, user) and without the hash."""
    s = launch(dropped_caps(("cap_sys_ptrace",)))
    st = s.status()
    assert st["state"] == "healthy", st.get("reasons")
    w = [x for x in st["warnings"] if "CAP_SYS_PTRACE" in x]
    assert w and "grant CAP_SYS_PTRACE" in w[0], st["warnings"]
    assert "CAP_SYS_PTRACE is missing" in s.log()
    assert "cap_sys_ptrace" not in st["privileges"]["capabilities"]

    p = procs.start("minersim", "--pool", f"127.0.0.1:{pool}", "--proto", "xmrig",
                    "--threads", 1, "--duration", 90, "--submit-interval", 2,
                    user=NOBODY, group=NOBODY)
    pid = int(wait_for(lambda: procs.output(p).split("\n", 1)[0], 10,
                       what="minersim's pid").split("=", 1)[1])
    # The entry really is unreadable with the daemon's capabilities, and
    # readable with the test's own: the capability is what makes the difference.
    probe = subprocess.run(dropped_caps(("cap_sys_ptrace",)) + ["readlink", "-v", f"/proc/{pid}/exe"],
                           capture_output=True, text=True, timeout=15)
    assert probe.returncode != 0 and "Permission denied" in probe.stderr, probe
    assert os.readlink(f"/proc/{pid}/exe") == os.path.join(TOOLS, "minersim")

    f = wait_for(lambda: s.findings_for(pid), FINDING_TIMEOUT, interval=0.2,
                 what=f"a finding for pid {pid}")[0]
    proc = f["evidences"][0]["process"]
    assert proc["file"]["path"] == os.path.join(TOOLS, "minersim")
    assert proc["user"]["uid"] == str(NOBODY)
    assert "hashes" not in proc["file"], proc["file"]
    assert s.proc.poll() is None
    assert any(x["pid"] == pid for x in s.status()["findings"])
    stop_cleanly(s)


# --- cgroup v2: some programs cannot attach -----------------------------------

def test_no_cgroup2_runs_degraded_naming_it(launch):
    s = launch(private_mounts(unmount_fstypes("cgroup2")))
    assert "cgroup2" not in mountinfo_fstypes(s.proc.pid)
    st = s.status()
    assert st["state"] == "degraded"
    assert "no cgroup v2 hierarchy found: mount cgroup2 or set cgroup_root" in st["reasons"]
    progs = {p["name"]: p for p in st["programs"]}
    assert {n for n, p in progs.items() if not p["attached"]} == CGROUP_PROGRAMS
    r = s.cli("status")
    assert "degraded" in r.stdout.splitlines()[0], r.stdout
    # The rest works: execs are still seen.
    exec_is_seen(s)
    stop_cleanly(s)


def test_missing_cgroup_root_runs_degraded_naming_the_path(launch, tmp):
    missing = os.path.join(tmp, "no-such-cgroup")
    s = launch([], config=f"cgroup_root = {missing}\n")
    st = s.status()
    assert st["state"] == "degraded"
    assert f"cannot open the cgroup v2 root {missing}" in st["reasons"], st["reasons"]
    assert "set cgroup_root" in st["reasons"]
    progs = {p["name"]: p for p in st["programs"]}
    assert {n for n, p in progs.items() if not p["attached"]} == CGROUP_PROGRAMS
    stop_cleanly(s)
