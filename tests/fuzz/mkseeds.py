#!/usr/bin/env python3
# SPDX-License-Identifier: Apache-2.0
"""Writes the committed seed corpora (tests/fuzz/corpus/HARNESS/) and the
dictionaries (tests/fuzz/HARNESS.dict) of the libFuzzer harnesses.

Seeds come from the recorded corpora in tests/corpus (protocol messages,
ClientHellos, cgroup files, IMDS and ECS replies), the shipped config file,
and records built here to the layout of bpf/minerwatch.h. Run from the
repository root; it replaces what it writes and nothing else:

    python3 tests/fuzz/mkseeds.py
"""
import json
import os
import re
import shutil
import struct

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
FUZZ = os.path.join(ROOT, "tests", "fuzz")
CORPUS = os.path.join(ROOT, "tests", "corpus")

# bpf/minerwatch.h
EV_EXEC, EV_EXIT, EV_CONNECT, EV_CLOSE, EV_PAYLOAD, EV_DNS = 1, 2, 3, 4, 5, 6
DIR_OUT, DIR_IN = 0, 1
PAYLOAD_LEN = 512
PAYLOAD_CLASSES = (64, 192, PAYLOAD_LEN)  # MW_PAYLOAD_CLASS_S, _M, MW_PAYLOAD_LEN
SEC = 1000000000
T0 = 5000 * SEC


def out_dir(harness):
    d = os.path.join(FUZZ, "corpus", harness)
    if os.path.isdir(d):
        shutil.rmtree(d)
    os.makedirs(d)
    return d


def put(d, name, data):
    if isinstance(data, str):
        data = data.encode()
    with open(os.path.join(d, name), "wb") as f:
        f.write(data)


def read(path):
    with open(path, "rb") as f:
        return f.read()


def copy_tree(src, harness):
    d = out_dir(harness)
    for name in sorted(os.listdir(src)):
        p = os.path.join(src, name)
        if os.path.isfile(p) and name != "README":
            shutil.copyfile(p, os.path.join(d, name))


def fixed(s, n):
    s = s.encode() if isinstance(s, str) else s
    return s[:n].ljust(n, b"\0")


# --- records -----------------------------------------------------------------

def hdr(typ, pid, ts):
    return struct.pack("<IIQ", typ, pid, ts)


def exec_rec(pid, start, comm, filename, args, ppid=1, uid=0, gid=0, cgroup=1,
             args_len=None, ts=T0):
    a = b"\0".join(x.encode() for x in args) + b"\0"
    r = hdr(EV_EXEC, pid, ts) + struct.pack(
        "<IIIIQQ", ppid, uid, gid, len(a) if args_len is None else args_len, start, cgroup)
    r += fixed(comm, 16) + fixed(filename, 256) + fixed(a, 256)
    assert len(r) == 576
    return r


def exit_rec(pid, start, comm, ts=T0):
    r = hdr(EV_EXIT, pid, ts) + struct.pack("<QII", start, 0, 0) + fixed(comm, 16)
    assert len(r) == 48
    return r


def close_rec(pid, cookie, port, addr=(127, 0, 0, 1), ts=T0, connect_ns=T0):
    r = hdr(EV_CLOSE, pid, ts) + struct.pack("<QIHH", cookie, pid, 2, port)
    r += fixed(bytes(addr), 16) + struct.pack("<Q", connect_ns)
    assert len(r) == 56
    return r


def payload_rec(pid, cookie, direction, seg, data, typ=EV_PAYLOAD, length=None,
                seg_len=None, ts=T0, port=3333, addr=(127, 0, 0, 1), connect_ns=T0):
    """A segment of the connection it names (as its first one announces it);
    a DNS query names none."""
    data = data.encode() if isinstance(data, str) else data
    n = len(data) if length is None else length
    r = hdr(typ, pid, ts) + struct.pack("<QIIII", cookie, direction, seg, n,
                                        len(data) if seg_len is None else seg_len)
    if typ == EV_DNS:
        r += b"\0" * 32
    else:
        r += struct.pack("<HHI", 2, port, 0) + fixed(bytes(addr), 16)
        r += struct.pack("<Q", connect_ns)
    # Cut after the first of the kernel's data sizes that holds the data.
    room = next(c for c in PAYLOAD_CLASSES if len(data) <= c)
    r += fixed(data, room)
    assert len(r) == 72 + room
    return r


