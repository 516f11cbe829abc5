# SPDX-License-Identifier: Apache-2.0
"""Static checks of the deployment artefacts under deploy/ (no AWS, no network).

- ECS: task-definition.json and service.json load as JSON; cloudformation.yaml
  loads as YAML with CloudFormation's short tags (!Ref, !Sub, !GetAtt, ...).
  The keys that make the sensor work and keep it contained are checked: EC2
  launch type, host PID and network namespaces, exactly the capabilities
  documented (among those ECS can grant), not privileged, read-only host
  mounts under /host, --host-root wired, the health check, awslogs, the
  reservations, DAEMON scheduling, an execution role and no task role. The
  CloudFormation task definition must say the same as the JSON one.
- The container image inputs agree with the task definition (entrypoint,
  cgroup root) and the image's config file passes --check-config.
- AMI: every shell script (files, and the shell embedded in the cloud-init
  user-data) passes shellcheck; the user-data carries an identical copy of
  install-minerwatch.sh; the install script itself runs against stub dnf,
  rpm, systemctl, curl and aws commands.
- Packer: there is no Packer here, so the template is read with a small
  parser of the HCL subset it uses (blocks, attributes, strings, numbers,
  lists, objects, references, function calls) and the required pieces are
  checked. When Go and Debian's golang-github-hashicorp-hcl-v2-dev are
  installed, HashiCorp's own HCL parser also parses it (syntax), the block
  and attribute structure must match the small parser's, and the file must be
  in the canonical layout `packer fmt` writes. Neither proves that Packer's
  amazon plugin accepts every attribute: that needs Packer itself.
"""
import hashlib
import json
import os
import re
import shutil
import subprocess
import tempfile

import pytest
import yaml

from conftest import DAEMON, ROOT

DEPLOY = os.path.join(ROOT, "deploy")
ECS = os.path.join(DEPLOY, "ecs")
AMI = os.path.join(DEPLOY, "ami")
TASKDEF = os.path.join(ECS, "task-definition.json")
SERVICE = os.path.join(ECS, "service.json")
CFN = os.path.join(ECS, "cloudformation.yaml")
PACKER = os.path.join(AMI, "minerwatch.pkr.hcl")
USER_DATA = os.path.join(AMI, "user-data.yaml")
INSTALL_SH = os.path.join(AMI, "install-minerwatch.sh")
IMAGE_BUILD_SH = os.path.join(DEPLOY, "image", "build.sh")
IMAGE_CONF = os.path.join(DEPLOY, "image", "minerwatch.conf")

# What ECS can add (SPEC 8), and the subset the sensor is documented to need:
# CAP_SYS_ADMIN stands in for CAP_BPF and CAP_PERFMON, which ECS cannot
# grant; CAP_SYS_PTRACE reads other users' /proc/PID/exe and fd. Neither
# CAP_NET_ADMIN (CAP_SYS_ADMIN also allows the cgroup-skb programs) nor
# CAP_SYS_RESOURCE (the memlock ulimit is unlimited) is needed.
ECS_GRANTABLE = {"SYS_ADMIN", "SYS_RESOURCE", "SYS_PTRACE", "NET_ADMIN"}
NEEDED_CAPS = {"SYS_ADMIN", "SYS_PTRACE"}
# Host paths the task reads, each mounted read-only at /host + the same path.
HOST_READ_ONLY = {"/proc", "/sys/fs/cgroup", "/etc/os-release", "/etc/passwd"}
# The only writable mounts: durable state and the control socket's directory.
WRITABLE = {"/var/lib/minerwatch", "/run/minerwatch"}
SOCKET = "/run/minerwatch/minerwatch.sock"  # also the CLI's default
HEALTH = ["CMD", "/usr/bin/minerwatch", "status", "--quiet"]
CLI_TIMEOUT_S = 5  # the CLI gives up on the daemon after this long


def load_json(path):
    with open(path) as f:
        return json.load(f)


def the_container(td):
    assert len(td["containerDefinitions"]) == 1
    return td["containerDefinitions"][0]


def argv_option(argv, name):
    assert argv.count(name) == 1, (name, argv)
    return argv[argv.index(name) + 1]


# --- ECS task definition -----------------------------------------------------

def test_task_definition_launch_type_and_namespaces():
    td = load_json(TASKDEF)
    assert td["requiresCompatibilities"] == ["EC2"]
    assert td["pidMode"] == "host"
    assert td["networkMode"] == "host"
    c = the_container(td)
    assert c["essential"] is True
    assert c["privileged"] is False
    assert c["readonlyRootFilesystem"] is True


