# SPDX-License-Identifier: Apache-2.0
"""The container image, run the way ECS runs the daemon task.

`make image` builds the OCI archive; the test unpacks it with tarfile
(index.json -> manifest -> layers, applied in order) and runs it with runc,
the runtime ECS uses, translating deploy/ecs/task-definition.json the way the
ECS agent and Docker do, so the two cannot drift apart:

- pidMode/networkMode host: no PID or network namespace of its own; a UTS,
  IPC and mount namespace, and (Docker's default on a cgroup v2 host, which
  ECS cannot change) a cgroup namespace with the cgroup hierarchy mounted
  read-only at /sys/fs/cgroup; sysfs read-only at /sys; a read-only root.
- capabilities: Docker's default set plus linuxParameters.capabilities.add,
  minus .drop; not privileged.
- mountPoints: each host volume bound at its containerPath, read-only as
  declared. Host paths are used as they are, except: /sys/fs/cgroup is this
  host's cgroup v2 mount (the same path on Amazon Linux 2023; here a hybrid
  host mounts it at /sys/fs/cgroup/unified), and the writable volumes (state
  and socket directories) are temporary directories, so the host's CLI talks
  to the daemon through the shared socket directory.
- entryPoint/command: the task definition's, over the image's Entrypoint/Cmd.
  For the test only, IMDS and the ECS agent are a closed loopback port
  (AWS_EC2_METADATA_SERVICE_ENDPOINT, --ecs-agent-url): never the real IMDS.
- ulimits (memlock) are not applied: runc cannot set rlimits on these hosts
  (DESIGN.md), and on kernels from 5.11 on BPF memory is not counted there.

Findings go to the container's stdout, as they would to awslogs. The module
shares one sensor container between its tests; at the end it is stopped with
SIGTERM as ECS stops a task, and no program may be left loaded.
"""
import io
import json
import os
import shutil
import subprocess
import tarfile
import tempfile
import time

import pytest

from conftest import BUILD, CLI, CLOSED_URL, ROOT, TOOLS, bpf_prog_ids, bpf_progs_named_ids, \
    validate_ocsf, wait_for
import containers
from containers import RuncContainer, ecs_al2023_path, new_container_id, new_task_id

pytestmark = pytest.mark.skipif(not containers.runc_available(),
                                reason="runc is not installed")

TASKDEF = os.path.join(ROOT, "deploy", "ecs", "task-definition.json")
MAKEFILE_VERSION_PREFIX = "VERSION := "
# Docker's default capabilities, which every ECS container on EC2 gets.
DOCKER_DEFAULT_CAPS = ["CHOWN", "DAC_OVERRIDE", "FSETID", "FOWNER", "MKNOD", "NET_RAW",
                       "SETGID", "SETUID", "SETFCAP", "SETPCAP", "NET_BIND_SERVICE",
                       "SYS_CHROOT", "KILL", "AUDIT_WRITE"]
CAP_NUMBERS = {"CHOWN": 0, "DAC_OVERRIDE": 1, "DAC_READ_SEARCH": 2, "FOWNER": 3, "FSETID": 4,
               "KILL": 5, "SETGID": 6, "SETUID": 7, "SETPCAP": 8, "LINUX_IMMUTABLE": 9,
               "NET_BIND_SERVICE": 10, "NET_BROADCAST": 11, "NET_ADMIN": 12, "NET_RAW": 13,
               "IPC_LOCK": 14, "IPC_OWNER": 15, "SYS_MODULE": 16, "SYS_RAWIO": 17,
               "SYS_CHROOT": 18, "SYS_PTRACE": 19, "SYS_PACCT": 20, "SYS_ADMIN": 21,
               "SYS_BOOT": 22, "SYS_NICE": 23, "SYS_RESOURCE": 24, "SYS_TIME": 25,
               "SYS_TTY_CONFIG": 26, "MKNOD": 27, "LEASE": 28, "AUDIT_WRITE": 29,
               "AUDIT_CONTROL": 30, "SETFCAP": 31, "MAC_OVERRIDE": 32, "MAC_ADMIN": 33,
               "SYSLOG": 34, "WAKE_ALARM": 35, "BLOCK_SUSPEND": 36, "AUDIT_READ": 37,
               "PERFMON": 38, "BPF": 39, "CHECKPOINT_RESTORE": 40}
NOBODY = 65534
READY_TIMEOUT = 20
FINDING_TIMEOUT = 20


def version():
    with open(os.path.join(ROOT, "Makefile")) as f:
        for line in f:
            if line.startswith(MAKEFILE_VERSION_PREFIX):
                return line[len(MAKEFILE_VERSION_PREFIX):].strip()
    raise AssertionError("no VERSION in the Makefile")