def chunk(rec):
    return struct.pack("<H", len(rec)) + rec


def tick(seconds=1):
    return struct.pack("<H", 0xC000 | seconds)


def cpu(entries, threads=False):
    body = b"".join(struct.pack("<IQQII", key, samples, T0, tgid, 0)
                    for key, samples, tgid in entries)
    return struct.pack("<H", (0xA000 if threads else 0x8000) | len(entries)) + body


# --- protocol helpers --------------------------------------------------------

def client_hello(host):
    """A minimal TLS 1.2 ClientHello naming host in server_name."""
    h = host.encode()
    sni = struct.pack(">BH", 0, len(h)) + h
    sni = struct.pack(">H", len(sni)) + sni
    ext = struct.pack(">HH", 0, len(sni)) + sni
    ext += struct.pack(">HH", 10, 4) + struct.pack(">HH", 2, 29)  # supported_groups
    body = struct.pack(">H", 0x0303) + bytes(range(32)) + b"\0"
    body += struct.pack(">H", 4) + struct.pack(">HH", 0xC02F, 0x009C) + b"\x01\x00"
    body += struct.pack(">H", len(ext)) + ext
    hs = b"\x01" + struct.pack(">I", len(body))[1:] + body
    return b"\x16\x03\x01" + struct.pack(">H", len(hs)) + hs


def dns_query(name, qtype=1, flags=0x0100, qd=1, ident=0x1234):
    q = b"".join(bytes([len(l)]) + l.encode() for l in name.split(".")) + b"\0"
    return struct.pack(">HHHHHH", ident, flags, qd, 0, 0, 0) + q + struct.pack(">HH", qtype, 1)


STRATUM_SUB = '{"id":1,"method":"mining.subscribe","params":["cpuminer/2.5.1"]}\n'
STRATUM_NOTIFY = ('{"id":null,"method":"mining.notify","params":["4f","00ab","01","02",[],'
                  '"20000000","1d00ffff","5f5e1000",true]}\n')
XMRIG_LOGIN = ('{"id":1,"jsonrpc":"2.0","method":"login","params":{"login":'
               '"48edfHu7V9Z84YzzMa6fUueoELZ9ZRXq9VetWzYGzKt52XU5xvqgzYnDK9URnRoJMk1j8nLwEVsaSWJ4fhdUyZijBGUicoD",'
               '"pass":"x","agent":"XMRig/6.21.0 (Linux x86_64) libuv/1.44.2 gcc/12.2.0","rigid":""}}\n')