def test_task_definition_capabilities_are_exactly_the_needed_grantable_ones():
    c = the_container(load_json(TASKDEF))
    caps = c["linuxParameters"]["capabilities"]
    add = caps["add"]
    assert len(add) == len(set(add))
    assert set(add) <= ECS_GRANTABLE
    assert set(add) == NEEDED_CAPS
    assert not caps.get("drop")
    # Nothing that would widen the container beyond those capabilities.
    lp = c["linuxParameters"]
    assert not lp.get("devices") and not lp.get("sharedMemorySize")
    for key in ("privileged", "dockerSecurityOptions", "systemControls"):
        assert not c.get(key), key


def test_task_definition_mounts_host_paths_read_only_under_host():
    td = load_json(TASKDEF)
    c = the_container(td)
    volumes = {v["name"]: v for v in td["volumes"]}
    seen_ro, seen_rw = set(), set()
    for m in c["mountPoints"]:
        src = volumes[m["sourceVolume"]]["host"]["sourcePath"]
        if m["readOnly"]:
            assert m["containerPath"] == "/host" + src, m
            seen_ro.add(src)
        else:
            assert m["containerPath"] == src, m
            seen_rw.add(src)
    assert seen_ro == HOST_READ_ONLY
    assert seen_rw == WRITABLE
    # Every volume is used, and none exposes the host's root or a parent of
    # what is needed.
    assert {m["sourceVolume"] for m in c["mountPoints"]} == set(volumes)
    for v in volumes.values():
        assert v["host"]["sourcePath"] not in ("/", "/sys", "/etc", "/run", "/var")


def test_task_definition_command_wires_host_root_stdout_and_socket():
    c = the_container(load_json(TASKDEF))
    argv = c["entryPoint"] + c.get("command", [])
    assert argv[0] == "/usr/sbin/minerwatchd"
    assert argv_option(argv, "--host-root") == "/host"
    assert argv_option(argv, "--output") == "-"  # findings to stdout, for awslogs
    sock = argv_option(argv, "--socket")
    assert sock == SOCKET
    assert any(os.path.dirname(sock) == m["containerPath"] and not m["readOnly"]
               for m in c["mountPoints"])


def test_task_definition_health_check():
    hc = the_container(load_json(TASKDEF))["healthCheck"]
    assert hc["command"] == HEALTH  # CMD: there is no shell in the image
    # ECS's allowed ranges, and room for the CLI's own timeout.
    assert 5 <= hc["interval"] <= 300
    assert CLI_TIMEOUT_S < hc["timeout"] <= 60 and hc["timeout"] < hc["interval"]
    assert 1 <= hc["retries"] <= 10
    assert 0 <= hc["startPeriod"] <= 300


def test_task_definition_logs_resources_and_limits():
    td = load_json(TASKDEF)
    c = the_container(td)
    lc = c["logConfiguration"]
    assert lc["logDriver"] == "awslogs"
    for key in ("awslogs-group", "awslogs-region", "awslogs-stream-prefix"):
        assert lc["options"][key], key
    # Sized from measurements (README): about 16 MiB RSS plus 11 MiB of BPF
    # maps charged to the container, well under 1% of a core.
    assert 32 <= c["memoryReservation"] <= c["memory"]
    assert 0 < c["cpu"] <= 256
    assert {"name": "memlock", "softLimit": -1, "hardLimit": -1} in c["ulimits"]
    assert "taskRoleArn" not in td
    assert td["executionRoleArn"].startswith("arn:aws:iam::")


def test_service_is_a_daemon_on_ec2():
    svc = load_json(SERVICE)
    assert svc["schedulingStrategy"] == "DAEMON"
    assert svc["launchType"] == "EC2"
    assert svc["taskDefinition"] == load_json(TASKDEF)["family"]
    # DAEMON services take neither a count nor a placement strategy.
    assert "desiredCount" not in svc and "placementStrategy" not in svc


# --- CloudFormation ----------------------------------------------------------

class CfnLoader(yaml.SafeLoader):
    """YAML loader that turns CloudFormation short tags into their long forms."""


def _cfn_tag(loader, suffix, node):
    name = "Ref" if suffix == "Ref" else "Fn::" + suffix
    if isinstance(node, yaml.ScalarNode):
        value = loader.construct_scalar(node)
        if suffix == "GetAtt":
            value = value.split(".", 1)
    elif isinstance(node, yaml.SequenceNode):
        value = loader.construct_sequence(node, deep=True)
    else:
        value = loader.construct_mapping(node, deep=True)
    return {name: value}


CfnLoader.add_multi_constructor("!", _cfn_tag)


def load_cfn():
    with open(CFN) as f:
        return yaml.load(f, Loader=CfnLoader)