def load_task_definition():
    with open(TASKDEF) as f:
        td = json.load(f)
    (c,) = td["containerDefinitions"]
    return td, c


# --- the image ---------------------------------------------------------------

def _safe_member(m):
    name = m.name[2:] if m.name.startswith("./") else m.name
    if name.startswith("/") or ".." in name.split("/"):
        raise AssertionError(f"layer entry escapes the root: {m.name!r}")
    if m.islnk() and (m.linkname.startswith("/") or ".." in m.linkname.split("/")):
        raise AssertionError(f"hard link escapes the root: {m.linkname!r}")
    return name


def apply_layer(layer, dest):
    """Applies one layer tar (any compression) to dest, with OCI whiteouts."""
    with tarfile.open(fileobj=io.BytesIO(layer), mode="r:*") as t:
        for m in t.getmembers():
            name = _safe_member(m)
            base = os.path.basename(name)
            parent = os.path.join(dest, os.path.dirname(name))
            if base == ".wh..wh..opq":
                for e in os.listdir(parent) if os.path.isdir(parent) else ():
                    p = os.path.join(parent, e)
                    shutil.rmtree(p) if os.path.isdir(p) and not os.path.islink(p) \
                        else os.unlink(p)
                continue
            if base.startswith(".wh."):
                p = os.path.join(parent, base[4:])
                if os.path.isdir(p) and not os.path.islink(p):
                    shutil.rmtree(p)
                elif os.path.lexists(p):
                    os.unlink(p)
                continue
            target = os.path.join(dest, name)
            # No writing through a symbolic link that leads out of the root.
            real_parent = os.path.realpath(os.path.dirname(target))
            if os.path.commonpath([real_parent, os.path.realpath(dest)]) != \
                    os.path.realpath(dest):
                raise AssertionError(f"layer entry escapes the root: {m.name!r}")
            if os.path.lexists(target) and not (m.isdir() and os.path.isdir(target)):
                shutil.rmtree(target) if os.path.isdir(target) and not \
                    os.path.islink(target) else os.unlink(target)
            t.extract(m, dest, set_attrs=True, numeric_owner=True,
                      **({"filter": "tar"} if hasattr(tarfile, "tar_filter") else {}))


def unpack_oci_archive(archive, dest):
    """Unpacks an OCI archive's single image into dest; returns (manifest,
    image config)."""
    with tarfile.open(archive) as t:
        def blob(desc):
            algo, digest = desc["digest"].split(":", 1)
            return t.extractfile(f"blobs/{algo}/{digest}").read()

        layout = json.loads(t.extractfile("oci-layout").read())
        assert layout["imageLayoutVersion"] == "1.0.0"
        index = json.loads(t.extractfile("index.json").read())
        (desc,) = index["manifests"]
        manifest = json.loads(blob(desc))
        assert manifest["mediaType"] == "application/vnd.oci.image.manifest.v1+json"
        config = json.loads(blob(manifest["config"]))
        for layer in manifest["layers"]:
            apply_layer(blob(layer), dest)
    return manifest, config


@pytest.fixture(scope="module")
def image():
    """`make image`, then the archive unpacked: (archive path, rootfs, manifest,
    image config). The rootfs is removed at the end of the module."""
    r = subprocess.run(["make", "-C", ROOT, "--no-print-directory", "image"],
                       capture_output=True, text=True, timeout=300)
    assert r.returncode == 0, r.stdout + r.stderr
    archive = os.path.join(BUILD, "image", f"minerwatch-{version()}.oci.tar")
    assert os.path.exists(archive)
    d = tempfile.mkdtemp(prefix="mw-image-")
    try:
        rootfs = os.path.join(d, "rootfs")
        os.makedirs(rootfs)
        manifest, config = unpack_oci_archive(archive, rootfs)
        yield archive, rootfs, manifest, config
    finally:
        shutil.rmtree(d, ignore_errors=True)


# --- the task definition, as ECS would run it ---------------------------------

def granted_caps(c):
    caps = c.get("linuxParameters", {}).get("capabilities", {})
    drop = set(caps.get("drop", []))
    base = [] if "ALL" in drop else [x for x in DOCKER_DEFAULT_CAPS if x not in drop]
    return sorted(set(base) | set(caps.get("add", [])))


def host_source(path):
    """The host path a task definition volume names, on this host."""
    if path == "/sys/fs/cgroup":
        return containers.cgroup2_mount()
    return os.path.realpath(path)


