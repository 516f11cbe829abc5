# SPDX-License-Identifier: Apache-2.0
"""The packages of SPEC 8: `make deb` and `make rpm` give linted artefacts.

The deb is installed on this machine (there is no chroot with the libraries it
needs), run and purged. systemd is not PID 1 here, so the maintainer scripts
only enable the service (symlinks) and must skip starting it; the test then
runs the installed daemon the way the unit does, with the default paths. The
directories the package owns at run time that already exist are moved aside
for the test and put back afterwards, so nothing on the machine is lost.

The RPM cannot be installed on Debian: it is linted and inspected, its
scriptlets are run against stand-in commands, and the SRPM is rebuilt from
source the way Amazon Linux 2023 builds it.
"""
import grp
import os
import re
import shutil
import stat
import subprocess
import tempfile
import time

import pytest

from conftest import CLOSED_URL, ROOT, safe_env, wait_for

PKG_OUT = os.path.join(ROOT, "build", "pkg")
ENV = safe_env({"DEBIAN_FRONTEND": "noninteractive"})


def version():
    with open(os.path.join(ROOT, "Makefile")) as f:
        return re.search(r"^VERSION := (\S+)$", f.read(), re.M).group(1)


VERSION = version()


def run(argv, timeout=60, check=True, **kw):
    deadline = time.monotonic() + timeout
    while True:
        r = subprocess.run(argv, capture_output=True, text=True, timeout=timeout, env=ENV, **kw)
        # Another package manager run holds dpkg's lock: wait for it, bounded.
        if not (argv[0] == "dpkg" and "lock" in r.stderr and "locked" in r.stderr) or \
                time.monotonic() > deadline:
            break
        time.sleep(2)
    if check and r.returncode != 0:
        raise AssertionError(f"{' '.join(argv)} exited {r.returncode}:\n{r.stdout}\n{r.stderr}")
    return r


def make(target):
    r = run(["make", "--no-print-directory", "-C", ROOT, target], timeout=600, check=False)
    assert r.returncode == 0, f"make {target} failed:\n{r.stdout}\n{r.stderr}"
    return r


@pytest.fixture(scope="module")
def deb():
    # A deb is built and installed on Debian or Ubuntu; Amazon Linux has no dpkg.
    if not shutil.which("dpkg-deb") or not os.path.exists("/etc/debian_version"):
        pytest.skip("not a Debian-family host: the deb is built and tested on Debian")
    make("deb")
    arch = run(["dpkg", "--print-architecture"]).stdout.strip()
    path = os.path.join(PKG_OUT, f"minerwatch_{VERSION}-1_{arch}.deb")
    assert os.path.isfile(path)
    return path


@pytest.fixture(scope="module")
def rpms():
    make("rpm")
    rpm = os.path.join(PKG_OUT, f"minerwatch-{VERSION}-1.{os.uname().machine}.rpm")
    srpm = os.path.join(PKG_OUT, f"minerwatch-{VERSION}-1.src.rpm")
    assert os.path.isfile(rpm) and os.path.isfile(srpm)
    return rpm, srpm


# --- deb ---------------------------------------------------------------------

UNIT = "/lib/systemd/system/minerwatchd.service"
# (path, mode) of every file the deb installs, as dpkg leaves them.
DEB_FILES = [
    ("/usr/sbin/minerwatchd", 0o755),
    ("/usr/bin/minerwatch", 0o755),
    ("/usr/share/man/man8/minerwatchd.8.gz", 0o644),
    ("/usr/share/man/man8/minerwatch.8.gz", 0o644),
    ("/etc/minerwatch/minerwatch.conf", 0o644),
    ("/etc/minerwatch/pool-names.txt", 0o644),
    ("/etc/minerwatch/suppress.conf", 0o644),
    ("/etc/logrotate.d/minerwatch", 0o644),
    (UNIT, 0o644),
    ("/usr/share/doc/minerwatch/copyright", 0o644),
    ("/usr/share/doc/minerwatch/changelog.Debian.gz", 0o644),
]
CONFFILES = ["/etc/logrotate.d/minerwatch", "/etc/minerwatch/minerwatch.conf",
             "/etc/minerwatch/pool-names.txt", "/etc/minerwatch/suppress.conf"]