def resources_of_type(tpl, typ):
    return {k: v for k, v in tpl["Resources"].items() if v["Type"] == typ}


def walk(node):
    yield node
    if isinstance(node, dict):
        for v in node.values():
            yield from walk(v)
    elif isinstance(node, list):
        for v in node:
            yield from walk(v)


def camel(key):
    """CloudFormation's property name for a task definition JSON key."""
    return key[0].upper() + key[1:]


def test_cloudformation_parameters_and_resources():
    tpl = load_cfn()
    assert tpl["AWSTemplateFormatVersion"] == "2010-09-09"
    assert set(tpl["Parameters"]) == {"ClusterName", "ImageUri", "LogRetentionDays"}
    assert tpl["Parameters"]["LogRetentionDays"]["Type"] == "Number"
    types = sorted(r["Type"] for r in tpl["Resources"].values())
    assert types == ["AWS::ECS::Service", "AWS::ECS::TaskDefinition", "AWS::IAM::Role",
                     "AWS::Logs::LogGroup"]
    # Every reference names a parameter, a resource or a pseudo parameter.
    names = set(tpl["Parameters"]) | set(tpl["Resources"])
    for n in walk(tpl):
        if isinstance(n, dict) and "Ref" in n:
            assert n["Ref"] in names or n["Ref"].startswith("AWS::"), n
        if isinstance(n, dict) and "Fn::GetAtt" in n:
            assert n["Fn::GetAtt"][0] in tpl["Resources"], n
        if isinstance(n, dict) and "Fn::Sub" in n:
            for var in re.findall(r"\$\{([^}!]+)\}", n["Fn::Sub"]):
                assert var.split(".")[0] in names or var.startswith("AWS::"), var


def test_cloudformation_log_group_and_execution_role():
    tpl = load_cfn()
    (lg_name, lg), = resources_of_type(tpl, "AWS::Logs::LogGroup").items()
    assert lg["Properties"]["RetentionInDays"] == {"Ref": "LogRetentionDays"}
    (role_name, role), = resources_of_type(tpl, "AWS::IAM::Role").items()
    trust = role["Properties"]["AssumeRolePolicyDocument"]["Statement"]
    assert [s["Principal"]["Service"] for s in trust] == ["ecs-tasks.amazonaws.com"]
    actions = {a for p in role["Properties"].get("Policies", [])
               for s in p["PolicyDocument"]["Statement"] for a in s["Action"]}
    managed = role["Properties"].get("ManagedPolicyArns", [])
    assert {"logs:CreateLogStream", "logs:PutLogEvents"} <= actions or any(
        "AmazonECSTaskExecutionRolePolicy" in json.dumps(m) for m in managed)
    # Log permissions only on this log group.
    for p in role["Properties"].get("Policies", []):
        for s in p["PolicyDocument"]["Statement"]:
            if any(a.startswith("logs:") for a in s["Action"]):
                assert s["Resource"] == {"Fn::GetAtt": [lg_name, "Arn"]}
    (_, taskdef), = resources_of_type(tpl, "AWS::ECS::TaskDefinition").items()
    props = taskdef["Properties"]
    assert props["ExecutionRoleArn"] == {"Fn::GetAtt": [role_name, "Arn"]}
    assert "TaskRoleArn" not in props
    opts = props["ContainerDefinitions"][0]["LogConfiguration"]["Options"]
    assert opts["awslogs-group"] == {"Ref": lg_name}
    assert opts["awslogs-region"] == {"Ref": "AWS::Region"}


def test_cloudformation_task_definition_matches_the_json_one():
    td = load_json(TASKDEF)
    c = the_container(td)
    (_, taskdef), = resources_of_type(load_cfn(), "AWS::ECS::TaskDefinition").items()
    props = taskdef["Properties"]
    for key in ("family", "requiresCompatibilities", "networkMode", "pidMode"):
        assert props[camel(key)] == td[key], key
    assert [{"Name": v["name"], "Host": {"SourcePath": v["host"]["sourcePath"]}}
            for v in td["volumes"]] == props["Volumes"]
    (cc,) = props["ContainerDefinitions"]
    assert cc["Image"] == {"Ref": "ImageUri"}
    for key in ("name", "essential", "entryPoint", "privileged", "readonlyRootFilesystem",
                "cpu", "memoryReservation", "memory", "stopTimeout"):
        assert cc[camel(key)] == c[key], key
    assert "Command" not in cc and "command" not in c
    assert cc["LinuxParameters"]["Capabilities"]["Add"] == \
        c["linuxParameters"]["capabilities"]["add"]
    assert cc["MountPoints"] == [{camel(k): v for k, v in m.items()} for m in c["mountPoints"]]
    assert cc["Ulimits"] == [{camel(k): v for k, v in u.items()} for u in c["ulimits"]]
    assert cc["HealthCheck"] == {camel(k): v for k, v in c["healthCheck"].items()}
    assert cc["LogConfiguration"]["LogDriver"] == c["logConfiguration"]["logDriver"]
    for key in ("awslogs-stream-prefix", "mode", "max-buffer-size"):
        assert cc["LogConfiguration"]["Options"][key] == c["logConfiguration"]["options"][key]


