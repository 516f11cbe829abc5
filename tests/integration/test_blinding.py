# SPDX-License-Identifier: Apache-2.0
"""Blinding the sensor from outside: its hooks taken away while it keeps
running. The daemon's self-check (user/daemon/selfcheck.h) must notice within
seconds, turn status degraded with a reason naming the hook, and write an
OCSF health record; a sensor left alone must stay healthy and write none.

How each hook can be taken away on this kernel (6.18), all done here to the
test's own daemon only (its links are found through /proc/PID/fdinfo):
  - cgroup links (connect4/6, sendmsg4/6, skb egress/ingress):
    `bpftool link detach id N`; the link then reports cgroup id 0;
  - tracepoint links (exec, exit, sock_close) and perf-event links (the CPU
    sampler): `bpftool link detach` is refused (EOPNOTSUPP), so they are taken
    away the way an attacker with root would: their descriptor is closed
    inside the daemon through ptrace (x86_64 only here);
  - the sampler's perf events: disabled through a copy of their descriptors
    (pidfd_getfd + PERF_EVENT_IOC_DISABLE), and enabled again.
"""
import ctypes
import json
import os
import platform
import subprocess
import time

import pytest

from conftest import validate_ocsf, wait_for

# A round every 5 s, judged on the next 1 s tick: 30 s leaves room for a
# machine loaded by a concurrent test run.
NOTICE_S = 30

# attach_type numbers of cgroup links in fdinfo (enum bpf_attach_type).
CGROUP_PROGS = {0: "skb_ingress", 1: "skb_egress", 10: "connect4", 11: "connect6",
                14: "sendmsg4", 15: "sendmsg6"}
TRACEPOINT_PROGS = {"sched_process_exec": "exec", "sched_process_exit": "exit",
                    "tcp_destroy_sock": "sock_close"}


def daemon_links(pid):
    """The BPF links the daemon holds, from /proc/PID/fdinfo: only its own."""
    links = []
    for fd in os.listdir(f"/proc/{pid}/fdinfo"):
        try:
            with open(f"/proc/{pid}/fdinfo/{fd}") as f:
                info = dict(line.rstrip("\n").split(":\t", 1) for line in f if ":\t" in line)
        except OSError:
            continue
        if "link_id" not in info:
            continue
        kind = info.get("link_type")
        prog = None
        if kind == "cgroup":
            prog = CGROUP_PROGS.get(int(info["attach_type"]))
        elif kind == "raw_tracepoint":
            prog = TRACEPOINT_PROGS.get(info.get("tp_name"))
        elif kind == "perf":
            prog = "cpu_sample"
        links.append({"fd": int(fd), "id": int(info["link_id"]), "type": kind, "prog": prog})
    return links


def link_of(pid, prog):
    found = [lk for lk in daemon_links(pid) if lk["prog"] == prog]
    assert found, f"no {prog} link among the daemon's links: {daemon_links(pid)}"
    return found[0]


def bpftool_link(link_id):
    out = subprocess.run(["bpftool", "-j", "link", "show", "id", str(link_id)],
                         capture_output=True, text=True)
    return json.loads(out.stdout) if out.returncode == 0 else None


def self_check(sensor, prog):
    st = sensor.status()
    return next(p for p in st["programs"] if p["name"] == prog)["self_check"]


def wait_not_firing(sensor, prog, since):
    """Waits for status to name prog as not firing; returns (status, seconds taken)."""
    def named():
        st = sensor.status(check=False)
        if st and st["state"] == "degraded" and f"{prog} hook not firing" in st.get("reasons", ""):
            return st
        return None
    st = wait_for(named, NOTICE_S, interval=0.1, what=f"status to say the {prog} hook is not firing")
    return st, time.monotonic() - since


def blinding_records(sensor):
    return [r for r in sensor.health_records()
            if r["unmapped"]["health"]["kind"] == "hooks_not_firing"]


def check_record(sensor, prog):
    recs = wait_for(lambda: [r for r in blinding_records(sensor)
                             if prog in [h["name"] for h in r["unmapped"]["health"]["hooks"]]],
                    10, what=f"a health record naming the {prog} hook")
    r = recs[0]
    assert r["class_uid"] == 6008 and r["activity_id"] == 1 and r["severity_id"] == 4
    assert "detection is impaired" in r["message"] and prog in r["message"]
    hook = next(h for h in r["unmapped"]["health"]["hooks"] if h["name"] == prog)
    assert hook["why"] and hook["since_time"] > 0
    validate_ocsf(sensor.output)
    return r