DATA_DIRS = ["/var/lib/minerwatch", "/var/log/minerwatch", "/run/minerwatch"]
WANTS = "/etc/systemd/system/multi-user.target.wants/minerwatchd.service"
MASK = "/etc/systemd/system/minerwatchd.service"
DSH_STATE = "/var/lib/systemd/deb-systemd-helper-enabled/minerwatchd.service.dsh-also"


def dpkg_status():
    r = run(["dpkg-query", "-W", "-f=${db:Status-Status}", "minerwatch"], check=False)
    return r.stdout.strip() if r.returncode == 0 else "not-installed"


def group_exists(name="minerwatch"):
    try:
        grp.getgrnam(name)
        return True
    except KeyError:
        return False


def installed_daemons():
    """PIDs of processes running the packaged /usr/sbin/minerwatchd."""
    pids = []
    for pid in filter(str.isdigit, os.listdir("/proc")):
        try:
            if os.readlink(f"/proc/{pid}/exe") == "/usr/sbin/minerwatchd":
                pids.append(int(pid))
        except OSError:
            pass
    return pids


def test_deb_is_lintian_clean(deb):
    r = run(["lintian", "--fail-on", "error,warning,info,pedantic", "--display-info",
             "--pedantic", deb], timeout=300, check=False)
    tags = [line for line in r.stdout.splitlines() if re.match(r"[EWIPXC]: ", line)]
    assert r.returncode == 0 and not tags, r.stdout + r.stderr


def test_deb_control(deb):
    def field(name):
        return run(["dpkg-deb", "-f", deb, name]).stdout.strip()

    assert field("Package") == "minerwatch"
    assert field("Version") == f"{VERSION}-1"
    depends = [d.split()[0] for d in field("Depends").split(", ")]
    for lib in ("libc6", "libelf1", "zlib1g", "libjson-c5", "libinih1", "libevent-core-2.1-7",
                "libevent-extra-2.1-7", "libnettle8", "adduser"):
        assert lib in depends, field("Depends")
    # HTTP is libevent's and SHA-256 nettle's: libcurl and OpenSSL cost RSS.
    for lib in ("libcurl4", "libssl3"):
        assert lib not in depends, field("Depends")
    assert not any(d.startswith("libbpf") for d in depends), "libbpf is linked statically"
    with tempfile.TemporaryDirectory() as d:
        run(["dpkg-deb", "-e", deb, d])
        with open(os.path.join(d, "conffiles")) as f:
            assert sorted(f.read().split()) == CONFFILES


@pytest.fixture
def clean_slate():
    """A machine without the package: data directories moved aside, restored after."""
    if dpkg_status() != "not-installed":
        run(["dpkg", "--purge", "minerwatch"], timeout=120)  # left by an interrupted run
    for path, _ in DEB_FILES:
        if os.path.lexists(path):
            pytest.fail(f"{path} exists but belongs to no package (`make install`?): "
                        "remove it before running this test")
    assert not installed_daemons()
    had_group = group_exists()
    aside = {}
    for d in DATA_DIRS:
        if os.path.lexists(d):
            aside[d] = tempfile.mkdtemp(prefix=os.path.basename(d) + ".", dir=os.path.dirname(d))
            os.rename(d, os.path.join(aside[d], "saved"))
    try:
        yield
    finally:
        for pid in installed_daemons():
            os.kill(pid, 9)
        if dpkg_status() != "not-installed":
            run(["dpkg", "--purge", "minerwatch"], timeout=120, check=False)
        if not had_group and group_exists():
            run(["groupdel", "minerwatch"], check=False)
        for d, holder in aside.items():
            if os.path.lexists(d):
                shutil.rmtree(d)
            os.rename(os.path.join(holder, "saved"), d)
            os.rmdir(holder)