def test_cloudformation_service_is_a_daemon():
    tpl = load_cfn()
    (_, svc), = resources_of_type(tpl, "AWS::ECS::Service").items()
    p = svc["Properties"]
    assert p["SchedulingStrategy"] == "DAEMON"
    assert p["LaunchType"] == "EC2"
    assert p["Cluster"] == {"Ref": "ClusterName"}
    (td_name,) = resources_of_type(tpl, "AWS::ECS::TaskDefinition")
    assert p["TaskDefinition"] == {"Ref": td_name}
    assert "DesiredCount" not in p and "PlacementStrategies" not in p


# --- container image inputs --------------------------------------------------

def test_image_entrypoint_matches_the_task_definition():
    with open(IMAGE_BUILD_SH) as f:
        m = re.search(r"--entrypoint '(\[[^']*\])'", f.read())
    assert m, "no --entrypoint in deploy/image/build.sh"
    assert json.loads(m.group(1)) == the_container(load_json(TASKDEF))["entryPoint"]


def test_image_config_names_the_mounted_cgroup_root_and_is_valid():
    c = the_container(load_json(TASKDEF))
    with open(IMAGE_CONF) as f:
        keys = dict(re.findall(r"^\s*([a-z_]+)\s*=\s*(\S+)\s*$", f.read(), re.M))
    assert keys["cgroup_root"] in [m["containerPath"] for m in c["mountPoints"]
                                   if m["readOnly"] and m["containerPath"].endswith("cgroup")]
    r = subprocess.run([DAEMON, "--check-config", "-c", IMAGE_CONF], capture_output=True,
                       text=True, timeout=30)
    assert r.returncode == 0, r.stdout + r.stderr


# --- shell scripts -----------------------------------------------------------

def shellcheck(path_or_text, name="snippet"):
    sc = shutil.which("shellcheck")
    assert sc, "shellcheck is not installed (Debian: apt-get install shellcheck)"
    if os.path.exists(path_or_text):
        r = subprocess.run([sc, "--shell=sh", path_or_text], capture_output=True, text=True,
                           timeout=60)
    else:
        r = subprocess.run([sc, "--shell=sh", "-"], input=path_or_text, capture_output=True,
                           text=True, timeout=60)
    assert r.returncode == 0, f"shellcheck {name}:\n{r.stdout}{r.stderr}"


def deploy_shell_scripts():
    out = []
    for d in (AMI, os.path.join(DEPLOY, "image"), ECS):
        for name in sorted(os.listdir(d)):
            p = os.path.join(d, name)
            if name.endswith(".sh"):
                out.append(p)
            elif os.path.isfile(p):
                with open(p, "rb") as f:
                    if f.read(2) == b"#!":
                        out.append(p)
    return out


def test_shell_scripts_pass_shellcheck():
    scripts = deploy_shell_scripts()
    assert INSTALL_SH in scripts and IMAGE_BUILD_SH in scripts
    for p in scripts:
        shellcheck(p, os.path.relpath(p, ROOT))


def load_user_data():
    with open(USER_DATA) as f:
        text = f.read()
    assert text.startswith("#cloud-config\n")
    return yaml.safe_load(text)


def test_cloud_init_user_data_installs_and_starts_the_service():
    ud = load_user_data()
    files = {w["path"]: w for w in ud["write_files"]}
    script = files["/usr/local/sbin/install-minerwatch"]
    assert script["permissions"] == "0755" and script["owner"] == "root:root"
    with open(INSTALL_SH) as f:
        assert script["content"] == f.read(), "user-data's copy of install-minerwatch.sh differs"
    env = files["/etc/minerwatch-install.env"]
    assert env["permissions"] == "0600"
    assert set(re.findall(r"^([A-Z_0-9]+)=", env["content"], re.M)) == \
        {"MINERWATCH_RPM", "MINERWATCH_RPM_SHA256"}
    (cmd,) = ud["runcmd"]
    assert cmd[:2] == ["sh", "-c"] and len(cmd) == 3
    assert "/usr/local/sbin/install-minerwatch --start" in cmd[2]
    assert ". /etc/minerwatch-install.env" in cmd[2]
    # The embedded shell: the script, the variables file and the command line.
    shellcheck(script["content"], "user-data install-minerwatch")
    shellcheck("#!/bin/sh\n" + env["content"] + 'echo "$MINERWATCH_RPM $MINERWATCH_RPM_SHA256"\n',
               "user-data install.env")
    # SC1091: the file it sources is the variables file, checked just above.
    shellcheck("#!/bin/sh\n# shellcheck disable=SC1091\n" + cmd[2] + "\n", "user-data runcmd")