def seeds_records():
    d = out_dir("fuzz_records")
    miner_args = ["/tmp/.x/xmrig", "-o", "stratum+tcp://pool.supportxmr.com:3333", "-u",
                  "48edfHu7V9Z84YzzMa6fUueoELZ9ZRXq9VetWzYGzKt52XU5xvqg", "--threads=2"]
    start = T0 - 3 * SEC
    put(d, "stratum-miner-lifecycle",
        chunk(exec_rec(1000, start, "xmrig", "/tmp/.x/xmrig", miner_args))
        + chunk(payload_rec(1000, 11, DIR_OUT, 0, STRATUM_SUB))
        + chunk(payload_rec(1000, 11, DIR_IN, 0, STRATUM_NOTIFY))
        + cpu([(1000, 99, 1000)]) + cpu([(1001, 99, 1000), (1002, 98, 1000)], threads=True)
        + tick(1) + cpu([(1000, 198, 1000)]) + tick(1)
        + chunk(close_rec(1000, 11, 3333))
        + chunk(exit_rec(1000, start, "xmrig")) + tick(1))
    half = len(XMRIG_LOGIN) // 2
    put(d, "xmrig-login-two-segments",
        chunk(exec_rec(1100, start, "python3", "/usr/bin/python3", ["python3", "miner.py"]))
        + chunk(payload_rec(1100, 12, DIR_OUT, 0, XMRIG_LOGIN[:half], seg_len=half,
                            port=10128))
        + chunk(payload_rec(1100, 12, DIR_OUT, 1, XMRIG_LOGIN[half:], port=10128))
        + tick(2))
    put(d, "tls-sni-pool-name",
        chunk(exec_rec(1200, start, "kworkerds", "/var/tmp/kworkerds", ["kworkerds"]))
        + chunk(payload_rec(1200, 13, DIR_OUT, 0, client_hello("xmr.pool.supportxmr.com"),
                            port=443))
        + tick(1))
    put(d, "dns-pool-name",
        chunk(exec_rec(1300, start, "curl", "/usr/bin/curl", ["curl", "https://c3pool.com/"]))
        + chunk(payload_rec(1300, 0, DIR_OUT, 0, dns_query("auto.c3pool.org"), typ=EV_DNS))
        + chunk(payload_rec(1300, 0, DIR_OUT, 0, dns_query("example.org", qtype=28), typ=EV_DNS))
        + tick(1))
    put(d, "long-argv-and-pid-reuse",
        chunk(exec_rec(1400, start, "sh", "/bin/sh", ["sh", "-c", "x" * 300], args_len=4096))
        + chunk(exec_rec(1400, start + 5 * SEC, "sleep", "/bin/sleep", ["sleep", "1"]))
        + chunk(exit_rec(1400, start, "sh"))
        + chunk(exit_rec(1400, start + 5 * SEC, "sleep")))
    put(d, "hostile-lengths",
        chunk(exec_rec(1500, start, "a\nb\x1b[31m", "/tmp/x y", ["\x1b]0;t\x07"]))
        + chunk(payload_rec(1500, 14, DIR_OUT, 0, STRATUM_SUB, length=0xFFFFFFFF,
                            seg_len=0xFFFFFFFF, port=4444))
        + chunk(payload_rec(1500, 14, 7, 0, STRATUM_SUB, port=4444))
        # The same socket again, connected anew (after connect(AF_UNSPEC)).
        + chunk(payload_rec(1500, 14, DIR_OUT, 1, STRATUM_SUB, port=4444, connect_ns=T0 + SEC))
        + chunk(payload_rec(1500, 0, DIR_OUT, 0, b"\xc0\x0c" * 20, typ=EV_DNS, length=9999))
        + tick(0))
    put(d, "bad-records",
        chunk(b"") + chunk(hdr(0, 1, T0)) + chunk(hdr(99, 1, T0) + b"\0" * 64)
        + chunk(exec_rec(1600, start, "x", "/x", ["x"])[:100])
        # Announcements ride on payload records: a record of their type is bad.
        + chunk(hdr(EV_CONNECT, 1600, T0) + b"\0" * 48)
        + chunk(close_rec(1600, 15, 80)[:55])
        + chunk(payload_rec(1600, 15, DIR_OUT, 0, "x")[:71])
        + chunk(payload_rec(1600, 15, DIR_OUT, 0, "x" * 100)[:73])
        + chunk(exit_rec(1600, start, "x")[:47])
        + chunk(hdr(EV_EXIT, 1600, T0)[:15]))
    # Regressions: inputs that once crashed a harness (see test_fuzz_regressions.c).
    put(d, "regress-start-time-overflow",
        chunk(exec_rec(1700, 0x7fffffff00000000, "xmrig", "/tmp/xmrig", ["xmrig"]))
        + chunk(payload_rec(1700, 16, DIR_OUT, 0, STRATUM_SUB)))
    put(d, "regress-cgroup-cores-overflow",
        chunk(exec_rec(1800, start, "xmrig", "/tmp/xmrig", ["xmrig"], cgroup=5))
        + cpu([(1800, 2**64 - 1, 1800)]) + tick(1)
        + chunk(payload_rec(1800, 18, DIR_OUT, 0, STRATUM_SUB)))
    put(d, "regress-cores-ratio-overflow",
        chunk(exec_rec(1900, start, "xmrig", "/tmp/xmrig", ["xmrig"]))
        + cpu([(1900, 2**63, 1900)])
        + chunk(payload_rec(1900, 19, DIR_OUT, 0, STRATUM_SUB)))
    put(d, "regress-empty-payload-segment",
        chunk(exec_rec(2000, start, "xmrig", "/tmp/xmrig", ["xmrig"]))
        + chunk(payload_rec(2000, 20, DIR_OUT, 0, b"", length=0, seg_len=0))
        + chunk(payload_rec(2000, 20, DIR_OUT, 1, STRATUM_SUB)))
    put(d, "cpu-only", cpu([(1, 5, 1), (2, 400, 2), (0xFFFFFFFF, 2**64 - 1, 0)])
        + cpu([(3, 0, 1)], threads=True) + tick(1) + cpu([(2, 0, 2)]) + tick(8191))