def check_installed_files():
    for path, mode in DEB_FILES:
        st = os.stat(path)
        assert stat.S_ISREG(st.st_mode), path
        assert stat.S_IMODE(st.st_mode) == mode, f"{path}: {oct(st.st_mode)}"
        assert (st.st_uid, st.st_gid) == (0, 0), path
    conffiles = run(["dpkg-query", "-W", "-f=${Conffiles}", "minerwatch"]).stdout.split()
    assert sorted(p for p in conffiles if p.startswith("/")) == CONFFILES


def test_deb_installs_runs_and_purges(deb, clean_slate, tmp):
    r = run(["dpkg", "-i", deb], timeout=120)
    assert dpkg_status() == "installed"
    assert not re.search(r"warning|error|failed", r.stdout + r.stderr, re.I), \
        r.stdout + r.stderr

    # postinst: a system group, the service enabled, and (no systemd here) not started.
    g = grp.getgrnam("minerwatch")
    assert g.gr_gid < 1000, "minerwatch should be a system group"
    assert os.readlink(WANTS) == UNIT
    assert not installed_daemons(), "postinst started minerwatchd without systemd"
    check_installed_files()

    # Installing again (dpkg runs the upgrade path) changes nothing.
    run(["dpkg", "-i", deb], timeout=120)
    assert grp.getgrnam("minerwatch").gr_gid == g.gr_gid
    assert os.readlink(WANTS) == UNIT and not installed_daemons()

    # The installed binaries, configuration, unit and logrotate policy.
    assert run(["minerwatch", "version"]).stdout.strip() == f"minerwatch {VERSION}"
    assert f"{VERSION}" in run(["/usr/sbin/minerwatchd", "--version"]).stdout
    r = run(["/usr/sbin/minerwatchd", "--check-config"], check=False)
    assert r.returncode == 0, r.stdout + r.stderr
    r = run(["systemd-analyze", "verify", UNIT], check=False)
    assert r.returncode == 0 and "minerwatchd" not in r.stdout + r.stderr, r.stdout + r.stderr
    r = run(["logrotate", "--debug", "--state", os.devnull, "/etc/logrotate.d/minerwatch"],
            check=False)
    assert r.returncode == 0 and "error" not in r.stderr.lower(), r.stderr
    assert "/var/log/minerwatch/findings.jsonl" in r.stderr

    # The daemon as the unit starts it: no arguments, the installed defaults (IMDS and the
    # ECS agent on a closed loopback port, as in every test).
    stderr = open(os.path.join(tmp, "minerwatchd.stderr"), "w+")
    daemon = subprocess.Popen(["/usr/sbin/minerwatchd", "--ecs-agent-url", CLOSED_URL],
                              stdout=subprocess.DEVNULL, stderr=stderr, env=ENV)
    try:
        def healthy():
            if daemon.poll() is not None:
                stderr.seek(0)
                raise AssertionError(f"minerwatchd exited {daemon.returncode}: {stderr.read()}")
            return run(["minerwatch", "status", "--quiet"], check=False).returncode == 0
        wait_for(healthy, 20, what="the installed minerwatchd to become healthy")
        st = os.stat("/run/minerwatch/minerwatch.sock")
        assert stat.S_IMODE(st.st_mode) == 0o660 and st.st_gid == g.gr_gid
        for d in ("/var/lib/minerwatch", "/var/log/minerwatch"):
            assert os.path.isdir(d)
    finally:
        daemon.terminate()
        rc = daemon.wait(timeout=15)
        stderr.seek(0)
        log = stderr.read()
        stderr.close()
    assert rc == 0, log

    # remove: programs go, configuration stays, the unit is masked while it is gone.
    run(["dpkg", "--remove", "minerwatch"], timeout=120)
    assert dpkg_status() == "config-files"
    assert not os.path.exists("/usr/sbin/minerwatchd") and not os.path.exists(UNIT)
    assert all(os.path.exists(p) for p in CONFFILES)
    assert os.readlink(MASK) == "/dev/null"

    # purge: configuration, data and the enable/mask symlinks go; the group stays
    # (see deploy/deb/postrm for why).
    run(["dpkg", "--purge", "minerwatch"], timeout=120)
    assert dpkg_status() == "not-installed"
    for path in [p for p, _ in DEB_FILES] + ["/etc/minerwatch", WANTS, MASK, DSH_STATE] \
            + DATA_DIRS:
        assert not os.path.lexists(path), f"{path} is left after purge"
    assert group_exists()


