# SPDX-License-Identifier: Apache-2.0
"""Options, configuration checks and exit codes of SPEC 4."""
import os
import subprocess

from conftest import DAEMON, safe_env


def run(*args, timeout=20, env=None):
    return subprocess.run([DAEMON, *args], capture_output=True, text=True, timeout=timeout,
                          env=safe_env(env))


def write(tmp, name, text):
    path = os.path.join(tmp, name)
    with open(path, "w") as f:
        f.write(text)
    return path


def test_check_config_accepts_a_good_file(tmp):
    conf = write(tmp, "ok.conf", "# comment\n[minerwatchd]\nlog_level = debug\n"
                 "cpu_busy_cores = 1.5\nlong_connection_seconds = 120\n")
    r = run("-n", "-c", conf)
    assert r.returncode == 0, r.stderr
    assert "configuration OK" in r.stdout


def test_check_config_names_line_and_reason(tmp):
    conf = write(tmp, "bad.conf", "log_level = info\nmax_connections = 12\n")
    r = run("--check-config", "-c", conf)
    assert r.returncode == 1
    assert "bad.conf:2" in r.stderr and "out of range" in r.stderr


def test_unknown_key_is_a_config_error(tmp):
    conf = write(tmp, "unk.conf", "colour = blue\n")
    r = run("-c", conf, "-o", "-")
    assert r.returncode == 1
    assert "unknown option" in r.stderr


def test_named_missing_config_is_an_error(tmp):
    r = run("-c", os.path.join(tmp, "absent.conf"))
    assert r.returncode == 1
    assert "absent.conf" in r.stderr


def test_flags_win_over_the_file(tmp):
    conf = write(tmp, "f.conf", "format = ocsf\n")
    assert run("-n", "-c", conf, "--format", "asff").returncode == 0
    r = run("-n", "-c", conf, "--format", "xml")
    assert r.returncode == 1 and "--format" in r.stderr


def test_missing_btf_file_is_an_environment_error(tmp):
    r = run("-c", write(tmp, "e.conf", ""), "-o", os.path.join(tmp, "f.jsonl"),
            "-s", os.path.join(tmp, "s.sock"), "--state-dir", os.path.join(tmp, "st"),
            "--btf", os.path.join(tmp, "no-such-btf"))
    assert r.returncode == 2
    assert "BTF" in r.stderr


def test_bad_usage_exits_one():
    assert run("--no-such-option").returncode == 1
    assert run("stray-argument").returncode == 1


def test_finding_format_is_checked(tmp):
    conf = write(tmp, "a.conf", "")
    assert run("-c", conf, "--format", "asff", "--check-config").returncode == 0
    r = run("-c", conf, "--format", "cef", "--check-config")
    assert r.returncode == 1
    assert "format" in r.stderr


def test_every_documented_key_in_the_shipped_config_is_valid(tmp):
    """deploy/minerwatch.conf documents each key commented out: all must parse."""
    root = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))
    with open(os.path.join(root, "deploy", "minerwatch.conf")) as f:
        lines = f.read().splitlines()
    keys = [ln[1:] for ln in lines if ln.startswith("#") and " = " in ln and ln[1] != " "]
    assert len(keys) > 30
    conf = write(tmp, "all.conf", "\n".join(
        k for k in keys if not k.startswith(("btf =", "cgroup_root =", "pool_names_file",
                                             "suppress_file"))) + "\n")
    r = run("-n", "-c", conf)
    assert r.returncode == 0, r.stderr


def test_named_list_files_must_exist_and_parse(tmp):
    missing = write(tmp, "m.conf", f"pool_names_file = {tmp}/none.txt\n")
    r = run("-n", "-c", missing)
    assert r.returncode == 1 and "none.txt" in r.stderr
    bad = write(tmp, "bad.txt", "pool.test\nnot a name\n")
    r = run("-n", "-c", write(tmp, "b.conf", f"pool_names_file = {bad}\n"))
    assert r.returncode == 1 and "bad.txt:2" in r.stderr
    sup = write(tmp, "s.conf", "path relative/x\n")
    r = run("-n", "-c", write(tmp, "c.conf", f"suppress_file = {sup}\n"))
    assert r.returncode == 1 and "s.conf:1" in r.stderr


def test_files_that_are_not_regular_are_refused_at_once(tmp):
    """A FIFO with no writer would block start-up for ever; a device or a
    directory is no configuration either. Each is a config error naming the
    file, returned at once (run() times out after 20 s)."""
    fifo = os.path.join(tmp, "conf.fifo")
    os.mkfifo(fifo)
    for path in (fifo, "/dev/zero", tmp):
        r = run("-n", "-c", path)
        assert r.returncode == 1, (path, r.stderr)
        assert path in r.stderr and "not a regular file" in r.stderr, r.stderr
    for key in ("pool_names_file", "suppress_file"):
        r = run("-n", "-c", write(tmp, f"{key}.conf", f"{key} = {fifo}\n"))
        assert r.returncode == 1 and "not a regular file" in r.stderr, r.stderr
