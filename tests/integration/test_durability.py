# SPDX-License-Identifier: Apache-2.0
"""No lost findings (SPEC 10): kill -9 and restart, a full disk, log rotation.

Each test runs a real plaintext Stratum miner against the pool simulator on
loopback, so that there is a real finding to lose, and restarts or starves
the real daemon around it. The findings journal lives in the sensor's state
directory (user/report/journal.c).
"""
import os
import signal
import subprocess

import pytest

from conftest import validate_ocsf, wait_for

DEADLINE = 60


def start_miner(procs, pool, duration=200):
    p = procs.start("minersim", "--pool", f"127.0.0.1:{pool}", "--proto", "stratum",
                    "--threads", 1, "--duration", duration, "--submit-interval", 2)
    line = wait_for(lambda: procs.output(p).split("\n", 1)[0], 10, what="minersim's pid")
    assert line.startswith("pid="), line
    return p, int(line.split("=", 1)[1])


def by_activity(sensor, pid):
    out = {1: [], 2: [], 3: []}
    for f in sensor.findings_for(pid):
        out[f["activity_id"]].append(f)
    return out


def created(sensor, pid):
    return wait_for(lambda: by_activity(sensor, pid)[1], DEADLINE,
                    what=f"the Create for pid {pid}")[0]


def kill9(sensor):
    sensor.proc.send_signal(signal.SIGKILL)
    sensor.proc.wait(timeout=10)
    sensor.stderr.close()


def test_kill9_and_restart_continue_the_open_finding(sensor_factory, procs, pool):
    s = sensor_factory()
    miner, pid = start_miner(procs, pool)
    uid = created(s, pid)["finding_info"]["uid"]
    kill9(s)

    s.start()
    st = s.status()
    # (>= 1: the sensor sees the whole machine, other tests' miners included.)
    assert st["finding_counts"]["continued_after_restart"] >= 1, st["finding_counts"]
    assert uid in [f.get("uid") for f in st["findings"]], st["findings"]
    # The miner goes on mining under the new daemon: still one Create.
    miner.terminate()
    miner.wait(timeout=10)
    closes = wait_for(lambda: by_activity(s, pid)[3], DEADLINE, what="the Close")
    acts = by_activity(s, pid)
    assert len(acts[1]) == 1, "the restart raised the finding a second time"
    assert len(closes) == 1
    assert {f["finding_info"]["uid"] for f in acts[1] + acts[2] + acts[3]} == {uid}
    validate_ocsf(s.output)


def test_a_miner_that_ends_while_the_sensor_is_down_is_closed_at_restart(
        sensor_factory, procs, pool):
    s = sensor_factory()
    miner, pid = start_miner(procs, pool)
    first = created(s, pid)
    kill9(s)
    miner.terminate()
    miner.wait(timeout=10)

    s.start()
    closes = wait_for(lambda: by_activity(s, pid)[3], 20, what="the Close at restart")
    assert len(closes) == 1
    close = closes[0]
    assert close["finding_info"]["uid"] == first["finding_info"]["uid"]
    assert close["status_id"] == 4 and close["type_uid"] == 200403
    assert close["time"] >= first["time"]
    assert first["finding_info"]["uid"] not in [f.get("uid") for f in s.status()["findings"]]
    assert len(by_activity(s, pid)[1]) == 1
    # A second restart does not close it again.
    s.stop()
    s.start()
    assert len(by_activity(s, pid)[3]) == 1
    validate_ocsf(s.output)


def test_sigterm_and_restart_continue_the_open_finding(sensor_factory, procs, pool):
    s = sensor_factory()
    _, pid = start_miner(procs, pool)
    uid = created(s, pid)["finding_info"]["uid"]
    assert s.stop() == 0
    s.start()
    st = s.status()
    assert st["finding_counts"]["continued_after_restart"] >= 1
    assert uid in [f.get("uid") for f in st["findings"]]
    assert len(by_activity(s, pid)[1]) == 1


@pytest.fixture
def small_disk(tmp):
    """A 256 KiB tmpfs, filled, for the output; unmounted afterwards."""
    mnt = os.path.join(tmp, "disk")
    os.mkdir(mnt)
    subprocess.run(["mount", "-t", "tmpfs", "-o", "size=256k,mode=0755", "tmpfs", mnt],
                   check=True)
    filler = os.path.join(mnt, "filler")
    try:
        yield mnt, filler
    finally:
        subprocess.run(["umount", "-l", mnt], check=False)


def fill(path):
    """Writes until the file system is full, down to its last bytes."""
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o600)
    try:
        for size in (65536, 4096, 64, 1):
            while True:
                try:
                    os.write(fd, b"\0" * size)
                except OSError:
                    break
    finally:
        os.close(fd)


def test_full_disk_holds_findings_through_a_kill9_and_writes_them_once(
        sensor_factory, procs, pool, small_disk):
    mnt, filler = small_disk
    out = os.path.join(mnt, "findings.jsonl")
    s = sensor_factory(extra_args=("-o", out))  # the last -o wins
    s.output = out
    fill(filler)
    miner, pid = start_miner(procs, pool)

    def failing():
        st = s.status()
        return st if st["output"]["state"] == "failing" and st["output"]["pending"] >= 1 else None
    st = wait_for(failing, DEADLINE, what="the output to fail with the finding held")
    assert st["state"] == "degraded"
    assert "No space left" in st["reasons"], st["reasons"]
    assert st["output"]["journal"]["state"] == "ok"
    assert by_activity(s, pid)[1] == []

    # Killed while the finding waits, and the miner gone before the restart:
    # only the journal knows of the finding now.
    kill9(s)
    miner.terminate()
    miner.wait(timeout=10)
    s.start(wait_healthy=False)
    wait_for(lambda: (s.status(check=False) or {}).get("output", {}).get("pending", 0) >= 1,
             20, what="the restarted sensor to hold the finding")
    assert s.status()["state"] == "degraded"

    os.unlink(filler)
    wait_for(lambda: by_activity(s, pid)[1], 20, what="the held Create once space returns")
    wait_for(lambda: by_activity(s, pid)[3], 20, what="its Close")
    wait_for(lambda: s.status()["state"] == "healthy", 20, what="healthy again")
    st = s.status()
    assert st["output"]["pending"] == 0
    assert st["output"]["journal"]["replayed"] >= 1
    acts = by_activity(s, pid)
    assert len(acts[1]) == 1 and len(acts[3]) == 1, "a held record was written twice"
    validate_ocsf(s.output)


def test_sighup_reopens_the_output_after_rotation(sensor_factory, procs, pool, tmp):
    s = sensor_factory()
    _, pid = start_miner(procs, pool)
    created(s, pid)
    rotated = s.output + ".1"
    os.rename(s.output, rotated)
    s.reload()
    wait_for(lambda: os.path.exists(s.output), 10, what="the output file reopened")
    # A new finding goes to the new file, none to the rotated one.
    _, pid2 = start_miner(procs, pool)
    created(s, pid2)
    with open(rotated) as f:
        assert str(pid2) not in f.read()
    assert s.status()["state"] == "healthy"
