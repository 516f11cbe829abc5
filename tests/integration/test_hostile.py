# SPDX-License-Identifier: Apache-2.0
"""Hostile input (SPEC 5, 7, 10): a miner whose comm, argv, executable path
and parent's comm carry newlines, ANSI/OSC escapes, C1 controls, invalid
UTF-8, empty arguments and a 128 KiB argument is still reported, and every
record stays one valid JSON line that passes ocsf-validate, with no control
character in any decoded string, bounded, and still naming the process.
`minerwatch status` and `findings` show it without passing escapes to the
terminal.

The sensor's promise (user/common/text.h, README "Findings"): attacker-
controlled text becomes valid UTF-8 with no control characters; invalid
bytes and C0/C1 controls and DEL become the four characters "\\xNN", a NUL
(an argv separator) a space, and the result is bounded, ending in "..." when
cut. `mw_escape` below restates that rule so the tests can check that what
is reported is what the process really carries, not just that it is clean.
"""
import json
import os
import pickle
import shutil
import signal
import subprocess
import sys

from awssim import imds_sim  # noqa: F401 (fixture)
from conftest import CLI, TOOLS, VALIDATOR, wait_for
from test_cloud_context import IMDS_ARGS, check_asff_file, securityhub_model, wait_instance

DEADLINE = 60  # generous: a full suite may be running next to this one

# The bounds finding.c puts on attacker-controlled text, output bytes with
# the terminating NUL (NAME_MAX_OUT, CMDLINE_MAX_OUT, PATH_MAX_OUT, the
# desc and title sizes), and asff.c's (Security Hub's documented limits).
OCSF_NAME_MAX = 256
OCSF_CMDLINE_MAX = 8192
OCSF_PATH_MAX = 2048
OCSF_DESC_MAX = 4096
OCSF_TITLE_MAX = 512
ASFF_NAME_MAX = 128
ASFF_PATH_MAX = 512
ASFF_TITLE_MAX = 256
ASFF_DESC_MAX = 1024
# A whole record: every field above, even if json doubled each byte of it
# (every backslash of "\\xNN" is written as "\\\\"), plus the fixed parts,
# is far below this; the miner's argv alone is more than twice as long.
LINE_MAX = 64 * 1024

# The longest single argument the kernel takes (MAX_ARG_STRLEN, with its NUL).
ARG_MAX_BYTES = 128 * 1024 - 1

# A directory and file name with spaces, a newline, a carriage return, SGR
# and OSC escapes (ESC ] 0 ; title BEL sets a terminal's title), a C1 CSI
# both as UTF-8 (U+009B) and as a bare byte, DEL, invalid UTF-8 and a valid
# accented letter, which must come through as it is.
HOSTILE_DIR = (b"dir with spaces \x1b[31mred\x1b[0m\nsecond line\r "
               b"\x1b]0;owned\x07 \xc2\x9b2J \x9b \x7f \xff\xfe caf\xc3\xa9")