# --- ptrace: close a descriptor inside the daemon, as an attacker with root could ---

PTRACE_PEEKTEXT, PTRACE_SINGLESTEP, PTRACE_GETREGS, PTRACE_SETREGS = 1, 9, 12, 13
PTRACE_DETACH, PTRACE_SEIZE, PTRACE_INTERRUPT = 17, 0x4206, 0x4207
WALL = 0x40000000
SYS_CLOSE_X86_64 = 3
SYSCALL_INSN = 0x050f  # "syscall", little endian


class _Regs(ctypes.Structure):
    _fields_ = [(n, ctypes.c_ulonglong) for n in (
        "r15 r14 r13 r12 rbp rbx r11 r10 r9 r8 rax rcx rdx rsi rdi orig_rax rip cs eflags "
        "rsp ss fs_base gs_base ds es fs gs").split()]


_libc = ctypes.CDLL(None, use_errno=True)
_libc.ptrace.restype = ctypes.c_long
_libc.ptrace.argtypes = [ctypes.c_long, ctypes.c_long, ctypes.c_void_p, ctypes.c_void_p]
_libc.syscall.restype = ctypes.c_long


def _ptrace(req, pid, addr=0, data=0):
    ctypes.set_errno(0)
    r = _libc.ptrace(req, pid, ctypes.c_void_p(addr), ctypes.c_void_p(data))
    if r == -1 and ctypes.get_errno():
        raise OSError(ctypes.get_errno(), f"ptrace({req})")
    return r


def _close_once(pid, fd):
    """Stops the daemon's main thread; if it sits right after a syscall
    instruction (epoll_wait, nearly always), runs close(fd) there and puts
    everything back. Returns close()'s result, or None to try again."""
    _ptrace(PTRACE_SEIZE, pid)
    try:
        _ptrace(PTRACE_INTERRUPT, pid)
        os.waitpid(pid, WALL)
        saved = _Regs()
        _ptrace(PTRACE_GETREGS, pid, 0, ctypes.addressof(saved))
        ctypes.set_errno(0)
        word = _libc.ptrace(PTRACE_PEEKTEXT, pid, ctypes.c_void_p(saved.rip - 2), None)
        if word & 0xffff != SYSCALL_INSN:
            return None
        regs = _Regs.from_buffer_copy(saved)
        # orig_rax -1: the kernel must not restart the interrupted call over ours.
        regs.rax, regs.rdi, regs.rip, regs.orig_rax = SYS_CLOSE_X86_64, fd, saved.rip - 2, 2**64 - 1
        _ptrace(PTRACE_SETREGS, pid, 0, ctypes.addressof(regs))
        _ptrace(PTRACE_SINGLESTEP, pid)
        os.waitpid(pid, WALL)
        out = _Regs()
        _ptrace(PTRACE_GETREGS, pid, 0, ctypes.addressof(out))
        _ptrace(PTRACE_SETREGS, pid, 0, ctypes.addressof(saved))
        return ctypes.c_longlong(out.rax).value
    finally:
        _ptrace(PTRACE_DETACH, pid)


def close_fd_inside(pid, fd):
    if platform.machine() != "x86_64":
        pytest.skip("the ptrace helper injects x86_64 syscalls only")
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        r = _close_once(pid, fd)
        if r is not None:
            assert r == 0, f"close({fd}) inside the daemon returned {r}"
            assert not os.path.exists(f"/proc/{pid}/fd/{fd}") or \
                "link_id" not in open(f"/proc/{pid}/fdinfo/{fd}").read()
            return
        time.sleep(0.05)
    raise AssertionError("the daemon's main thread was never stopped at a syscall")


# --- pidfd_getfd: a copy of one of the daemon's descriptors ---

SYS_PIDFD_GETFD = 438  # the same number on every architecture
PERF_EVENT_IOC_ENABLE, PERF_EVENT_IOC_DISABLE = 0x2400, 0x2401


def perf_fds(pid):
    fds = []
    for fd in os.listdir(f"/proc/{pid}/fd"):
        try:
            if os.readlink(f"/proc/{pid}/fd/{fd}") == "anon_inode:[perf_event]":
                fds.append(int(fd))
        except OSError:
            pass
    return fds