STUB = """#!/bin/sh
printf '%s\\n' "$(basename "$0") $*" >> "$STUB_LOG"
case "$(basename "$0")" in
rpm) echo "${STUB_RPM_NAME:-minerwatch}" ;;
curl|aws) for a in "$@"; do last=$a; done
    [ "$(basename "$0")" = curl ] && while [ "$#" -gt 0 ]; do
        [ "$1" = --output ] && { cp "$STUB_SRC" "$2"; break; }; shift; done
    [ "$(basename "$0")" = aws ] && cp "$STUB_SRC" "$last" ;;
minerwatch) echo "minerwatch 0.1.0" ;;
esac
exit 0
"""


@pytest.fixture
def install_env():
    d = tempfile.mkdtemp(prefix="mw-install-")
    bindir = os.path.join(d, "bin")
    os.makedirs(bindir)
    for name in ("dnf", "rpm", "systemctl", "curl", "aws", "minerwatchd", "minerwatch"):
        p = os.path.join(bindir, name)
        with open(p, "w") as f:
            f.write(STUB)
        os.chmod(p, 0o755)
    pkg = os.path.join(d, "minerwatch-0.1.0-1.amzn2023.x86_64.rpm")
    with open(pkg, "wb") as f:
        f.write(b"not really an rpm\n")
    log = os.path.join(d, "calls")
    env = {"PATH": bindir + ":/usr/bin:/bin", "STUB_LOG": log, "STUB_SRC": pkg}

    def run(*args, extra=None):
        if os.path.exists(log):
            os.unlink(log)
        r = subprocess.run(["sh", INSTALL_SH, *args], capture_output=True, text=True,
                           timeout=30, env={**env, **(extra or {})})
        calls = open(log).read().splitlines() if os.path.exists(log) else []
        return r, calls

    yield pkg, run
    shutil.rmtree(d)


def test_install_script_installs_enables_and_checks(install_env):
    pkg, run = install_env
    r, calls = run(pkg)
    assert r.returncode == 0, r.stderr
    assert calls[0].startswith("rpm --query --package")
    assert calls[1].startswith("dnf install --assumeyes")
    assert "minerwatchd --check-config" in calls
    assert "systemctl enable minerwatchd.service" in calls
    assert not any(c.startswith("systemctl start") for c in calls)  # baking: not started
    r, calls = run("--start", pkg)
    assert r.returncode == 0 and "systemctl start minerwatchd.service" in calls


def test_install_script_checks_the_sha256_and_the_package_name(install_env):
    pkg, run = install_env
    with open(pkg, "rb") as f:
        good = hashlib.sha256(f.read()).hexdigest()
    r, calls = run(pkg, good)
    assert r.returncode == 0, r.stderr
    r, calls = run(pkg, "0" * 64)
    assert r.returncode == 1 and "SHA-256" in r.stderr and calls == []
    r, calls = run(pkg, extra={"STUB_RPM_NAME": "notminerwatch"})
    assert r.returncode == 1 and not any(c.startswith("dnf") for c in calls)


def test_install_script_fetches_https_and_s3_and_refuses_plain_http(install_env):
    pkg, run = install_env
    r, calls = run("https://example.invalid/minerwatch.rpm")
    assert r.returncode == 0, r.stderr
    assert calls[0].startswith("curl ") and "--proto =https" in calls[0]
    r, calls = run("s3://bucket/minerwatch.rpm")
    assert r.returncode == 0, r.stderr
    assert calls[0].startswith("aws s3 cp")
    r, calls = run("http://example.invalid/minerwatch.rpm")
    assert r.returncode == 1 and calls == []
    r, calls = run()
    assert r.returncode == 1 and "usage" in r.stderr


# --- Packer template ---------------------------------------------------------

class Ref(str):
    """A reference such as var.region or path.root."""


class Call:
    def __init__(self, name, args):
        self.name, self.args = name, args