def seeds_protocol():
    d = out_dir("fuzz_protocol")
    src = os.path.join(CORPUS, "protocol")
    pool_side = ("notify", "set_difficulty", "login+result", "__job")
    for name in sorted(os.listdir(os.path.join(src, "positive"))):
        data = read(os.path.join(src, "positive", name))
        ctl = 0x40 if any(k in name for k in pool_side) else 0x00
        put(d, "pos-" + name[:-4], bytes([ctl]) + data)
    for name in sorted(os.listdir(os.path.join(src, "negative"))):
        put(d, "neg-" + name[:-4], b"\x00" + read(os.path.join(src, "negative", name)))
    for name in sorted(os.listdir(os.path.join(src, "split"))):
        if not name.endswith(".1"):
            continue
        first = read(os.path.join(src, "split", name))
        second = read(os.path.join(src, "split", name[:-2] + ".2"))
        # 48-byte segments, marked as cut: the pieces are joined by a newline.
        put(d, "split-" + name[:-2], b"\x86" + first + second)
        put(d, "split8-" + name[:-2], b"\x01" + first + second)


def seeds_tls():
    d = out_dir("fuzz_tls")
    for name in ("clienthello-tls12.bin", "clienthello-tls13.bin"):
        data = read(os.path.join(CORPUS, "tls", name))
        put(d, name[:-4], data)
        put(d, name[:-4] + "-cut100", data[:100])
    put(d, "built-sni", client_hello("pool.supportxmr.com"))
    put(d, "built-sni-bad-char", client_hello("pool_x.example;com"))


def seeds_dns():
    d = out_dir("fuzz_dns")
    put(d, "a-pool", dns_query("pool.supportxmr.com"))
    put(d, "aaaa-upper", dns_query("XMR.2Miners.COM", qtype=28))
    put(d, "txt-underscore", dns_query("_dmarc.example.org", qtype=16))
    put(d, "label-63", dns_query("a" * 63 + ".example"))
    put(d, "response", dns_query("pool.supportxmr.com", flags=0x8180))
    put(d, "no-question", dns_query("pool.supportxmr.com", qd=0))
    put(d, "opcode-status", dns_query("x.org", flags=0x1000))
    q = dns_query("pool.supportxmr.com")
    put(d, "cut-before-zero-label", q[:12 + 10])
    put(d, "pointer", q[:12] + b"\xc0\x0c" + b"\0\x01\0\x01")


def seeds_control():
    d = out_dir("fuzz_control")
    reqs = {
        "status": '{"cmd":"status"}\n', "findings": '{"cmd":"findings"}\n',
        "version": '{"cmd":"version"}\n', "unknown": '{"cmd":"reboot"}\n',
        "number": '{"cmd":1}\n', "array": '["status"]\n', "empty": "\n",
        "garbage": "GET / HTTP/1.0\r\n\r\n", "no-newline": '{"cmd":"status"}',
        "nul-escape": '{"cmd":"status\\u0000x"}\n', "trailing": '{"cmd":"version"} {}\n',
        "duplicate": '{"cmd":"nope","cmd":"status"}\n', "nested": "[" * 200 + "]" * 200 + "\n",
        "long": '{"cmd":"' + "s" * 5000 + '"}\n', "utf8": '{"cmd":"st\u00e4tus","x":"\xff"}\n',
    }
    for name, text in reqs.items():
        put(d, name, text.encode("utf-8", "surrogateescape"))