class EcsTask:
    """The task definition's container, started with runc."""

    def __init__(self, rootfs, image_config):
        self.td, self.c = load_task_definition()
        assert self.td["pidMode"] == "host" and self.td["networkMode"] == "host"
        assert self.c["readonlyRootFilesystem"] is True and not self.c["privileged"]
        self.dir = tempfile.mkdtemp(prefix="mw-ecs-task-")
        self.caps = granted_caps(self.c)
        cfg = image_config["config"]
        entry = self.c.get("entryPoint") or cfg.get("Entrypoint") or []
        cmd = self.c.get("command")
        if cmd is None:
            cmd = [] if self.c.get("entryPoint") else (cfg.get("Cmd") or [])
        self.argv = entry + cmd + ["--ecs-agent-url", CLOSED_URL]
        env = dict(e.split("=", 1) for e in cfg.get("Env", []))
        env.update({e["name"]: e["value"] for e in self.c.get("environment", [])})
        env["AWS_EC2_METADATA_SERVICE_ENDPOINT"] = CLOSED_URL
        volumes = {v["name"]: v["host"]["sourcePath"] for v in self.td["volumes"]}
        # Docker mounts the cgroup hierarchy read-only in every container.
        mounts = [{"destination": "/sys/fs/cgroup", "type": "cgroup", "source": "cgroup",
                   "options": ["ro", "nosuid", "noexec", "nodev"]}]
        self.writable = {}
        for m in self.c["mountPoints"]:
            src = volumes[m["sourceVolume"]]
            if m["readOnly"]:
                source = host_source(src)
            else:
                source = os.path.join(self.dir, m["sourceVolume"])
                os.makedirs(source)
                self.writable[m["containerPath"]] = source
            mounts.append({"destination": m["containerPath"], "type": "bind",
                           "source": source,
                           "options": ["rbind", "ro" if m["readOnly"] else "rw"]})
        self.mounts = mounts
        sock = self.argv[self.argv.index("--socket") + 1]
        self.socket = os.path.join(self.writable[os.path.dirname(sock)],
                                   os.path.basename(sock))
        self.health = self.c["healthCheck"]["command"]
        self.cid = new_container_id()
        self.ctr = RuncContainer(self.argv, cgroups_path=ecs_al2023_path(new_task_id(), self.cid),
                                 container_id=self.cid, env=env, share_host_network=True,
                                 new_pid_ns=False, extra_mounts=mounts, rootfs=rootfs,
                                 capabilities=["CAP_" + x for x in self.caps], cgroup_ns=True)

    def start(self):
        self.ctr.start()
        return self

    def cli(self, *args, timeout=15):
        """The host's build/minerwatch against the container's socket."""
        return subprocess.run([CLI, *args, "-s", self.socket], capture_output=True, text=True,
                              timeout=timeout)

    def status(self):
        r = self.cli("status", "--json")
        return json.loads(r.stdout) if r.returncode in (0, 1) else None

    def stdout_lines(self):
        return [json.loads(x) for x in self.ctr.stdout().splitlines() if x.strip()]

    def stop(self, timeout):
        """SIGTERM, as `docker stop` does; the exit status, or None if the
        daemon outlived the timeout."""
        if not self.ctr.running():
            return self.ctr.returncode
        self.ctr._runc("kill", self.ctr.id, "TERM")
        try:
            return self.ctr.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            return None

    def cleanup(self):
        try:
            self.ctr.cleanup()
        finally:
            shutil.rmtree(self.dir, ignore_errors=True)


@pytest.fixture(scope="module")
def task(image):
    _, rootfs, _, config = image
    t = EcsTask(rootfs, config)
    # This sensor's programs are those loaded while it starts (others may run).
    before = set(bpf_progs_named_ids())
    ours = set()
    try:
        t.start()

        def healthy():
            if not t.ctr.running():
                raise AssertionError(f"the sensor container exited with {t.ctr.returncode}:\n"
                                     + t.ctr.diagnostics())
            return t.cli("status", "--quiet").returncode == 0

        t.ready_after = time.monotonic()
        wait_for(healthy, READY_TIMEOUT, interval=0.1,
                 what="the sensor container to report healthy")
        ours = set(bpf_progs_named_ids()) - before
        assert ours, "the sensor container loaded no programs"
        yield t
        rc = t.stop(t.c.get("stopTimeout", 30))
        assert rc == 0, f"minerwatchd exited with {rc} on SIGTERM:\n{t.ctr.diagnostics()}"
    finally:
        t.cleanup()
    wait_for(lambda: not ours & bpf_prog_ids(), 10, what="the programs to be unloaded")