# --- rpm ---------------------------------------------------------------------

RPM_FILES = {
    # path: (mode, file flags) in the prebuilt RPM: c config, n noreplace, d documentation.
    "/usr/sbin/minerwatchd": (0o100755, ""),
    "/usr/bin/minerwatch": (0o100755, ""),
    "/usr/share/man/man8/minerwatchd.8.gz": (0o100644, "d"),
    "/usr/share/man/man8/minerwatch.8.gz": (0o100644, "d"),
    "/etc/minerwatch": (0o40755, ""),
    "/etc/minerwatch/minerwatch.conf": (0o100644, "cn"),
    "/etc/minerwatch/pool-names.txt": (0o100644, "cn"),
    "/etc/minerwatch/suppress.conf": (0o100644, "cn"),
    "/etc/logrotate.d/minerwatch": (0o100644, "cn"),
    "/usr/lib/systemd/system/minerwatchd.service": (0o100644, ""),
    "/usr/lib/systemd/system-preset/50-minerwatch.preset": (0o100644, ""),
    "/var/lib/minerwatch": (0o40750, ""),
    "/var/log/minerwatch": (0o40750, ""),
}


def rpm_query(pkg, fmt):
    return run(["rpm", "-qp", "--qf", fmt, pkg]).stdout


def rpm_files(pkg):
    """{path: (mode, fflags)}, without build-id links and documentation."""
    out = rpm_query(pkg, "[%{FILEMODES} %{FILEFLAGS:fflags} %{FILENAMES}\n]")
    files = {}
    for line in out.splitlines():
        mode, flags, path = line.split(" ", 2)
        if path.startswith("/usr/lib/.build-id") or "/share/doc/" in path:
            continue
        files[path] = (int(mode) & 0o177777, flags)
    return files


def test_rpm_is_rpmlint_clean(rpms):
    r = run(["rpmlint", "--strict", "-c", "deploy/rpm/rpmlint.toml",
             "-r", "deploy/rpm/minerwatch.rpmlintrc", "deploy/rpm/minerwatch.spec", *rpms],
            cwd=ROOT, timeout=300, check=False)
    assert r.returncode == 0, r.stdout + r.stderr
    assert re.search(r"\b0 errors, 0 warnings\b", r.stdout), r.stdout


def test_rpm_version_files_and_requires(rpms):
    rpm, srpm = rpms
    assert rpm_query(rpm, "%{VERSION}-%{RELEASE}") == f"{VERSION}-1"
    files = rpm_files(rpm)
    assert files == {p: (m, f) for p, (m, f) in RPM_FILES.items()}, files
    assert "README.md" in run(["rpm", "-qpd", rpm]).stdout

    requires = run(["rpm", "-qp", "--requires", rpm]).stdout.split("\n")
    names = {r.split()[0] for r in requires if r}
    for name in ("elfutils-libelf", "zlib", "json-c", "inih", "libevent", "nettle",
                 "shadow-utils"):
        assert name in names, requires
    assert not names & {"libcurl", "openssl-libs"}, requires
    assert not any("libbpf" in r for r in requires), "libbpf is linked statically"
    build_requires = run(["rpm", "-qp", "--requires", srpm]).stdout
    for name in ("libbpf-static", "bpftool", "clang", "systemd-rpm-macros"):
        assert name in build_requires.split(), build_requires