def seeds_journal():
    """Findings journals (user/report/journal.c) as a restart reads them."""
    d = out_dir("fuzz_journal")
    uid = "0a1b2c3d-0000-4000-8000-00000000a001"
    ocsf = {"class_uid": 2004, "category_uid": 2, "activity_id": 2, "type_uid": 200402,
            "time": 1718000005000, "severity_id": 4, "status_id": 1,
            "finding_info": {"uid": uid, "title": "Cryptominer: Stratum"},
            "evidences": [{"process": {"pid": 4242, "name": "xmrig"}}]}
    asff = {"SchemaVersion": "2018-10-08", "Id": uid, "UpdatedAt": "2024-06-10T06:13:25.000Z",
            "ProductFields": {"minerwatch/Activity": "Update"},
            "Process": {"Name": "xmrig", "Pid": 4242}}

    def line(o):
        return json.dumps(o, separators=(",", ":"))

    def entry(o):
        return {"uid": uid, "pid": 4242, "start_ticks": 123456, "first_seen_ms": 1718000000000,
                "last_seen_ms": 1718000005000, "last_emit_ms": 1718000005000,
                "severity_id": 4, "signal_mask": 21, "peers_reported": 1, "line": line(o)}

    journals = {
        "ocsf_open": {"version": 1, "boot_id": "6b1c0d0e", "open": [entry(ocsf)],
                      "pending": [line(ocsf)]},
        "asff_open": {"version": 1, "boot_id": "6b1c0d0e", "open": [entry(asff)], "pending": []},
        "empty": {"version": 1, "boot_id": "6b1c0d0e", "open": [], "pending": []},
        "pending_only": {"version": 1, "boot_id": "b", "open": [],
                         "pending": ['{"a":1}', '{"class_uid":6008}']},
    }
    for name, j in journals.items():
        put(d, name, (line(j) + "\n").encode())
    put(d, "torn", b'{"version":1,"boot_id":"b","open":[')


def config_keys():
    text = read(os.path.join(ROOT, "user", "daemon", "config.c")).decode()
    keys = re.findall(r'IS\("([a-z0-9_]+)"\)', text)
    keys += re.findall(r'\{ "([a-z0-9_]+)", offsetof', text)
    return sorted(set(keys))


def seeds_config():
    d = out_dir("fuzz_config")
    put(d, "shipped", read(os.path.join(ROOT, "deploy", "minerwatch.conf")))
    put(d, "small", "[minerwatchd]\nformat = asff\nringbuf_kib = 4096\npool_ports = 3333, 4444 5555\n"
        "imds = false\nlog_level = debug\nweight_wallet = 40\ncpu_busy_cores = 0.5\n")
    put(d, "crlf-comments", "; comment\r\n# another\r\noutput = -\r\nhooks = raw_tp\r\n")
    put(d, "bad-value", "ringbuf_kib = 100\n")
    put(d, "bad-section", "[other]\nformat = ocsf\n")
    put(d, "bad-syntax", "format\n")
    put(d, "long-line", "# " + "c" * 300 + "\noutput = /" + "o" * 300 + "\n")
    put(d, "indented", "format = ocsf\n    log_level = warn\n")
    put(d, "urls", "imds_endpoint = http://[fd00:ec2::254]\necs_agent_url = https://x\n"
        "imds_endpoint_mode = IPv6\n")
    put(d, "empty", "")
    d = out_dir("fuzz_config_set")
    put(d, "all-defaults", "".join("%s=%s\n" % kv for kv in [
        ("output", "-"), ("format", "asff"), ("ringbuf_kib", "65536"), ("imds", "no"),
        ("pool_ports", " 1,2,,3 "), ("miner_names", "xmrig,t-rex"), ("cpu_busy_cores", "1e2"),
        ("low_rate_bytes_per_minute", "4294967295"), ("imds_endpoint_mode", "ipv4"),
        ("high_score", "1000"), ("log_level", "ERROR"), ("max_processes", "256")]))
    put(d, "rejects", "ringbuf_kib=65\nimds_timeout_ms=-1\ncpu_busy_cores=nan\npool_ports=0\n"
        "format=\nunknown=1\nimds_endpoint=ftp://x\nmax_connections=99999999999999999999\n")
    put(d, "keys", "".join("%s=1\n" % k for k in config_keys()))