class HclSubset:
    """Parser for the HCL subset the Packer template uses.

    Blocks (TYPE "label"... { ... }), attributes (name = expr), comments (#,
    //, /* */), and expressions that are literals (strings with ${...}
    interpolation, numbers, true/false/null), lists, objects, references
    (a.b.c) and function calls. No operators, conditionals or for
    expressions: the template has none, and anything else is a SyntaxError.
    A block is a dict {type, labels, attrs, blocks}.
    """

    def __init__(self, text):
        self.s, self.i = text, 0

    def error(self, msg):
        line = self.s.count("\n", 0, self.i) + 1
        raise SyntaxError(f"{os.path.basename(PACKER)}:{line}: {msg}")

    def skip(self, newlines=True):
        while self.i < len(self.s):
            c = self.s[self.i]
            if c in " \t\r" or (newlines and c == "\n"):
                self.i += 1
            elif c == "#" or self.s.startswith("//", self.i):
                j = self.s.find("\n", self.i)
                self.i = len(self.s) if j < 0 else j
            elif self.s.startswith("/*", self.i):
                j = self.s.find("*/", self.i + 2)
                if j < 0:
                    self.error("unterminated comment")
                self.i = j + 2
            else:
                break

    def ident(self):
        m = re.compile(r"[A-Za-z_][A-Za-z0-9_-]*").match(self.s, self.i)
        if not m:
            self.error("identifier expected")
        self.i = m.end()
        return m.group(0)

    def string(self):
        assert self.s[self.i] == '"'
        self.i += 1
        out = []
        while True:
            if self.i >= len(self.s) or self.s[self.i] == "\n":
                self.error("unterminated string")
            c = self.s[self.i]
            if c == '"':
                self.i += 1
                return "".join(out)
            if c == "\\":
                out.append(self.s[self.i:self.i + 2])
                self.i += 2
            elif self.s.startswith("${", self.i):
                start = self.i
                self.i += 2
                self.skip()
                self.expr()
                self.skip()
                if self.s[self.i:self.i + 1] != "}":
                    self.error("'}' expected to close the interpolation")
                self.i += 1
                out.append(self.s[start:self.i])
            else:
                out.append(c)
                self.i += 1

    def expr(self):
        self.skip(newlines=False)
        c = self.s[self.i:self.i + 1]
        if c == '"':
            return self.string()
        if c == "[":
            self.i += 1
            items = []
            while True:
                self.skip()
                if self.s[self.i:self.i + 1] == "]":
                    self.i += 1
                    return items
                items.append(self.expr())
                self.skip()
                if self.s[self.i:self.i + 1] == ",":
                    self.i += 1
                elif self.s[self.i:self.i + 1] != "]":
                    self.error("',' or ']' expected")
        if c == "{":
            self.i += 1
            obj = {}
            while True:
                self.skip()
                if self.s[self.i:self.i + 1] == "}":
                    self.i += 1
                    return obj
                key = self.string() if self.s[self.i] == '"' else self.ident()
                self.skip(newlines=False)
                if self.s[self.i:self.i + 1] not in ("=", ":"):
                    self.error("'=' expected in object")
                self.i += 1
                if key in obj:
                    self.error(f"duplicate key {key}")
                obj[key] = self.expr()
                self.skip(newlines=False)
                if self.s[self.i:self.i + 1] == ",":
                    self.i += 1
        m = re.compile(r"-?[0-9]+(\.[0-9]+)?").match(self.s, self.i)
        if m:
            self.i = m.end()
            return float(m.group(0)) if m.group(1) else int(m.group(0))
        name = self.ident()
        if name in ("true", "false"):
            return name == "true"
        if name == "null":
            return None
        if self.s[self.i:self.i + 1] == "(":
            self.i += 1
            args = []
            while True:
                self.skip()
                if self.s[self.i:self.i + 1] == ")":
                    self.i += 1
                    return Call(name, args)
                args.append(self.expr())
                self.skip()
                if self.s[self.i:self.i + 1] == ",":
                    self.i += 1
        parts = [name]
        while self.s[self.i:self.i + 1] == ".":
            self.i += 1
            parts.append(self.ident())
        return Ref(".".join(parts))

    def body(self, closing):
        blk = {"attrs": {}, "blocks": []}
        while True:
            self.skip()
            if self.i >= len(self.s):
                if closing:
                    self.error("'}' expected before the end of the file")
                return blk
            if self.s[self.i] == "}":
                if not closing:
                    self.error("unexpected '}'")
                self.i += 1
                return blk
            name = self.ident()
            self.skip(newlines=False)
            if self.s[self.i:self.i + 1] == "=":
                self.i += 1
                if name in blk["attrs"]:
                    self.error(f"attribute {name} set twice")
                blk["attrs"][name] = self.expr()
                self.skip(newlines=False)
                if self.i < len(self.s) and self.s[self.i] not in "\n}#/":
                    self.error(f"end of line expected after {name}")
                continue
            labels = []
            while self.s[self.i:self.i + 1] == '"':
                labels.append(self.string())
                self.skip(newlines=False)
            if self.s[self.i:self.i + 1] != "{":
                self.error(f"'{{' or '=' expected after {name}")
            self.i += 1
            sub = self.body(closing=True)
            sub.update(type=name, labels=labels)
            blk["blocks"].append(sub)

    def parse(self):
        root = self.body(closing=False)
        root.update(type="", labels=[])
        return root