def copy_fds(pid, fds):
    pidfd = os.pidfd_open(pid)
    try:
        out = []
        for fd in fds:
            r = _libc.syscall(SYS_PIDFD_GETFD, pidfd, fd, 0)
            assert r >= 0, f"pidfd_getfd: errno {ctypes.get_errno()}"
            out.append(r)
        return out
    finally:
        os.close(pidfd)


def perf_ioctl(fds, req):
    import fcntl
    for fd in fds:
        fcntl.ioctl(fd, req, 0)


# --- the tests ---

def test_a_healthy_sensor_stays_healthy_and_writes_no_blinding_record(sensor):
    """Negative control: three rounds of canaries with nothing taken away."""
    states = []

    def rounds(n):
        st = sensor.status()
        states.append((st["state"], st.get("reasons")))
        return st if st["self_check"]["rounds"] >= n else None
    st = wait_for(lambda: rounds(3), 60, interval=0.5, what="three self-check rounds")
    bad = [s for s in states if s[0] != "healthy"]
    assert not bad, f"status left healthy during the self-check: {bad}"
    sc = st["self_check"]
    assert sc["interval_seconds"] == 5
    assert sc["failed_checks"] == 0 and sc["blinded"] == 0 and sc["not_firing"] == []
    assert sc["health_records"] == 0
    verdicts = {p["name"]: p["self_check"] for p in st["programs"]}
    # Every hook fired for its canary. IPv6 ones need ::1, which a host may lack.
    for prog in ("exec", "exit", "cpu_sample", "connect4", "sendmsg4", "skb_egress",
                 "skb_ingress", "sock_close"):
        assert verdicts[prog] == "ok", verdicts
    if os.path.exists("/proc/net/if_inet6") and "00000000000000000000000000000001" in \
            open("/proc/net/if_inet6").read():
        assert verdicts["connect6"] == "ok" and verdicts["sendmsg6"] == "ok", verdicts
    assert blinding_records(sensor) == []
    assert sensor.health_records() == []
    # The canaries are neither findings nor suspects.
    assert sensor.findings() == []
    f = json.loads(sensor.cli("findings", "--json").stdout)
    assert f["findings"] == [] and f["suspects"] == []
    assert "self-check" not in sensor.log().replace("self-check round", "")


def test_a_detached_connect_hook_is_noticed(sensor):
    link = link_of(sensor.proc.pid, "connect4")
    assert bpftool_link(link["id"])["cgroup_id"] != 0
    t0 = time.monotonic()
    r = subprocess.run(["bpftool", "link", "detach", "id", str(link["id"])],
                       capture_output=True, text=True)
    assert r.returncode == 0, r.stderr
    # What the kernel does with it: still a link, its cgroup gone.
    assert bpftool_link(link["id"])["cgroup_id"] == 0

    st, took = wait_not_firing(sensor, "connect4", t0)
    print(f"connect4 detached: status degraded after {took:.1f} s")
    assert "detached" in st["reasons"]
    assert st["self_check"]["not_firing"] == ["connect4"]
    assert st["self_check"]["blinded"] == 1 and st["self_check"]["failed_checks"] >= 1
    p = next(p for p in st["programs"] if p["name"] == "connect4")
    assert p["self_check"] == "not firing" and "cgroup id 0" in p["self_check_reason"]
    assert self_check(sensor, "connect6") == "ok" or self_check(sensor, "connect6") == "unverified"
    r = sensor.cli("status")
    assert r.returncode == 1 and "connect4 hook not firing" in r.stdout

    rec = check_record(sensor, "connect4")
    assert rec["unmapped"]["health"]["hooks"][0]["hook"] == "cgroup/connect4"
    # Its canary's absence joins the evidence once a round runs without the hook.
    wait_for(lambda: "TCP connect to 127.0.0.1 was not seen" in
             sensor.status()["reasons"], NOTICE_S, what="the missed canary in the reason")
    # One record per episode, not one per round.
    time.sleep(6)
    assert len(blinding_records(sensor)) == 1
    assert sensor.status()["self_check"]["health_records"] == 1
    assert sensor.findings() == []
    assert sensor.stop() == 0


# What the reason adds once a round has run without the hook (None: the link alone).
MISSED_CANARY = {
    "exec": "exec of its own child was not seen",
    "exit": "child's exit was not seen",
    "sock_close": "close of the self-check's TCP socket was not seen",
    "cpu_sample": None,  # one CPU's link of several; an idle CPU proves nothing more
}