def write_dict(name, words):
    def esc(w):
        w = w.encode() if isinstance(w, str) else w
        return "".join(chr(b) if 0x20 <= b < 0x7f and b not in (0x22, 0x5c) else "\\x%02x" % b
                       for b in w)
    with open(os.path.join(FUZZ, name + ".dict"), "w") as f:
        f.write("# libFuzzer dictionary for %s; written by tests/fuzz/mkseeds.py\n" % name)
        for w in words:
            f.write('"%s"\n' % esc(w))


def dicts():
    write_dict("fuzz_protocol", [
        '"method"', '"params"', '"id"', '"jsonrpc"', '"result"', '"job"', '"agent"', '"rigid"',
        '"login"', '"pass"', '"job_id"', '"nonce"', '"blob"', '"target"', "mining.subscribe",
        "mining.authorize", "mining.submit", "mining.notify", "mining.set_difficulty",
        "mining.configure", "mining.extranonce.subscribe", "eth_submitLogin", "eth_getWork",
        "eth_submitWork", "eth_submitHashrate", "keepalived", "submit", "login", "job", "\r\n",
        "GET ", "POST ", "SSH-", b"\x16\x03\x01"])
    write_dict("fuzz_cgroup", [
        "0::/", "1:name=systemd:/", "4:cpu,cpuacct:/", "7:memory:/", "docker-", ".scope",
        "cri-containerd-", "crio-", "libpod-", "/docker/", "kubepods", "kubepods-burstable-pod",
        "/kubepods/besteffort/pod", ".slice", "ecstasks-", "/ecstasks.slice/", "/ecs/",
        " (deleted)", "libpod-conmon-", "crio-conmon-", "/../", "0123456789abcdef",
        "3f2a1b0c9d8e7f6a5b4c3d2e1f0a9b8c"])
    write_dict("fuzz_imds", [
        '"accountId"', '"region"', '"instanceId"', '"availabilityZone"', '"imageId"',
        '"instanceType"', '"architecture"', '"privateIp"', '"123456789012"', '"us-east-1"',
        '"cn-north-1"', '"us-gov-west-1"', '"i-0123456789abcdef0"', '"ami-', "\\u0000",
        "10.0.0.1", "21600"])
    write_dict("fuzz_ecs", [
        '"Cluster"', '"ContainerInstanceArn"', '"Version"', '"Arn"', '"Family"',
        '"KnownStatus"', '"DesiredStatus"', '"Containers"', '"DockerId"', '"Name"',
        '"DockerName"', '"Image"', '"ImageID"', "arn:aws:ecs:us-east-1:123456789012:",
        "arn:aws-cn:", "arn:aws-us-gov:", ":task/", ":cluster/", "container-instance/",
        "\\u0000", '"3f2a1b0c9d8e7f6a5b4c3d2e1f0a9b8c7d6e5f4a3b2c1d0e9f8a7b6c5d4e3f2a"'])
    keys = config_keys()
    values = ["true", "false", "yes", "0", "ipv4", "ipv6", "ocsf", "asff", "auto", "tp_btf",
              "raw_tp", "debug", "http://", "https://", "65536", "4294967296", "1e308"]
    write_dict("fuzz_config", keys + values + ["[minerwatchd]", " = ", "\n#", "\n;"])
    write_dict("fuzz_config_set", [k + "=" for k in keys] + values)
    write_dict("fuzz_control", ['{"cmd":', '"status"', '"findings"', '"version"', "\\u0000",
                                "\\ud800", "[", "{", "}", "\n"])


def main():
    seeds_protocol()
    seeds_tls()
    seeds_dns()
    seeds_records()
    seeds_control()
    seeds_journal()
    seeds_config()
    copy_tree(os.path.join(CORPUS, "cgroup"), "fuzz_cgroup")
    copy_tree(os.path.join(CORPUS, "imds"), "fuzz_imds")
    copy_tree(os.path.join(CORPUS, "ecs"), "fuzz_ecs")
    dicts()


if __name__ == "__main__":
    main()