# --- tests -------------------------------------------------------------------

def test_image_holds_the_daemon_the_cli_and_their_libraries_only(image):
    archive, rootfs, manifest, config = image
    files = sorted(os.path.relpath(os.path.join(d, f), rootfs)
                   for d, _, fs in os.walk(rootfs) for f in fs)
    libs = [f for f in files if f.startswith(("lib/", "lib64/", "usr/lib"))]
    others = sorted(set(files) - set(libs))
    assert others == ["etc/minerwatch/minerwatch.conf", "etc/minerwatch/pool-names.txt",
                      "etc/minerwatch/suppress.conf", "usr/bin/minerwatch",
                      "usr/sbin/minerwatchd"]
    assert all(".so" in os.path.basename(f) for f in libs), libs
    assert any(os.path.basename(f).startswith("ld-linux") for f in libs)
    # No distribution: no shell, no package database, no coreutils.
    for p in ("bin/sh", "usr/bin/sh", "var/lib/dpkg", "var/lib/rpm", "etc/passwd"):
        assert not os.path.lexists(os.path.join(rootfs, p)), p
    # The binaries find every library inside the image (the image's own
    # loader, with the image as its only library path).
    loader = [f for f in libs if os.path.basename(f).startswith("ld-linux")][0]
    for b in ("usr/sbin/minerwatchd", "usr/bin/minerwatch"):
        libdirs = sorted({os.path.join(rootfs, os.path.dirname(f)) for f in libs})
        r = subprocess.run([os.path.join(rootfs, loader), "--library-path", ":".join(libdirs),
                            "--list", os.path.join(rootfs, b)], capture_output=True, text=True,
                           timeout=30, env={"PATH": "/usr/bin:/bin"})
        assert r.returncode == 0 and "not found" not in r.stdout, r.stdout + r.stderr
        for line in r.stdout.splitlines():
            if "=>" in line and "/" in line.split("=>")[1]:
                assert line.split("=>")[1].strip().startswith(rootfs), line
    cfg = config["config"]
    labels = cfg["Labels"]
    assert labels["org.opencontainers.image.version"] == version()
    for key in ("title", "description", "revision", "created", "licenses"):
        assert labels[f"org.opencontainers.image.{key}"], key
    assert cfg["Entrypoint"] == load_task_definition()[1]["entryPoint"]
    size = os.path.getsize(archive)
    unpacked = sum(os.path.getsize(os.path.join(rootfs, f)) for f in files)
    print(f"image: {size / 2**20:.1f} MiB archive, {unpacked / 2**20:.1f} MiB unpacked, "
          f"{len(libs)} libraries")
    assert size < 32 * 2**20


def test_sensor_container_is_healthy_with_only_the_task_capabilities(task):
    st = task.status()
    assert st["state"] == "healthy", st.get("reasons")
    assert all(p["attached"] for p in st["programs"]), st["programs"]
    # The host's kernel BTF through the container's own read-only sysfs, and
    # the host's cgroup v2 root through the read-only mount under /host.
    assert st["btf"] == "/sys/kernel/btf/vmlinux"
    assert st["cgroup_root"] == "/host/sys/fs/cgroup"
    # The daemon runs with what the task grants and nothing more: its
    # bounding set is exactly that, and what it keeps after attaching is a
    # subset of it.
    granted = sum(1 << CAP_NUMBERS[c] for c in task.caps)
    with open(f"/proc/{task.ctr.pid}/status") as f:
        caps = {k: int(v, 16) for k, v in (ln.split(":") for ln in f if ln.startswith("Cap"))}
    assert caps["CapBnd"] == granted
    assert caps["CapPrm"] & ~granted == 0 and caps["CapEff"] & ~granted == 0
    kept = {c.upper().removeprefix("CAP_") for c in st["privileges"]["capabilities"]}
    assert kept <= set(task.caps)
    assert "SYS_ADMIN" in kept  # bpf(2) on maps, where CAP_BPF cannot be granted
    # The daemon is the container's command, in the host's PID namespace.
    with open(f"/proc/{task.ctr.pid}/cmdline", "rb") as f:
        assert f.read().split(b"\0")[:-1] == [a.encode() for a in task.argv]
    assert os.readlink(f"/proc/{task.ctr.pid}/ns/pid") == os.readlink("/proc/self/ns/pid")
    assert os.readlink(f"/proc/{task.ctr.pid}/ns/net") == os.readlink("/proc/self/ns/net")


