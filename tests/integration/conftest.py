# SPDX-License-Identifier: Apache-2.0
"""Fixtures for the real-kernel integration tests.

Every test here loads the real BPF programs through a real minerwatchd and
drives real processes (tools/): nothing is mocked. Each wait is a poll with a
deadline, never a bare sleep used as synchronisation, and everything a test
starts is stopped by its fixture.
"""
import json
import os
import signal
import subprocess
import tempfile
import time

import pytest

ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))
# MW_BUILD: another build of the same tree (make sanitize-integration: build/asan).
BUILD = os.environ.get("MW_BUILD", os.path.join(ROOT, "build"))
DAEMON = os.path.join(BUILD, "minerwatchd")
CLI = os.path.join(BUILD, "minerwatch")
TOOLS = os.path.join(BUILD, "tools")
VALIDATOR = os.environ.get(
    "MW_OCSF_VALIDATE", os.path.join(ROOT, "..", "shared", "tools", "ocsf-validate"))


def wait_for(pred, timeout, interval=0.2, what="condition"):
    """Polls pred() until it returns a truthy value or the deadline passes."""
    deadline = time.monotonic() + timeout
    while True:
        v = pred()
        if v:
            return v
        if time.monotonic() >= deadline:
            raise AssertionError(f"timed out after {timeout}s waiting for {what}")
        time.sleep(interval)


def bpf_progs_named_ids(prefix="mw_"):
    """Ids of loaded BPF programs whose name starts with prefix (via bpftool)."""
    out = subprocess.run(["bpftool", "-j", "prog", "show"], capture_output=True, text=True,
                         check=True).stdout
    return [p["id"] for p in json.loads(out or "[]") if p.get("name", "").startswith(prefix)]


def bpf_prog_ids_of(pid):
    """Ids of the BPF programs process pid holds (program and link fds, from fdinfo)."""
    ids = set()
    fd_dir = f"/proc/{pid}/fdinfo"
    for fd in os.listdir(fd_dir):
        try:
            with open(os.path.join(fd_dir, fd)) as f:
                for line in f:
                    if line.startswith("prog_id:"):
                        ids.add(int(line.split()[1]))
        except OSError:
            continue
    return ids


def bpf_prog_ids():
    """Ids of every loaded BPF program."""
    out = subprocess.run(["bpftool", "-j", "prog", "show"], capture_output=True, text=True,
                         check=True).stdout
    return {p["id"] for p in json.loads(out or "[]")}


# Tests never reach the real IMDS or an ECS agent: unless a test points the
# daemon at a simulator, both are a closed port on loopback.
CLOSED_URL = "http://127.0.0.1:1"


def safe_env(extra=None):
    """The environment for a daemon under test: IMDS on a closed loopback port."""
    env = dict(os.environ)
    env["AWS_EC2_METADATA_SERVICE_ENDPOINT"] = CLOSED_URL
    env.pop("AWS_EC2_METADATA_DISABLED", None)
    env.pop("AWS_EC2_METADATA_SERVICE_ENDPOINT_MODE", None)
    env.update(extra or {})
    return env