def parse_packer():
    with open(PACKER) as f:
        return HclSubset(f.read()).parse()


def blocks(b, typ, *labels):
    return [x for x in b["blocks"]
            if x["type"] == typ and x["labels"][:len(labels)] == list(labels)]


def one(b, typ, *labels):
    found = blocks(b, typ, *labels)
    assert len(found) == 1, (typ, labels, len(found))
    return found[0]


def refs(node):
    """Every reference in an expression, including inside ${...}."""
    if isinstance(node, Ref):
        yield str(node)
    elif isinstance(node, str):
        for inner in re.findall(r"\$\{([^}]*)\}", node):
            yield from re.findall(r"\b(?:var|local|path)\.[A-Za-z0-9_.-]+", inner)
    elif isinstance(node, list):
        for x in node:
            yield from refs(x)
    elif isinstance(node, dict):
        for x in node.values():
            yield from refs(x)
    elif isinstance(node, Call):
        for x in node.args:
            yield from refs(x)


def all_refs(b):
    for k, v in b["attrs"].items():
        if b["type"] == "variable" and k == "type":
            assert v in ("string", "number", "bool"), v  # a type, not a reference
            continue
        yield from refs(v)
    for sub in b["blocks"]:
        yield from all_refs(sub)


def test_packer_template_requires_the_amazon_plugin():
    root = parse_packer()
    plugins = one(one(root, "packer"), "required_plugins")["attrs"]
    assert plugins["amazon"]["source"] == "github.com/hashicorp/amazon"
    assert plugins["amazon"]["version"]


def test_packer_template_source_is_amazon_linux_2023_from_amazon():
    root = parse_packer()
    variables = {b["labels"][0]: b for b in blocks(root, "variable")}
    src = one(root, "source", "amazon-ebs")
    a = src["attrs"]
    assert a["instance_type"] == Ref("var.instance_type")
    assert "instance_type" in variables
    assert a["ssh_username"] == "ec2-user"
    flt = one(src, "source_ami_filter")["attrs"]
    assert flt["owners"] == ["amazon"]
    assert flt["most_recent"] is True
    name = flt["filters"]["name"]
    if isinstance(name, Ref):
        name = variables[name.split(".", 1)[1]]["attrs"]["default"]
    assert re.fullmatch(r"al2023-ami-.*-x86_64", name), name
    assert flt["filters"]["architecture"] == "x86_64"
    md = one(src, "metadata_options")["attrs"]
    assert md["http_tokens"] == "required"
    assert a["imds_support"] == "v2.0"


def test_packer_template_provisioners_upload_install_and_enable():
    root = parse_packer()
    build = one(root, "build")
    (src,) = blocks(root, "source")
    assert build["attrs"]["sources"] == [f"source.{src['labels'][0]}.{src['labels'][1]}"]
    provs = blocks(build, "provisioner")
    kinds = [p["labels"][0] for p in provs]
    assert kinds == ["file", "file", "shell"]
    uploads = {p["attrs"]["destination"]: p["attrs"]["source"] for p in provs[:2]}
    rpm_dest = [d for d, s in uploads.items() if s == Ref("var.rpm_path")]
    assert rpm_dest == ["/tmp/minerwatch.rpm"]
    script_src = uploads["/tmp/install-minerwatch.sh"]
    assert script_src == "${path.root}/install-minerwatch.sh"
    assert os.path.exists(os.path.join(AMI, "install-minerwatch.sh"))
    inline = provs[2]["attrs"]["inline"]
    assert inline[0].startswith("sudo sh /tmp/install-minerwatch.sh /tmp/minerwatch.rpm")
    assert "--start" not in inline[0]  # enabled in the AMI, started on its instances
    assert "systemctl is-enabled minerwatchd.service" in inline
    # The install script is what runs dnf and enables the unit.
    with open(INSTALL_SH) as f:
        text = f.read()
    assert re.search(r"^dnf install .*\"\$rpm_file\"$", text, re.M)
    assert re.search(r"^systemctl enable minerwatchd\.service$", text, re.M)