def test_self_check_canaries_work_inside_the_container(task):
    """The self-check against blinding runs its canaries from inside the
    container as on the host: its own binary from a read-only image with no
    shell, loopback sockets in the host's network, /proc/stat under /host."""
    st = wait_for(lambda: (lambda s: s if s and s["self_check"]["rounds"] >= 2 else None)(
        task.status()), 60, interval=0.5, what="two self-check rounds in the container")
    assert st["state"] == "healthy", st.get("reasons")
    assert st["self_check"]["not_firing"] == [] and st["self_check"]["failed_checks"] == 0
    verdicts = {p["name"]: p["self_check"] for p in st["programs"]}
    for prog in ("exec", "exit", "cpu_sample", "connect4", "sendmsg4", "skb_egress",
                 "skb_ingress", "sock_close"):
        assert verdicts[prog] == "ok", verdicts
    # The canary child writes nothing: the container's stdout is findings only.
    for line in task.stdout_lines():
        assert line.get("class_uid") in (2004, 6008), line


def test_health_check_command_passes_inside_the_container(task):
    assert task.health[0] == "CMD"
    r = task.ctr.exec(task.health[1:], timeout=task.c["healthCheck"]["timeout"])
    assert r.returncode == 0, r.stdout + r.stderr
    # The task definition's timeout leaves room for the check to answer.
    t0 = time.monotonic()
    task.ctr.exec(task.health[1:], timeout=task.c["healthCheck"]["timeout"])
    assert time.monotonic() - t0 < task.c["healthCheck"]["timeout"] / 2


def test_host_miner_is_reported_on_the_container_stdout(task, procs, pool, tmp):
    # The miner runs as another user, so the sensor needs CAP_SYS_PTRACE to
    # read its /proc/PID/exe and hash the binary.
    p = procs.start("minersim", "--pool", f"127.0.0.1:{pool}", "--proto", "xmrig",
                    "--threads", 1, "--duration", 60, "--submit-interval", 2,
                    user=NOBODY, group=NOBODY)
    line = wait_for(lambda: procs.output(p).split("\n", 1)[0], 10, what="minersim's pid")
    pid = int(line.split("=", 1)[1])

    def finding():
        return [f for f in task.stdout_lines()
                if f["evidences"][0]["process"]["pid"] == pid]

    f = wait_for(finding, FINDING_TIMEOUT, interval=0.1,
                 what=f"a finding for pid {pid} on the container's stdout")[0]
    assert f["class_uid"] == 2004 and f["activity_id"] == 1
    assert f["severity_id"] >= 4
    assert f["unmapped"]["protocol"]["name"] == "xmrig-jsonrpc"
    proc = f["evidences"][0]["process"]
    assert proc["file"]["path"] == os.path.join(TOOLS, "minersim")
    assert len(proc["file"]["hashes"][0]["value"]) == 64
    assert proc["user"] == {"uid": str(NOBODY), "name": "nobody"}  # /host/etc/passwd
    assert pool in [e["dst_endpoint"]["port"] for e in f["evidences"] if "dst_endpoint" in e]
    with open("/etc/os-release") as osr:
        pretty = [x.split("=", 1)[1].strip().strip('"') for x in osr
                  if x.startswith("PRETTY_NAME=")]
    assert f["device"]["os"]["name"] == (pretty[0] if pretty else "Linux")
    # Every line on stdout is a finding, valid OCSF.
    out = os.path.join(tmp, "container-stdout.jsonl")
    with open(out, "w") as o:
        o.write(task.ctr.stdout())
    validate_ocsf(out)
    # The host's CLI sees it through the shared socket directory.
    st = task.status()
    assert any(x["pid"] == pid for x in st["findings"]), st["findings"]
    r = task.cli("findings")
    assert r.returncode == 0 and str(pid) in r.stdout, r.stdout + r.stderr
    r = task.cli("status")
    assert r.returncode == 0 and "healthy" in r.stdout.splitlines()[0], r.stdout


def test_miner_in_another_ecs_task_is_attributed_to_its_container(task, pool):
    cid = new_container_id()
    argv = [os.path.join(TOOLS, "minersim"), "--pool", f"127.0.0.1:{pool}", "--proto",
            "stratum", "--threads", 1, "--duration", 30, "--submit-interval", 2]
    with RuncContainer(argv, cgroups_path=ecs_al2023_path(new_task_id(), cid),
                       container_id=cid) as miner:
        f = wait_for(lambda: [x for x in task.stdout_lines()
                              if x["evidences"][0]["process"]["pid"] == miner.pid],
                     FINDING_TIMEOUT, interval=0.1, what="a finding for the containerised miner")[0]
    assert f["evidences"][0]["process"].get("container", {}).get("uid") == cid, \
        task.ctr.diagnostics()