class Sensor:
    """A running minerwatchd with its own output, socket and state dir."""

    def __init__(self, tmp, config=None, extra_args=(), env=None):
        self.tmp = tmp
        self.output = os.path.join(tmp, "findings.jsonl")
        self.socket = os.path.join(tmp, "run", "minerwatch.sock")
        self.state = os.path.join(tmp, "state")
        self.stderr_path = os.path.join(tmp, "minerwatchd.stderr")
        self.config = os.path.join(tmp, "minerwatch.conf")
        with open(self.config, "w") as f:
            f.write(config or "")
        self.args = [DAEMON, "-c", self.config, "-o", self.output, "-s", self.socket,
                     "--state-dir", self.state, *extra_args]
        if "--ecs-agent-url" not in extra_args and "ecs_agent_url" not in (config or ""):
            self.args += ["--ecs-agent-url", CLOSED_URL]
        self.env = safe_env(env)
        self.proc = None

    def start(self, wait_healthy=True):
        self.stderr = open(self.stderr_path, "ab")
        self.proc = subprocess.Popen(self.args, stdout=subprocess.DEVNULL, stderr=self.stderr,
                                     env=self.env)
        if wait_healthy:
            wait_for(lambda: self._ready(), 20, what="minerwatchd to report healthy")
        return self

    def _ready(self):
        if self.proc.poll() is not None:
            raise AssertionError(f"minerwatchd exited with {self.proc.returncode}:\n"
                                 + self.log())
        st = self.status(check=False)
        return st is not None and st.get("state") == "healthy"

    def cli(self, *args):
        return subprocess.run([CLI, *args, "-s", self.socket], capture_output=True,
                              text=True, timeout=15)

    def status(self, check=True):
        r = self.cli("status", "--json")
        if r.returncode == 2:
            if check:
                raise AssertionError(f"status failed: {r.stderr}")
            return None
        return json.loads(r.stdout)

    def records(self):
        """Every line written: findings and the sensor's health records."""
        if not os.path.exists(self.output):
            return []
        with open(self.output, encoding="utf-8") as f:
            return [json.loads(line) for line in f if line.strip()]

    def findings(self):
        """Findings (OCSF Detection Finding or ASFF), without health records."""
        return [r for r in self.records() if r.get("class_uid") != 6008]

    def health_records(self):
        """The sensor's own health records (OCSF Application Error, 6008)."""
        return [r for r in self.records() if r.get("class_uid") == 6008]

    def findings_for(self, pid):
        return [f for f in self.findings()
                if f["evidences"][0]["process"]["pid"] == pid]

    def log(self):
        with open(self.stderr_path, errors="replace") as f:
            return f.read()

    def reload(self):
        self.proc.send_signal(signal.SIGHUP)

    def stop(self):
        if not self.proc or self.proc.poll() is not None:
            return self.proc.returncode if self.proc else None
        self.proc.send_signal(signal.SIGTERM)
        try:
            rc = self.proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            rc = self.proc.wait()
        self.stderr.close()
        return rc


class Procs:
    """Child processes a test starts; all are stopped at teardown."""

    def __init__(self, tmp):
        self.tmp = tmp
        self.children = []

    def start(self, name, *args, **kw):
        out = open(os.path.join(self.tmp, f"{name}.{len(self.children)}.out"), "w+")
        p = subprocess.Popen([os.path.join(TOOLS, name), *map(str, args)], stdout=out,
                             stderr=subprocess.STDOUT, **kw)
        p.outfile = out
        self.children.append(p)
        return p

    def start_cmd(self, argv, **kw):
        p = subprocess.Popen(argv, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, **kw)
        p.outfile = None
        self.children.append(p)
        return p

    @staticmethod
    def output(p):
        p.outfile.flush()
        with open(p.outfile.name) as f:
            return f.read()

    def stop_all(self):
        for p in self.children:
            if p.poll() is None:
                p.terminate()
        for p in self.children:
            try:
                p.wait(timeout=5)
            except subprocess.TimeoutExpired:
                p.kill()
                p.wait()
            if p.outfile:
                p.outfile.close()


@pytest.fixture(scope="session", autouse=True)
def _require_root_and_build():
    if os.geteuid() != 0:
        pytest.fail("the integration tests load BPF programs and must run as root")
    for path in (DAEMON, CLI, TOOLS):
        if not os.path.exists(path):
            pytest.fail(f"{path} is missing: run `make` first")


@pytest.fixture
def tmp():
    with tempfile.TemporaryDirectory(prefix="mw-it-") as d:
        yield d


@pytest.fixture
def procs(tmp):
    p = Procs(tmp)
    yield p
    p.stop_all()


@pytest.fixture
def sensor_factory(tmp):
    started = []

    def make(config=None, extra_args=(), wait_healthy=True, env=None):
        sub = tempfile.mkdtemp(prefix="sensor-", dir=tmp)
        s = Sensor(sub, config, extra_args, env)
        started.append(s)
        return s.start(wait_healthy)

    yield make
    for s in started:
        s.stop()


@pytest.fixture
def sensor(sensor_factory):
    return sensor_factory()


@pytest.fixture
def pool(procs, tmp):
    """A pool simulator on loopback; returns its port."""
    port_file = os.path.join(tmp, "pool.port")
    procs.start("poolsim", "--port", 0, "--port-file", port_file, "--job-interval", 2,
                "--duration", 300, "--quiet")
    wait_for(lambda: os.path.exists(port_file), 10, what="the pool simulator to listen")
    with open(port_file) as f:
        return int(f.read().strip())


def validate_ocsf(path):
    """Runs the OCSF 1.8.0 validator over a JSON-lines file."""
    assert os.path.exists(VALIDATOR), f"validator missing: {VALIDATOR}"
    r = subprocess.run([VALIDATOR, path], capture_output=True, text=True)
    assert r.returncode == 0, r.stdout + r.stderr