def test_packer_template_references_are_declared():
    root = parse_packer()
    variables = {b["labels"][0] for b in blocks(root, "variable")}
    local_names = {k for b in blocks(root, "locals") for k in b["attrs"]}
    for r in all_refs(root):
        kind, name = r.split(".")[:2]
        if kind == "var":
            assert name in variables, r
        elif kind == "local":
            assert name in local_names, r
        else:
            assert r == "path.root", r
    # Each variable is used, and only rpm_path has no default.
    used = {r.split(".")[1] for r in all_refs(root) if r.startswith("var.")}
    assert used == variables
    required = {n for n in variables
                if "default" not in one(root, "variable", n)["attrs"]}
    assert required == {"rpm_path"}


HCLCHECK_GO = r"""
package main

import (
	"encoding/json"
	"fmt"
	"os"
	"sort"

	"github.com/hashicorp/hcl/v2"
	"github.com/hashicorp/hcl/v2/hclsyntax"
	"github.com/hashicorp/hcl/v2/hclwrite"
)

type block struct {
	Type   string   `json:"type"`
	Labels []string `json:"labels"`
	Attrs  []string `json:"attrs"`
	Blocks []block  `json:"blocks"`
}

func walk(b *hclsyntax.Body) ([]string, []block) {
	attrs := []string{}
	for name := range b.Attributes {
		attrs = append(attrs, name)
	}
	sort.Strings(attrs)
	blocks := []block{}
	for _, sb := range b.Blocks {
		a, bs := walk(sb.Body)
		blocks = append(blocks, block{sb.Type, append([]string{}, sb.Labels...), a, bs})
	}
	return attrs, blocks
}

// Parses the file with HCL's native-syntax parser, prints its block and
// attribute structure as JSON, and exits 3 when the layout is not the
// canonical one (hclwrite.Format, what packer fmt writes).
func main() {
	src, err := os.ReadFile(os.Args[1])
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(2)
	}
	f, diags := hclsyntax.ParseConfig(src, os.Args[1], hcl.Pos{Line: 1, Column: 1})
	if diags.HasErrors() {
		fmt.Fprintln(os.Stderr, diags.Error())
		os.Exit(1)
	}
	attrs, blocks := walk(f.Body.(*hclsyntax.Body))
	json.NewEncoder(os.Stdout).Encode(block{"", []string{}, attrs, blocks})
	if string(hclwrite.Format(src)) != string(src) {
		os.Stdout.Write(hclwrite.Format(src))
		os.Exit(3)
	}
}
"""

GOPATH_SRC = "/usr/share/gocode"


def hcl_library_available():
    return bool(shutil.which("go")) and os.path.isdir(
        os.path.join(GOPATH_SRC, "src", "github.com", "hashicorp", "hcl", "v2", "hclsyntax"))


def skeleton(b):
    return {"type": b["type"], "labels": list(b["labels"]), "attrs": sorted(b["attrs"]),
            "blocks": [skeleton(x) for x in b["blocks"]]}


@pytest.mark.skipif(not hcl_library_available(),
                    reason="Go and golang-github-hashicorp-hcl-v2-dev are not installed")
def test_packer_template_parses_with_hashicorps_hcl_parser():
    with tempfile.TemporaryDirectory(prefix="mw-hclcheck-") as d:
        pkg = os.path.join(d, "src", "hclcheck")
        os.makedirs(pkg)
        with open(os.path.join(pkg, "main.go"), "w") as f:
            f.write(HCLCHECK_GO)
        cache = os.path.join(ROOT, "build", "gocache")
        env = {"PATH": os.environ.get("PATH", "/usr/bin:/bin"), "HOME": d,
               "GOPATH": f"{d}:{GOPATH_SRC}", "GO111MODULE": "off", "GOFLAGS": "",
               "GOCACHE": cache, "GOPROXY": "off", "CGO_ENABLED": "0"}
        exe = os.path.join(d, "hclcheck")
        r = subprocess.run(["go", "build", "-o", exe, "hclcheck"], cwd=d, env=env,
                           capture_output=True, text=True, timeout=300)
        assert r.returncode == 0, r.stdout + r.stderr
        r = subprocess.run([exe, PACKER], capture_output=True, text=True, timeout=60)
    assert r.returncode in (0, 3), f"HCL syntax error:\n{r.stderr}"
    first, _, formatted = r.stdout.partition("\n")
    assert r.returncode == 0, "not in packer fmt layout; expected:\n" + formatted
    assert json.loads(first) == skeleton(parse_packer())
