# SPDX-License-Identifier: Apache-2.0
"""Flooding the sensor until it drops kernel events: the losses are counted,
status turns degraded, the findings stream gets a health record at a bounded
rate, and a miner started during the flood is still reported afterwards.

The flood is a real exec storm into a deliberately small ring buffer (64 KiB,
the smallest the configuration accepts) while the daemon is held stopped for
two seconds (SIGSTOP), so that the ring certainly fills whatever the speed of
the machine running the test."""
import json
import os
import signal
import subprocess
import time

from conftest import TOOLS, validate_ocsf, wait_for

DEADLINE = 60


def storm(*args):
    return subprocess.Popen([os.path.join(TOOLS, "storm"), *map(str, args)],
                            stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True)


def flood(sensor, seconds=4, stopped=2.0):
    """An exec storm during which the daemon cannot drain its ring for a while."""
    s = storm("exec", "--rate", 4000, "--duration", seconds, "--workers", 2)
    try:
        time.sleep(0.5)
        sensor.proc.send_signal(signal.SIGSTOP)
        time.sleep(stopped)
    finally:
        sensor.proc.send_signal(signal.SIGCONT)
    out, _ = s.communicate(timeout=seconds + 60)
    return json.loads(out)


def test_flood_is_counted_degrades_status_and_writes_one_health_record(sensor_factory):
    s = sensor_factory(config="ringbuf_kib = 64\n")
    ran = flood(s)
    assert ran["ops"] > 0

    def reported():
        x = s.status(check=False)
        return x if x and x["lost"]["total"] > 0 and x["lost"]["health_records"] >= 1 else None
    st = wait_for(reported, 20, what="the losses to be counted and reported")
    assert st["lost"]["ringbuf_exec"] + st["lost"]["ringbuf_exit"] > 0
    assert st["state"] == "degraded"
    assert "lost" in st["reasons"]
    r = s.cli("status")
    assert r.returncode == 1 and "degraded" in r.stdout

    health = wait_for(s.health_records, 10, what="a health record in the output")
    assert len(health) == 1
    h = health[0]
    assert h["class_uid"] == 6008 and h["activity_id"] == 1
    assert "detection may be impaired" in h["message"]
    assert h["unmapped"]["health"]["kind"] == "events_lost"
    assert h["unmapped"]["health"]["lost_total"] > 0
    assert h["unmapped"]["health"]["lost"]["ringbuf_exec"] + \
        h["unmapped"]["health"]["lost"]["ringbuf_exit"] > 0
    validate_ocsf(s.output)

    # A second flood right away: counted, but no second record within the minute.
    before = s.status()["lost"]["total"]
    flood(s)
    wait_for(lambda: s.status()["lost"]["total"] > before, 20, what="the second flood's losses")
    time.sleep(2)  # two ticks: a second record would have been written by now
    assert len(s.health_records()) == 1
    assert s.status()["lost"]["health_records"] == 1
    # Findings-only readers are not confused by it.
    assert all(f["class_uid"] == 2004 for f in s.findings())


def test_a_miner_started_during_a_flood_is_reported_afterwards(sensor_factory, procs, pool):
    s = sensor_factory(config="ringbuf_kib = 64\n")
    st = storm("exec", "--rate", 4000, "--duration", 5, "--workers", 2)
    try:
        time.sleep(0.5)
        s.proc.send_signal(signal.SIGSTOP)
        # Starts, logs in and gets its first job while the sensor is blind.
        p = procs.start("minersim", "--pool", f"127.0.0.1:{pool}", "--proto", "xmrig",
                        "--threads", 2, "--duration", 90, "--submit-interval", 2)
        time.sleep(2)
    finally:
        s.proc.send_signal(signal.SIGCONT)
    st.communicate(timeout=70)
    line = wait_for(lambda: procs.output(p).split("\n", 1)[0], 10, what="minersim's pid")
    pid = int(line.split("=", 1)[1])
    wait_for(lambda: s.status()["lost"]["total"] > 0, 20, what="the flood's losses")
    f = wait_for(lambda: s.findings_for(pid), DEADLINE, what="the miner's finding")[0]
    assert f["severity_id"] >= 3
    validate_ocsf(s.output)