def run_scriptlet(rpm, tag, arg, tmp, getent_rc=0):
    """Runs one scriptlet with getent, groupadd and systemctl replaced by recorders."""
    log = os.path.join(tmp, "calls")
    bindir = os.path.join(tmp, "bin")
    os.makedirs(bindir, exist_ok=True)
    for cmd, rc in (("getent", getent_rc), ("groupadd", 0), ("systemctl", 0)):
        with open(os.path.join(bindir, cmd), "w") as f:
            f.write(f'#!/bin/sh\necho "{cmd} $*" >> {log}\nexit {rc}\n')
        os.chmod(os.path.join(bindir, cmd), 0o755)
    if os.path.exists(log):
        os.unlink(log)
    script = rpm_query(rpm, f"%{{{tag}}}")
    r = subprocess.run(["/bin/sh", "-c", script, tag, str(arg)], capture_output=True, text=True,
                       timeout=10, env={"PATH": f"{bindir}:/usr/bin:/bin"})
    assert r.returncode == 0, r.stderr
    if not os.path.exists(log):
        return []
    with open(log) as f:
        return f.read().splitlines()


def test_rpm_scriptlets(rpms, tmp):
    rpm = rpms[0]
    # %pre: the group once, idempotent.
    assert run_scriptlet(rpm, "PREIN", 1, tmp, getent_rc=2) == \
        ["getent group minerwatch", "groupadd -r minerwatch"]
    assert run_scriptlet(rpm, "PREIN", 2, tmp, getent_rc=0) == ["getent group minerwatch"]
    # %post: preset (enable, through 50-minerwatch.preset) on first install only.
    assert run_scriptlet(rpm, "POSTIN", 1, tmp) == \
        ["systemctl --no-reload preset minerwatchd.service"]
    assert run_scriptlet(rpm, "POSTIN", 2, tmp) == []
    # %preun: stop and disable on erase, not on upgrade.
    assert run_scriptlet(rpm, "PREUN", 0, tmp) == \
        ["systemctl --no-reload disable --now minerwatchd.service"]
    assert run_scriptlet(rpm, "PREUN", 1, tmp) == []
    # %postun: restart after an upgrade.
    assert "systemctl try-restart minerwatchd.service" in run_scriptlet(rpm, "POSTUN", 1, tmp)
    assert not any("restart" in c for c in run_scriptlet(rpm, "POSTUN", 0, tmp))

    with tempfile.TemporaryDirectory() as d:
        cpio = subprocess.run(["rpm2cpio", rpm], capture_output=True, timeout=60, check=True)
        subprocess.run(["cpio", "-idm", "--quiet"], input=cpio.stdout, cwd=d, check=True,
                       timeout=60)
        with open(os.path.join(d, "usr/lib/systemd/system-preset/50-minerwatch.preset")) as f:
            assert "enable minerwatchd.service" in f.read().splitlines()


def test_srpm_rebuilds_from_source(rpms, tmp):
    """The Amazon Linux 2023 path of the spec: %build and %install from the tarball."""
    rpm, srpm = rpms
    top = os.path.join(tmp, "rpmbuild")
    # --nodeps: Debian's rpm database is empty, the build dependencies are Debian's.
    run(["rpmbuild", "--quiet", "--nodeps", "--define", f"_topdir {top}", "--rebuild", srpm],
        timeout=600)
    built = os.path.join(top, "RPMS", os.uname().machine, os.path.basename(rpm))
    assert os.path.isfile(built)
    # rpm on Debian does not compress manual pages (its brp-compress needs bash); on AL2023
    # they are compressed as in the prebuilt package.
    def unzipped(files):
        return {p.removesuffix(".gz"): v for p, v in files.items()}

    assert unzipped(rpm_files(built)) == unzipped(rpm_files(rpm))
    d = os.path.join(tmp, "root")
    os.mkdir(d)
    cpio = subprocess.run(["rpm2cpio", built], capture_output=True, timeout=60, check=True)
    subprocess.run(["cpio", "-idm", "--quiet"], input=cpio.stdout, cwd=d, check=True, timeout=60)
    out = run([os.path.join(d, "usr/bin/minerwatch"), "version"]).stdout.strip()
    assert out == f"minerwatch {VERSION}"