@pytest.mark.parametrize("prog", sorted(MISSED_CANARY))
def test_a_link_closed_inside_the_daemon_is_noticed(sensor, prog):
    """Tracepoint and perf-event links, which bpftool cannot detach here: their
    descriptor closed inside the daemon, as an attacker with ptrace can."""
    link = link_of(sensor.proc.pid, prog)
    r = subprocess.run(["bpftool", "link", "detach", "id", str(link["id"])],
                       capture_output=True, text=True)
    t0 = time.monotonic()
    if r.returncode != 0:
        assert "not supported" in r.stderr, r.stderr
        close_fd_inside(sensor.proc.pid, link["fd"])
        wait_for(lambda: bpftool_link(link["id"]) is None, 10, what=f"the {prog} link to go away")
    # else: a kernel that detaches these links; that must be noticed just the same.

    st, took = wait_not_firing(sensor, prog, t0)
    print(f"{prog} link closed: status degraded after {took:.1f} s")
    reason = next(p for p in st["programs"] if p["name"] == prog)["self_check_reason"]
    assert "closed from outside" in reason or "detached" in reason
    assert st["self_check"]["not_firing"] == [prog]
    check_record(sensor, prog)
    if MISSED_CANARY[prog]:
        wait_for(lambda: MISSED_CANARY[prog] in sensor.status()["reasons"], NOTICE_S,
                 what=f"the missed {prog} canary in the reason")
    # The daemon let go of the closed descriptor: it still shuts down cleanly.
    assert sensor.stop() == 0


def test_every_link_bpftool_can_detach_is_noticed(sensor):
    """Each of the daemon's links through `bpftool link detach`: refused
    (tracepoint and perf links on this kernel) or noticed, never unnoticed."""
    pid = sensor.proc.pid
    refused, detached = [], []
    for link in sorted(daemon_links(pid), key=lambda lk: lk["id"]):
        assert link["prog"], f"a link the test cannot name: {link}"
        r = subprocess.run(["bpftool", "link", "detach", "id", str(link["id"])],
                           capture_output=True, text=True)
        if r.returncode != 0:
            refused.append((link["prog"], link["type"]))
            continue
        detached.append(link["prog"])
        st, took = wait_not_firing(sensor, link["prog"], time.monotonic())
        print(f"{link['prog']} ({link['type']}) detached: noticed after {took:.1f} s")
    print("refused by bpftool link detach:", sorted(set(refused)))
    assert detached, "bpftool detached none of the daemon's links"
    st = sensor.status()
    assert sorted(st["self_check"]["not_firing"]) == sorted(set(detached))
    for prog, _ in refused:
        if prog not in detached:
            assert f"{prog} hook not firing" not in st["reasons"]
    # Hooks that went blind in one round share a record; none is left out.
    named = {h["name"] for r in blinding_records(sensor) for h in r["unmapped"]["health"]["hooks"]}
    wait_for(lambda: set(detached) <= {h["name"] for r in blinding_records(sensor)
                                       for h in r["unmapped"]["health"]["hooks"]},
             10, what=f"health records naming {detached} (have {named})")
    validate_ocsf(sensor.output)


def test_a_disabled_cpu_sampler_is_noticed_and_clears_when_enabled_again(sensor):
    pid = sensor.proc.pid
    fds = perf_fds(pid)
    assert fds, "the daemon holds no perf event"
    wait_for(lambda: self_check(sensor, "cpu_sample") == "ok", NOTICE_S,
             what="the sampler's first verdict")
    mine = copy_fds(pid, fds)
    try:
        t0 = time.monotonic()
        perf_ioctl(mine, PERF_EVENT_IOC_DISABLE)
        st, took = wait_not_firing(sensor, "cpu_sample", t0)
        print(f"perf events disabled: status degraded after {took:.1f} s")
        assert "stopped counting" in st["reasons"]
        check_record(sensor, "cpu_sample")

        t1 = time.monotonic()
        perf_ioctl(mine, PERF_EVENT_IOC_ENABLE)
        st = wait_for(lambda: (lambda s: s if s["state"] == "healthy" else None)(sensor.status()),
                      NOTICE_S, what="status healthy again once the sampler runs")
        print(f"perf events enabled: healthy again after {time.monotonic() - t1:.1f} s")
        assert st["self_check"]["not_firing"] == [] and "reasons" not in st
        assert st["self_check"]["blinded"] == 1
    finally:
        perf_ioctl(mine, PERF_EVENT_IOC_ENABLE)
        for fd in mine:
            os.close(fd)