HOSTILE_NAME = b"miner \x1b[2J\x1b[H\n\xe2\x9c\x93 \xed\xa0\x80.bin"
# comm (15 bytes, the most the kernel keeps), set with prctl(PR_SET_NAME):
# SGR, BEL, an invalid byte, U+009B, OSC, and a newline at the very end,
# which /proc/PID/comm shows followed by its own newline.
HOSTILE_COMM = b"\x1b[31m\x07\xff\xc2\x9b\x1b]0;x\n"
PARENT_COMM = b"\x1b]0;pwn\x07\x9b2J\r\t"
# Operands after minersim's "--": carried in argv, never read by it.
HOSTILE_ARGS = [
    b"line one\nline two\r\n",
    b"\x1b[31mred\x1b[0m \x1b[2J\x1b[H",
    b"",  # an empty argument: two NULs in a row in /proc/PID/cmdline
    b"\x1b]0;title\x07 \x1b]8;;http://127.0.0.1/\x1b\\link\x1b]8;;\x1b\\",
    b"invalid \xff\xfe \xc3\x28 \xe2\x82 \xed\xa0\x80 \xf8\x88\x80\x80\x80 \xc0\xaf",
    b"C1 \xc2\x9b31m \xc2\x85 \xc2\x9d \x9b31m",
    b"DEL\x7f BS\x08 VT\x0b FF\x0c TAB\t ESC\x1b",
    b"kept: caf\xc3\xa9 \xe2\x9c\x93 \xf0\x9f\x98\x80",
    b"",
]
# Hostile bytes all through (ESC, an invalid byte, newline, BEL, a bare C1
# CSI, DEL), each escaped alone into four characters, so the part of it the
# sensor reads escapes to far more than the cmd_line bound, and any cut of
# its escaped form is a prefix of it (no multi-byte sequence, no '.').
BIG_ARG = (b"\x1b\xff\n\x07\x9b\x7f" * (ARG_MAX_BYTES // 6 + 1))[:ARG_MAX_BYTES]


def _seq_len(b, i):
    """Length of the valid UTF-8 sequence at b[i], or 0 (text__utf8_seq_len)."""
    c = b[i]
    if c < 0x80:
        return 1
    n = 2 if 0xc2 <= c <= 0xdf else 3 if 0xe0 <= c <= 0xef else 4 if 0xf0 <= c <= 0xf4 else 0
    if not n or i + n > len(b):
        return 0
    try:
        b[i:i + n].decode("utf-8")  # strict: no overlongs, surrogates or > U+10FFFF
    except UnicodeDecodeError:
        return 0
    return n


def mw_escape(b):
    """The escaped form of raw bytes, as the sensor promises it (unbounded)."""
    out, i = [], 0
    while i < len(b):
        n = _seq_len(b, i)
        if n == 1 and b[i] == 0:
            out.append(" ")
        elif n == 0 or (n == 1 and (b[i] < 0x20 or b[i] == 0x7f)) or \
                (n == 2 and b[i] == 0xc2 and b[i + 1] <= 0x9f):
            out.append("\\x%02x" % b[i])
            n = 1
        else:
            out.append(b[i:i + n].decode("utf-8"))
        i += n
    return "".join(out)


def terminal_controls(s, allowed=""):
    """The characters of s a terminal would act on: C0, DEL and C1."""
    return [c for c in s if (ord(c) < 0x20 or 0x7f <= ord(c) <= 0x9f) and c not in allowed]


def strings_in(v, path="$"):
    """Every string of a decoded JSON value (keys too), with where it is."""
    if isinstance(v, str):
        yield path, v
    elif isinstance(v, dict):
        for k, x in v.items():
            yield f"{path}.<key>", k
            yield from strings_in(x, f"{path}.{k}")
    elif isinstance(v, list):
        for i, x in enumerate(v):
            yield from strings_in(x, f"{path}[{i}]")


def check_lines(path):
    """The output file: one JSON object per line, every line valid UTF-8 with
    no raw control byte, bounded, and no control character in any decoded
    string. Returns the records."""
    with open(path, "rb") as f:
        data = f.read()
    assert data and data.endswith(b"\n"), "the output must be whole lines"
    records = []
    for n, line in enumerate(data.split(b"\n")[:-1], 1):
        assert line, f"line {n} is empty: a record was split"
        assert len(line) <= LINE_MAX, f"line {n} is {len(line)} bytes"
        text = line.decode("utf-8")  # strict: raises on invalid UTF-8
        raw = [hex(c) for c in line if c < 0x20 or c == 0x7f]
        assert not raw, f"line {n} carries raw control bytes {raw[:10]}"
        try:
            rec = json.loads(text)
        except ValueError as e:
            raise AssertionError(f"line {n} is not JSON ({e}): {text[:300]!r}")
        assert isinstance(rec, dict), f"line {n} is not a JSON object"
        for where, s in strings_in(rec):
            bad = terminal_controls(s)
            assert not bad, f"line {n} {where} decodes to control characters {bad!r}: {s!r}"
        records.append(rec)
    return records


def validate_ocsf(path):
    assert os.path.exists(VALIDATOR), f"validator missing: {VALIDATOR}"
    r = subprocess.run([VALIDATOR, path], capture_output=True, text=True, timeout=120)
    assert r.returncode == 0, r.stdout + r.stderr


def utf8_len(s):
    return len(s.encode("utf-8"))


# A parent with a hostile comm of its own, which starts the miner with its
# hostile argv (argv[0] empty, so /proc/PID/cmdline starts with a NUL) from
# its hostile path, waits for it, and takes it down on SIGTERM or when the
# parent itself dies (PR_SET_PDEATHSIG), so the miner never outlives the test.
PARENT = r"""
import ctypes, pickle, signal, subprocess, sys
libc = ctypes.CDLL(None, use_errno=True)
with open(sys.argv[1], "rb") as f:
    spec = pickle.load(f)
libc.prctl(15, spec["comm"], 0, 0, 0)  # PR_SET_NAME
out = open(spec["out"], "wb")
child = subprocess.Popen(spec["argv"], executable=spec["exe"], stdout=out,
                         stderr=subprocess.STDOUT,
                         preexec_fn=lambda: libc.prctl(1, signal.SIGKILL, 0, 0, 0))
signal.signal(signal.SIGTERM, lambda *_: child.terminate())
sys.exit(child.wait())
"""


class HostileMiner:
    """minersim copied to a hostile path and run with a hostile argv and comm,
    under a parent with a hostile comm, against the pool on 127.0.0.1."""

    def __init__(self, tmp, procs, port, duration=120):
        d = os.path.join(os.fsencode(tmp), HOSTILE_DIR)
        os.mkdir(d)
        self.exe = os.path.join(d, HOSTILE_NAME)
        shutil.copy(os.path.join(TOOLS, "minersim"), self.exe)
        os.chmod(self.exe, 0o755)
        assert len(self.exe) < 255, "the path must fit the exec record whole"
        self.argv = [b"", b"--pool", b"127.0.0.1:%d" % port, b"--proto", b"stratum",
                     b"--threads", b"1", b"--duration", b"%d" % duration,
                     b"--submit-interval", b"2", b"--comm", HOSTILE_COMM, b"--",
                     *HOSTILE_ARGS, BIG_ARG]
        self.out = os.path.join(tmp, "hostile-miner.out")
        spec = os.path.join(tmp, "hostile-miner.spec")
        with open(spec, "wb") as f:
            pickle.dump({"comm": PARENT_COMM, "argv": self.argv, "exe": self.exe,
                         "out": self.out}, f)
        self.parent = procs.start_cmd([sys.executable, "-c", PARENT, spec])
        line = wait_for(self._first_line, 20, what="the hostile miner's pid")
        assert line.startswith(b"pid="), line
        self.pid = int(line[4:])

    def _first_line(self):
        if self.parent.poll() is not None:
            raise AssertionError(f"the hostile miner's parent exited with "
                                 f"{self.parent.returncode}: {self._output()!r}")
        out = self._output()
        return out.split(b"\n", 1)[0] if b"\n" in out else None

    def _output(self):
        try:
            with open(self.out, "rb") as f:
                return f.read()
        except FileNotFoundError:
            return b""

    def alive(self):
        try:
            os.kill(self.pid, 0)
            return True
        except ProcessLookupError:
            return False

    def stop(self):
        if self.alive():
            os.kill(self.pid, signal.SIGTERM)


def records_of(path, pid, key):
    """Lines of the output file that are about pid (key picks the pid out)."""
    if not os.path.exists(path):
        return []
    out = []
    with open(path, "rb") as f:
        for line in f:
            try:
                rec = json.loads(line)
            except ValueError:
                continue  # check_lines reports it
            if key(rec) == pid:
                out.append(rec)
    return out


def ocsf_pid(rec):
    try:
        return rec["evidences"][0]["process"]["pid"]
    except (KeyError, IndexError, TypeError):
        return None


def check_process_identified(proc, m):
    """OCSF evidences[0].process names the hostile miner, escaped as promised."""
    assert proc["pid"] == m.pid
    assert proc["name"] == mw_escape(HOSTILE_COMM), proc["name"]
    assert proc["file"]["path"] == mw_escape(m.exe), proc["file"]["path"]
    assert proc["file"]["name"] == mw_escape(HOSTILE_NAME)
    assert len(proc["file"]["hashes"][0]["value"]) == 64
    assert proc["parent_process"]["pid"] == m.parent.pid
    assert proc["parent_process"]["name"] == mw_escape(PARENT_COMM)
    cmd = proc["cmd_line"]
    # Every short argument, in order, each escaped, separated by one space;
    # an empty one leaves two spaces; then the start of the 128 KiB one.
    head = mw_escape(b"\0".join(m.argv[:-1]) + b"\0")
    assert cmd.startswith(head), f"cmd_line {cmd[:len(head) + 40]!r}\nwant {head!r}"
    assert "  " in cmd[:len(head)]
    # What the sensor read of the 128 KiB argument escapes to more than the
    # bound: cut at a whole escape, and marked as cut.
    rest = cmd[len(head):]
    assert rest.endswith("...") and len(rest) > 3, rest[-40:]
    assert mw_escape(BIG_ARG).startswith(rest[:-3]), rest[:200]
    for name, limit in (("cmd_line", OCSF_CMDLINE_MAX), ("name", OCSF_NAME_MAX)):
        assert utf8_len(proc[name]) < limit, (name, utf8_len(proc[name]))
    assert utf8_len(proc["file"]["path"]) < OCSF_PATH_MAX


def check_cli_output(out, what):
    """CLI output: valid UTF-8 that carries no terminal control but \\n and \\t."""
    for b in (b"\x1b", b"\x07", b"\x9b", b"\x00"):
        assert b not in out, f"{what} passes {b!r} to the terminal"
    text = out.decode("utf-8")
    bad = terminal_controls(text, allowed="\n\t")
    assert not bad, f"{what} passes control characters {bad!r} to the terminal"
    return text


def run_cli(sensor, *args):
    r = subprocess.run([CLI, *args, "-s", sensor.socket], capture_output=True, timeout=30)
    what = "minerwatch " + " ".join(args)
    check_cli_output(r.stdout, what)
    check_cli_output(r.stderr, what + " (stderr)")
    return r, r.stdout.decode("utf-8")


def check_cli(sensor, m):
    """status and findings, as text and as JSON, while the finding is open."""
    name = mw_escape(HOSTILE_COMM)
    for cmd in ("status", "findings"):
        r, text = run_cli(sensor, cmd)
        assert r.returncode in (0, 1), (cmd, r.returncode, r.stderr)
        assert f"pid {m.pid}  {name}" in text, text
        assert f"Process {name} (pid {m.pid})" in text, text

        r, text = run_cli(sensor, cmd, "--json")
        assert r.returncode in (0, 1), (cmd, r.returncode, r.stderr)
        assert text.endswith("\n") and text.count("\n") == 1, "not one JSON line"
        reply = json.loads(text)
        assert isinstance(reply, dict)
        for where, s in strings_in(reply):
            assert not terminal_controls(s), (cmd, where, s)
        mine = [f for f in reply["findings"] if f["pid"] == m.pid]
        assert len(mine) == 1, reply["findings"]
        assert mine[0]["name"] == name
        assert mine[0]["why"].startswith(f"Process {name} (pid {m.pid})")


def test_hostile_process_is_reported_as_clean_bounded_json_lines(sensor, procs, pool, tmp):
    m = HostileMiner(tmp, procs, pool)
    try:
        created = wait_for(lambda: [r for r in records_of(sensor.output, m.pid, ocsf_pid)
                                    if r.get("activity_id") == 1],
                           DEADLINE, what=f"a finding for the hostile miner (pid {m.pid})")[0]
        assert created["class_uid"] == 2004 and created["severity_id"] >= 3
        assert created["unmapped"]["protocol"]["name"] == "stratum-v1"
        assert pool in [e["dst_endpoint"]["port"] for e in created["evidences"]
                        if "dst_endpoint" in e]
        check_process_identified(created["evidences"][0]["process"], m)
        fi = created["finding_info"]
        assert f"Process {mw_escape(HOSTILE_COMM)} (pid {m.pid})" in fi["desc"], fi["desc"]
        assert utf8_len(fi["desc"]) < OCSF_DESC_MAX and utf8_len(fi["title"]) < OCSF_TITLE_MAX

        assert m.alive(), "the miner must still run while the CLI shows its finding"
        check_cli(sensor, m)
    finally:
        m.stop()
    wait_for(lambda: [r for r in records_of(sensor.output, m.pid, ocsf_pid)
                      if r.get("activity_id") == 3],
             DEADLINE, what="the Close finding after the hostile miner exits")
    records = check_lines(sensor.output)
    mine = [r for r in records if ocsf_pid(r) == m.pid]
    assert [r["activity_id"] for r in mine][0] == 1 and mine[-1]["activity_id"] == 3
    assert len({r["finding_info"]["uid"] for r in mine}) == 1
    for r in mine:
        assert r["evidences"][0]["process"]["file"]["path"] == mw_escape(m.exe)
    validate_ocsf(sensor.output)


def test_hostile_process_in_asff(imds_sim, sensor_factory, procs, pool, tmp):  # noqa: F811
    securityhub_model()  # fetched first: a missing model fails before the daemon starts
    imds = imds_sim(*IMDS_ARGS)
    s = sensor_factory(env=imds.env(), extra_args=("--format", "asff"))
    wait_instance(s, "available")
    m = HostileMiner(tmp, procs, pool)

    def asff_pid(rec):
        return rec.get("Process", {}).get("Pid") if "SchemaVersion" in rec else None

    try:
        a = wait_for(lambda: records_of(s.output, m.pid, asff_pid), DEADLINE,
                     what=f"an ASFF finding for the hostile miner (pid {m.pid})")[0]
        assert a["Process"]["Name"] == mw_escape(HOSTILE_COMM)
        assert a["Process"]["Path"] == mw_escape(m.exe)
        assert a["Process"]["ParentPid"] == m.parent.pid
        assert f"Process {mw_escape(HOSTILE_COMM)} (pid {m.pid})" in a["Description"]
    finally:
        m.stop()
    wait_for(lambda: [r for r in records_of(s.output, m.pid, asff_pid)
                      if r["ProductFields"].get("minerwatch/Activity") == "Close"],
             DEADLINE, what="the ASFF Close record after the hostile miner exits")
    records = check_lines(s.output)
    # The sensor's own health records (events lost, say to a storm another
    # test runs) are OCSF in either format; everything else must be ASFF.
    asff = [r for r in records if r.get("class_uid") != 6008]
    assert asff and all("SchemaVersion" in r for r in asff), "OCSF finding in ASFF output"
    mine = [r for r in asff if asff_pid(r) == m.pid]
    assert [r["ProductFields"]["minerwatch/Activity"] for r in mine][0] == "Create"
    for r in mine:
        assert r["Process"]["Name"] == mw_escape(HOSTILE_COMM)
        assert utf8_len(r["Process"]["Name"]) < ASFF_NAME_MAX
        assert utf8_len(r["Process"]["Path"]) < ASFF_PATH_MAX
        assert utf8_len(r["Title"]) < ASFF_TITLE_MAX
        assert utf8_len(r["Description"]) < ASFF_DESC_MAX
    only_asff = os.path.join(tmp, "asff.jsonl")
    with open(only_asff, "w", encoding="utf-8") as f:
        f.writelines(json.dumps(r) + "\n" for r in asff)
    check_asff_file(only_asff, m.pid)  # the Security Hub model and ASFF's limits


def test_relative_and_indirect_exec_paths_are_reported_as_the_real_file(sensor, procs, pool,
                                                                        tmp):
    # execve's argument is attacker-chosen: "./x" from a directory with a
    # space, or through "..": the finding names the file the kernel runs.
    d = os.path.join(tmp, "work dir")
    os.makedirs(os.path.join(d, "sub"))
    real = os.path.join(d, "miner")
    shutil.copy(os.path.join(TOOLS, "minersim"), real)
    args = ["--pool", f"127.0.0.1:{pool}", "--proto", "stratum", "--threads", "1",
            "--duration", "120", "--submit-interval", "2"]
    p1 = procs.start_cmd(["./miner", *args], cwd=d)
    p2 = procs.start_cmd(["sub/../miner", *args], cwd=d)
    for p in (p1, p2):
        f = wait_for(lambda: [r for r in sensor.findings()
                              if ocsf_pid(r) == p.pid and r["severity_id"] >= 3],
                     DEADLINE, what=f"a finding for pid {p.pid}")[0]
        path = f["evidences"][0]["process"]["file"]["path"]
        assert path == real, path
