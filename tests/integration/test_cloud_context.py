# SPDX-License-Identifier: Apache-2.0
"""AWS context in findings: IMDSv2 and the ECS agent, working and failing.

A real minerwatchd is pointed at the loopback simulators of the instance
metadata service (imdssim) and of the ECS agent's introspection API (ecssim),
with their fault switches, and a real Stratum miner simulator runs against the
pool simulator, on the host or inside a runc container shaped like an ECS task
container. Whatever happens to the context, the miner is reported: with the
context when it is there, with the reason it is missing when it is not. Every
OCSF findings file goes through the OCSF validator; ASFF output is checked
against the Security Hub service model (asff_model.py).
"""
import json
import os
import secrets
import signal

import pytest

import asff_model
import containers
from awssim import ecs_container, ecs_sim, ecs_task, imds_sim  # noqa: F401 (fixtures)
from awssim import DOCUMENT_PATH, TOKEN_PATH
from conftest import TOOLS, validate_ocsf, wait_for
from containers import RuncContainer, ecs_al2023_path, ecs_al2_path, new_container_id, \
    new_task_id

DEADLINE = 30  # generous: these tests assert outcomes, never latency
CONTEXT_DEADLINE = 20
MINERSIM = os.path.join(TOOLS, "minersim")

# The instance imdssim describes: not its defaults, so that every value a
# finding carries is seen to come from the metadata service.
ACCOUNT = "210987654321"
REGION = "eu-west-1"
ZONE = "eu-west-1b"
INSTANCE_ID = "i-0fedcba9876543210"
AMI = "ami-0123456789abcdef0"
INSTANCE_TYPE = "c6i.xlarge"
HOSTNAME = "ip-172-31-5-6.eu-west-1.compute.internal"
LOCAL_IPV4 = "172.31.5.6"
IMDS_ARGS = ("--account", ACCOUNT, "--region", REGION, "--az", ZONE,
             "--instance-id", INSTANCE_ID, "--ami", AMI, "--instance-type", INSTANCE_TYPE,
             "--hostname", HOSTNAME, "--local-ipv4", LOCAL_IPV4)
INSTANCE_ARN = f"arn:aws:ec2:{REGION}:{ACCOUNT}:instance/{INSTANCE_ID}"

CLUSTER = "prod-cluster"
CLUSTER_ARN = f"arn:aws:ecs:{REGION}:{ACCOUNT}:cluster/{CLUSTER}"
ECS_ARGS = ("--region", REGION, "--account", ACCOUNT)

# ASFF limits from the format's documentation (the minified model has none).
ASFF_SEVERITY_LABELS = {"INFORMATIONAL", "LOW", "MEDIUM", "HIGH", "CRITICAL"}
ASFF_TYPE_NAMESPACES = {"Software and Configuration Checks", "TTPs", "Effects",
                        "Unusual Behaviors", "Sensitive Data Identifications"}

needs_runc = pytest.mark.skipif(not containers.runc_available(),
                                reason="runc is not installed")


# --- helpers -----------------------------------------------------------------

def wait_status(sensor, section, key, want, timeout=CONTEXT_DEADLINE):
    """Waits until status()[section][key] == want; returns status()[section]."""
    last = {}

    def check():
        nonlocal last
        last = sensor.status()[section]
        return last if last.get(key) == want else None
    try:
        return wait_for(check, timeout, what=f"{section}.{key} == {want!r}")
    except AssertionError as e:
        raise AssertionError(f"{e}; last {section}: {json.dumps(last)}\n"
                             f"--- minerwatchd log\n{sensor.log()[-3000:]}") from None


def wait_instance(sensor, state):
    return wait_status(sensor, "instance", "state", state)


def wait_ecs_agent(sensor, agent):
    return wait_status(sensor, "ecs", "agent", agent)


def start_miner(procs, pool, duration=60):
    """A plaintext Stratum miner simulator on the host; returns its pid."""
    p = procs.start("minersim", "--pool", f"127.0.0.1:{pool}", "--proto", "stratum",
                    "--threads", 1, "--duration", duration, "--submit-interval", 2)
    line = wait_for(lambda: procs.output(p).split("\n", 1)[0], 10, what="minersim's pid")
    assert line.startswith("pid="), line
    return int(line.split("=", 1)[1])


def miner_argv(pool, duration=60):
    return [MINERSIM, "--pool", f"127.0.0.1:{pool}", "--proto", "stratum", "--threads", 1,
            "--duration", duration, "--submit-interval", 2]


def read_lines(path):
    if not os.path.exists(path):
        return []
    with open(path, encoding="utf-8") as f:
        return [json.loads(line) for line in f if line.strip()]


def ocsf_created(sensor, pid):
    """The Create finding (OCSF) of pid, once written."""
    f = wait_for(lambda: [x for x in sensor.findings_for(pid) if x["activity_id"] == 1],
                 DEADLINE, what=f"a finding for pid {pid}")[0]
    assert f["class_uid"] == 2004
    assert f["finding_info"]["attacks"][0]["technique"]["uid"] == "T1496"
    assert f["unmapped"]["protocol"]["name"] == "stratum-v1"
    return f


def asff_created(sensor, pid):
    """The first ASFF finding of pid, once written."""
    return wait_for(lambda: [a for a in read_lines(sensor.output)
                             if "SchemaVersion" in a and a.get("Process", {}).get("Pid") == pid],
                    DEADLINE, what=f"an ASFF finding for pid {pid}")[0]


def check_cloud(f):
    """The finding carries the instance imdssim describes."""
    cloud = f["cloud"]
    assert cloud["provider"] == "AWS"
    assert cloud["region"] == REGION
    assert cloud["zone"] == ZONE
    assert cloud["account"]["uid"] == ACCOUNT
    dev = f["device"]
    assert dev["instance_uid"] == INSTANCE_ID
    assert dev["image"]["uid"] == AMI
    assert dev["region"] == REGION
    ec2 = [r for r in f["resources"] if r["type"] == "AWS::EC2::Instance"]
    assert len(ec2) == 1 and ec2[0]["uid"] == INSTANCE_ID, f["resources"]
    assert ec2[0]["region"] == REGION
    assert "cloud" in f["metadata"]["profiles"]
    assert "cloud_context_missing" not in f["unmapped"]
    assert f["unmapped"]["cloud"]["instance_type"] == INSTANCE_TYPE


def check_no_cloud(f):
    """The finding has no AWS context, and says why; returns the reason."""
    assert "cloud" not in f
    assert "resources" not in f
    assert "instance_uid" not in f["device"]
    assert "cloud" not in f["metadata"]["profiles"]
    assert "cloud" not in f["unmapped"]
    why = f["unmapped"]["cloud_context_missing"]
    assert isinstance(why, str) and why
    return why


def check_only_ocsf(path):
    """Every line is an OCSF finding, and the file passes the validator."""
    lines = read_lines(path)
    assert lines and all("SchemaVersion" not in x and x["class_uid"] == 2004 for x in lines)
    validate_ocsf(path)


_MODEL = {}


def securityhub_model():
    """The Security Hub model; a test that needs it fails (never skips) without it.
    Loaded once per session; a failure to fetch it is remembered too."""
    if not _MODEL:
        try:
            _MODEL["model"] = asff_model.load_model()
        except asff_model.ModelUnavailable as e:
            _MODEL["error"] = str(e)
    if "error" in _MODEL:
        pytest.fail("the AWS Security Hub service model is needed to validate ASFF and could "
                    f"not be fetched from the npm registry: {_MODEL['error']}", pytrace=False)
    return _MODEL["model"]


def check_asff(a, pid):
    """Every attribute ASFF requires, with its type and documented limits."""
    assert a["SchemaVersion"] == "2018-10-08"
    assert isinstance(a["Id"], str) and 0 < len(a["Id"]) <= 512
    assert a["ProductArn"] == f"arn:aws:securityhub:{REGION}:{ACCOUNT}:product/{ACCOUNT}/default"
    assert isinstance(a["GeneratorId"], str) and 0 < len(a["GeneratorId"]) <= 512
    assert a["AwsAccountId"] == ACCOUNT
    types = a["Types"]
    assert isinstance(types, list) and 0 < len(types) <= 50
    assert all(isinstance(t, str) and t.split("/")[0] in ASFF_TYPE_NAMESPACES
               and len(t.split("/")) <= 3 for t in types), types
    assert any(t.startswith("Effects/Resource Consumption/") for t in types), types
    assert any(t.startswith("TTPs/") for t in types), types
    for k in ("CreatedAt", "UpdatedAt", "FirstObservedAt", "LastObservedAt"):
        assert asff_model.is_iso8601_utc(a[k]), (k, a[k])
    assert a["CreatedAt"] <= a["UpdatedAt"]  # same format, so text order is time order
    assert a["Severity"]["Label"] in ASFF_SEVERITY_LABELS
    assert a["Severity"]["Label"] in ("HIGH", "CRITICAL")  # a protocol was seen
    assert isinstance(a["Title"], str) and 0 < len(a["Title"]) <= 256
    assert isinstance(a["Description"], str) and 0 < len(a["Description"]) <= 1024
    assert str(pid) in a["Description"]
    assert isinstance(a.get("Confidence", 0), int) and 0 <= a.get("Confidence", 0) <= 100
    res = a["Resources"]
    assert isinstance(res, list) and 0 < len(res) <= 32
    assert all(isinstance(r["Type"], str) and isinstance(r["Id"], str) and r["Id"]
               for r in res)
    ec2 = [r for r in res if r["Type"] == "AwsEc2Instance"]
    assert len(ec2) == 1 and ec2[0]["Id"] == INSTANCE_ARN, res
    assert ec2[0]["Partition"] == "aws" and ec2[0]["Region"] == REGION
    details = ec2[0]["Details"]["AwsEc2Instance"]
    assert details["Type"] == INSTANCE_TYPE and details["ImageId"] == AMI
    assert details["IpV4Addresses"] == [LOCAL_IPV4]
    pf = a.get("ProductFields", {})
    assert len(pf) <= 50
    assert all(len(k) <= 128 and isinstance(v, str) and len(v) <= 2048 for k, v in pf.items())
    assert a["Process"]["Pid"] == pid


def check_asff_file(path, pid):
    """All lines are ASFF and valid against the model; returns pid's first finding."""
    model = securityhub_model()
    lines = read_lines(path)
    assert lines and all("SchemaVersion" in x for x in lines), "OCSF line in ASFF output"
    for i, a in enumerate(lines):
        errors = model.check_finding(a)
        assert errors == [], f"line {i + 1} violates the Security Hub model:\n" + \
            "\n".join(errors)
    mine = [a for a in lines if a["Process"]["Pid"] == pid]
    check_asff(mine[0], pid)
    return mine[0]


# --- IMDS ----------------------------------------------------------------------

def test_instance_context_in_findings(imds_sim, sensor_factory, procs, pool):
    imds = imds_sim(*IMDS_ARGS)
    s = sensor_factory(env=imds.env())
    inst = wait_instance(s, "available")
    assert inst["available"] is True
    assert inst["endpoint"] == imds.url
    assert "reason" not in inst
    assert inst["account_id"] == ACCOUNT and inst["region"] == REGION
    assert inst["availability_zone"] == ZONE and inst["instance_id"] == INSTANCE_ID
    assert inst["image_id"] == AMI and inst["instance_type"] == INSTANCE_TYPE
    assert inst["hostname"] == HOSTNAME and inst["local_ipv4"] == LOCAL_IPV4
    assert inst["fetches"] >= 1 and inst["failures"] == 0 and inst["tokens"] >= 1
    assert inst["token_renewals_on_401"] == 0

    pid = start_miner(procs, pool)
    f = ocsf_created(s, pid)
    check_cloud(f)
    assert f["cloud"]["cloud_partition"] == "aws"
    assert f["device"]["ip"] == LOCAL_IPV4
    assert f["metadata"]["profiles"] == ["host", "cloud"]
    check_only_ocsf(s.output)

    # IMDSv2: a token first, then every GET with it, all answered.
    assert imds.token_puts(200), imds.output()
    for path in (DOCUMENT_PATH, "/latest/meta-data/hostname", "/latest/meta-data/local-ipv4"):
        assert imds.requests("GET", path, 200), imds.output()
    assert all(st == 200 for _, _, st in imds.requests()), imds.output()


def test_token_expiring_mid_run_is_renewed_on_401(imds_sim, sensor_factory, procs, pool):
    # Tokens die after 2 s while the reply still announces the 6 hours asked
    # for, so the daemon only learns of the expiry from a 401.
    imds = imds_sim(*IMDS_ARGS, "--max-token-ttl", 2)
    s = sensor_factory(config="imds_refresh_seconds = 1\n", env=imds.env())
    wait_instance(s, "available")

    def renewed():
        inst = s.status()["instance"]
        return inst if len(imds.token_puts(200)) >= 2 and inst["token_renewals_on_401"] >= 1 \
            else None
    inst = wait_for(renewed, CONTEXT_DEADLINE, what="a token renewed after a 401")
    assert imds.gets(401), imds.output()
    assert inst["state"] == "available" and inst["available"] is True
    assert inst["failures"] == 0  # each 401 was followed by a new token and a good GET
    assert inst["tokens"] >= 2

    # A miner started after the expiry is reported, with the context.
    pid = start_miner(procs, pool)
    f = ocsf_created(s, pid)
    check_cloud(f)
    inst = s.status()["instance"]
    assert inst["state"] == "available" and inst["failures"] == 0
    check_only_ocsf(s.output)


def test_token_renewed_before_it_expires(imds_sim, sensor_factory, procs, pool):
    imds = imds_sim(*IMDS_ARGS)
    s = sensor_factory(config="imds_token_ttl_seconds = 2\nimds_refresh_seconds = 1\n",
                       env=imds.env())
    wait_instance(s, "available")
    wait_for(lambda: len(imds.token_puts(200)) >= 3, CONTEXT_DEADLINE,
             what="three token PUTs")
    pid = start_miner(procs, pool)
    check_cloud(ocsf_created(s, pid))
    assert imds.gets(401) == [], imds.output()
    inst = s.status()["instance"]
    assert inst["state"] == "available"
    assert inst["token_renewals_on_401"] == 0 and inst["tokens"] >= 3
    assert inst["failures"] == 0
    check_only_ocsf(s.output)


@pytest.mark.parametrize("code", [400, 403, 404, 405])
def test_token_put_refused(code, imds_sim, sensor_factory, procs, pool):
    imds = imds_sim(*IMDS_ARGS, "--put-status", code)
    s = sensor_factory(env=imds.env())
    inst = wait_instance(s, "token_refused")
    assert str(code) in inst["reason"], inst
    assert inst["available"] is False and "instance_id" not in inst
    pid = start_miner(procs, pool)
    why = check_no_cloud(ocsf_created(s, pid))
    assert "token_refused" in why and str(code) in why, why
    check_only_ocsf(s.output)
    assert imds.token_puts(code), imds.output()
    # No IMDSv1 fallback unless configured: nothing is read without a token.
    assert imds.gets() == [], imds.output()


def test_token_put_never_answered(imds_sim, sensor_factory, procs, pool):
    imds = imds_sim(*IMDS_ARGS, "--put-drop")
    s = sensor_factory(env=imds.env())
    inst = wait_instance(s, "unreachable")
    assert "no reply within 300 ms" in inst["reason"], inst
    pid = start_miner(procs, pool)
    why = check_no_cloud(ocsf_created(s, pid))
    assert "unreachable" in why, why
    check_only_ocsf(s.output)
    wait_for(lambda: imds.token_puts("drop"), 10, what="imdssim to log the dropped PUT")
    assert imds.gets() == [], imds.output()


def test_imds_slower_than_the_timeout(imds_sim, sensor_factory, procs, pool):
    imds = imds_sim(*IMDS_ARGS, "--delay-ms", 1500)
    s = sensor_factory(env=imds.env())
    inst = wait_instance(s, "unreachable")
    assert "no reply within 300 ms" in inst["reason"], inst
    pid = start_miner(procs, pool)
    why = check_no_cloud(ocsf_created(s, pid))
    assert "unreachable" in why, why
    check_only_ocsf(s.output)


def test_imds_server_errors_after_retries(imds_sim, sensor_factory, procs, pool):
    imds = imds_sim(*IMDS_ARGS, "--get-status", 500)
    s = sensor_factory(env=imds.env())
    inst = wait_instance(s, "server_error")
    assert "HTTP 500" in inst["reason"], inst
    assert inst["failures"] >= 1
    # The first attempt and imds_retries (2) more.
    assert len(imds.gets(500)) >= 3, imds.output()
    assert imds.gets(200) == []
    pid = start_miner(procs, pool)
    why = check_no_cloud(ocsf_created(s, pid))
    assert "server_error" in why, why
    check_only_ocsf(s.output)


def test_imds_transient_server_errors_are_retried(imds_sim, sensor_factory, procs, pool):
    imds = imds_sim(*IMDS_ARGS, "--fail-first", 2)
    s = sensor_factory(env=imds.env())
    inst = wait_instance(s, "available")
    assert inst["failures"] == 0 and inst["instance_id"] == INSTANCE_ID
    assert [st for _, _, st in imds.gets()[:3]] == [500, 500, 200], imds.output()
    pid = start_miner(procs, pool)
    check_cloud(ocsf_created(s, pid))
    check_only_ocsf(s.output)


def _identity_document():
    return {
        "accountId": ACCOUNT, "architecture": "x86_64", "availabilityZone": ZONE,
        "billingProducts": None, "devpayProductCodes": None, "marketplaceProductCodes": None,
        "imageId": AMI, "instanceId": INSTANCE_ID, "instanceType": INSTANCE_TYPE,
        "kernelId": None, "pendingTime": "2026-01-01T00:00:00Z", "privateIp": LOCAL_IPV4,
        "ramdiskId": None, "region": REGION, "version": "2017-09-30",
    }


@pytest.mark.parametrize("kind", ["garbage", "huge"])
def test_malformed_identity_document(kind, imds_sim, sensor_factory, procs, pool, tmp):
    doc_path = os.path.join(tmp, f"document-{kind}.json")
    if kind == "garbage":
        # Cut in the middle of a value, as a broken proxy might hand it on.
        body = json.dumps(_identity_document(), indent=2)[:150]
    else:
        doc = _identity_document()
        doc["padding"] = "x" * (64 * 1024)
        body = json.dumps(doc, indent=2)
        assert len(body) > 64 * 1024
    with open(doc_path, "w") as f:
        f.write(body)
    imds = imds_sim(*IMDS_ARGS, "--document", doc_path)
    s = sensor_factory(env=imds.env())
    inst = wait_instance(s, "malformed")
    assert inst["available"] is False and inst["reason"], inst
    if kind == "huge":
        assert "too large" in inst["reason"], inst
    assert imds.requests("GET", DOCUMENT_PATH), imds.output()
    pid = start_miner(procs, pool)
    why = check_no_cloud(ocsf_created(s, pid))
    assert "malformed" in why, why
    check_only_ocsf(s.output)


def test_imds_disabled_by_environment(imds_sim, sensor_factory, procs, pool):
    imds = imds_sim(*IMDS_ARGS)
    s = sensor_factory(env={**imds.env(), "AWS_EC2_METADATA_DISABLED": "true"})
    inst = wait_instance(s, "disabled")
    assert "AWS_EC2_METADATA_DISABLED" in inst["reason"], inst
    assert inst["available"] is False and "endpoint" not in inst
    pid = start_miner(procs, pool)
    why = check_no_cloud(ocsf_created(s, pid))
    assert "AWS_EC2_METADATA_DISABLED" in why, why
    check_only_ocsf(s.output)
    st = s.status()["instance"]
    assert st["state"] == "disabled" and st["fetches"] == 0
    # Disabled means not asked at all, not even for a token.
    assert imds.requests() == [], imds.output()
    assert "listening" in imds.output()


# --- ASFF ----------------------------------------------------------------------

def test_asff_with_instance_context(imds_sim, sensor_factory, procs, pool):
    securityhub_model()  # fetched first: a missing model fails before the daemon starts
    imds = imds_sim(*IMDS_ARGS)
    s = sensor_factory(env=imds.env(), extra_args=("--format", "asff"))
    wait_instance(s, "available")
    pid = start_miner(procs, pool)
    asff_created(s, pid)
    # The miner's exit makes a Close record: the same Security Hub finding
    # (same Id), updated, with the process's end.
    os.kill(pid, signal.SIGTERM)
    closed = wait_for(lambda: [a for a in read_lines(s.output)
                               if a["Process"]["Pid"] == pid and
                               a["ProductFields"]["minerwatch/Activity"] == "Close"],
                      DEADLINE, what="the ASFF Close record after the miner exits")[0]
    a = check_asff_file(s.output, pid)
    assert a["ProductFields"]["minerwatch/Activity"] == "Create"
    assert a["Region"] == REGION
    assert a["Network"]["DestinationPort"] == pool
    assert a["ProductFields"]["minerwatch/Protocol"] == "stratum-v1"
    assert not [r for r in a["Resources"] if r["Type"] in ("Container", "AwsEcsTask")]
    check_asff(closed, pid)
    assert closed["Id"] == a["Id"] and closed["CreatedAt"] == a["CreatedAt"]
    assert closed["UpdatedAt"] >= a["UpdatedAt"]
    assert asff_model.is_iso8601_utc(closed["Process"]["TerminatedAt"])
    assert s.status()["finding_counts"]["asff_written_as_ocsf"] == 0


def test_asff_without_instance_context_is_written_as_ocsf(sensor_factory, procs, pool):
    # IMDS is the closed loopback port of the test environment.
    s = sensor_factory(extra_args=("--format", "asff"))
    wait_instance(s, "unreachable")
    pid = start_miner(procs, pool)
    f = ocsf_created(s, pid)
    check_no_cloud(f)
    check_only_ocsf(s.output)
    assert s.status()["finding_counts"]["asff_written_as_ocsf"] >= 1
    assert "ASFF needs the AWS account and region" in s.log()


def _asff_example():
    return {
        "SchemaVersion": "2018-10-08", "Id": "x", "GeneratorId": "g",
        "ProductArn": f"arn:aws:securityhub:{REGION}:{ACCOUNT}:product/{ACCOUNT}/default",
        "AwsAccountId": ACCOUNT, "Types": ["Effects/Resource Consumption/Cryptocurrency Mining"],
        "CreatedAt": "2026-01-01T00:00:00.000Z", "UpdatedAt": "2026-01-01T00:00:00.000Z",
        "Severity": {"Label": "HIGH", "Original": "4"}, "Title": "t", "Description": "d",
        "ProductFields": {"a/b": "c"}, "Process": {"Name": "m", "Pid": 7},
        "Resources": [{"Type": "AwsEc2Instance", "Id": INSTANCE_ARN,
                       "Details": {"AwsEc2Instance": {"Type": "m5.large",
                                                      "IpV4Addresses": ["10.0.0.1"]}}}],
    }


def test_asff_model_checker_catches_violations():
    """The checker is not vacuous: each kind of violation is reported."""
    model = securityhub_model()
    assert model.check_finding(_asff_example()) == []

    def errors_after(change):
        a = _asff_example()
        change(a)
        return "\n".join(model.check_finding(a))
    assert "required member Title" in errors_after(lambda a: a.pop("Title"))
    assert "member Bogus is not in the model" in errors_after(lambda a: a.update(Bogus=1))
    assert "Severity.Label: expected a string" in errors_after(
        lambda a: a["Severity"].update(Label=4))
    assert "Resources: expected an array" in errors_after(
        lambda a: a.update(Resources=a["Resources"][0]))
    assert "Process.Pid: expected an integer" in errors_after(
        lambda a: a["Process"].update(Pid="7"))
    assert "Process.Pid: expected an integer" in errors_after(
        lambda a: a["Process"].update(Pid=True))
    assert "Details.AwsEc2Instance: member Colour is not in the model" in errors_after(
        lambda a: a["Resources"][0]["Details"]["AwsEc2Instance"].update(Colour="red"))
    assert "IpV4Addresses[0]: expected a string" in errors_after(
        lambda a: a["Resources"][0]["Details"]["AwsEc2Instance"].update(IpV4Addresses=[1]))
    assert "ProductFields['a/b']: expected a string" in errors_after(
        lambda a: a["ProductFields"].update({"a/b": 1}))
    assert "Confidence: null" in errors_after(lambda a: a.update(Confidence=None))

    # Enums and lengths, where a model states them (the minified one does not).
    m = asff_model.Model({"shapes": {
        "Label": {"type": "string", "enum": ["LOW", "HIGH"]},
        "Text": {"type": "string", "max": 4},
        "Items": {"type": "list", "member": {"shape": "Label"}, "max": 2},
        "Obj": {"type": "structure", "required": ["L"],
                "members": {"L": {"shape": "Label"}, "T": {"shape": "Text"},
                            "I": {"shape": "Items"}, "D": {"type": "double"},
                            "B": {"type": "boolean"}, "S": {"type": "timestamp"}}}}})
    obj = {"shape": "Obj"}
    assert m.check({"L": "LOW", "T": "abcd", "I": ["HIGH"], "D": 1, "B": False,
                    "S": "2026-01-01T00:00:00Z"}, obj) == []
    bad = "\n".join(m.check({"L": "MEDIUM", "T": "abcde", "I": ["LOW", "LOW", "LOW"],
                             "D": "1", "B": 0, "S": "yesterday"}, obj))
    for frag in ("'MEDIUM' is not one of", "value.T: length 5 is above", "value.I: length 3",
                 "value.D: expected a number", "value.B: expected true or false",
                 "value.S: 'yesterday' is not an ISO 8601"):
        assert frag in bad, bad


# --- ECS -----------------------------------------------------------------------

def _task_setup(task_id, cid):
    """The task the container belongs to, and another task on the same instance."""
    image_id = "sha256:" + secrets.token_hex(32)
    worker = ecs_container(cid, "worker", "public.ecr.aws/example/worker:1.4", image_id,
                           "miner-app", 7)
    sidecar = ecs_container(new_container_id(), "log-router",
                            "public.ecr.aws/aws-observability/aws-for-fluent-bit:2.32",
                            "sha256:" + secrets.token_hex(32), "miner-app", 7)
    task = ecs_task(REGION, ACCOUNT, CLUSTER, task_id, "miner-app", 7, [sidecar, worker])
    other = ecs_task(REGION, ACCOUNT, CLUSTER, new_task_id(), "web", 3, [
        ecs_container(new_container_id(), "nginx", "nginx:1.25",
                      "sha256:" + secrets.token_hex(32), "web", 3)])
    return task, other, image_id


def _cgroup_path(shape, task_id, cid):
    return ecs_al2023_path(task_id, cid) if shape == "al2023" else ecs_al2_path(task_id, cid)


@needs_runc
@pytest.mark.parametrize("fmt", ["ocsf", "asff"])
@pytest.mark.parametrize("shape", ["al2023", "al2"])
def test_containerised_miner_gets_its_ecs_task(shape, fmt, imds_sim, ecs_sim, sensor_factory,
                                                pool):
    if fmt == "asff":
        securityhub_model()
    task_id, cid = new_task_id(), new_container_id()
    task, other, image_id = _task_setup(task_id, cid)
    task_arn = task["Arn"]
    imds = imds_sim(*IMDS_ARGS)
    ecs = ecs_sim(*ECS_ARGS, cluster=CLUSTER, tasks=[other, task])
    args = ("--ecs-agent-url", ecs.url) + (("--format", "asff") if fmt == "asff" else ())
    s = sensor_factory(env=imds.env(), extra_args=args)
    wait_instance(s, "available")
    agent = wait_ecs_agent(s, "reachable")
    assert agent["cluster"] == CLUSTER and agent["cluster_arn"] == CLUSTER_ARN
    assert agent["container_instance_arn"].startswith(
        f"arn:aws:ecs:{REGION}:{ACCOUNT}:container-instance/{CLUSTER}/")

    with RuncContainer(miner_argv(pool), cgroups_path=_cgroup_path(shape, task_id, cid),
                       container_id=cid) as c:
        if fmt == "ocsf":
            f = ocsf_created(s, c.pid)
        else:
            a = asff_created(s, c.pid)
        assert c.running(), c.diagnostics()

    assert ecs.task_lookups(cid, 200), ecs.output()
    st = s.status()["ecs"]
    assert st["agent"] == "reachable" and st["task_lookups"] >= 1 and st["tasks_cached"] >= 1

    if fmt == "ocsf":
        proc = f["evidences"][0]["process"]
        ctr = proc["container"]
        assert ctr["uid"] == cid
        assert ctr["name"] == "worker"
        assert ctr["runtime"] == "docker"
        assert ctr["orchestrator"] == "ECS"
        assert ctr["image"]["uid"] == image_id
        assert ctr["image"]["name"] == "public.ecr.aws/example/worker:1.4"
        assert proc["namespace_pid"] == 1
        check_cloud(f)
        res = {r["type"]: r for r in f["resources"]}
        assert set(res) == {"AWS::EC2::Instance", "AWS::ECS::Task", "AWS::ECS::Cluster"}
        assert res["AWS::ECS::Task"]["uid"] == task_arn
        assert res["AWS::ECS::Task"]["name"] == "miner-app:7"
        assert res["AWS::ECS::Cluster"]["uid"] == CLUSTER_ARN
        assert res["AWS::ECS::Cluster"]["name"] == CLUSTER
        assert "container" in f["metadata"]["profiles"]
        assert "cloud" in f["metadata"]["profiles"]
        u = f["unmapped"]["container"]
        assert u["ecs_task_id_from_cgroup"] == task_id
        assert u["task_family"] == "miner-app" and u["task_revision"] == "7"
        assert u["task_status"] == "RUNNING"
        assert "ecs_context_missing" not in u
        check_only_ocsf(s.output)
    else:
        a = check_asff_file(s.output, c.pid)
        res = {r["Type"]: r for r in a["Resources"]}
        assert {"AwsEc2Instance", "Container", "AwsEcsTask"} <= set(res), a["Resources"]
        assert res["Container"]["Id"] == cid
        details = res["Container"]["Details"]["Container"]
        assert details["Name"] == "worker" and details["ContainerRuntime"] == "docker"
        assert details["ImageId"] == image_id
        assert res["AwsEcsTask"]["Id"] == task_arn
        t = res["AwsEcsTask"]["Details"]["AwsEcsTask"]
        assert t["ClusterArn"] == CLUSTER_ARN
        assert t["TaskDefinitionArn"] == \
            f"arn:aws:ecs:{REGION}:{ACCOUNT}:task-definition/miner-app:7"
        assert res["AwsEcsCluster"]["Id"] == CLUSTER_ARN
        assert a["ProductFields"]["minerwatch/EcsTaskArn"] == task_arn
        assert a["ProductFields"]["minerwatch/ContainerId"] == cid


@needs_runc
def test_containerised_miner_without_ecs_agent(imds_sim, sensor_factory, pool):
    imds = imds_sim(*IMDS_ARGS)
    # --ecs-agent-url is the closed loopback port of the test environment.
    s = sensor_factory(env=imds.env())
    wait_instance(s, "available")
    agent = wait_ecs_agent(s, "unreachable")
    assert agent["reason"], agent
    task_id, cid = new_task_id(), new_container_id()
    with RuncContainer(miner_argv(pool), cgroups_path=ecs_al2023_path(task_id, cid),
                       container_id=cid) as c:
        f = ocsf_created(s, c.pid)
    ctr = f["evidences"][0]["process"]["container"]
    assert ctr["uid"] == cid and ctr["runtime"] == "docker" and ctr["orchestrator"] == "ECS"
    assert "name" not in ctr and "image" not in ctr
    u = f["unmapped"]["container"]
    assert u["ecs_task_id_from_cgroup"] == task_id
    assert "ECS agent" in u["ecs_context_missing"], u
    check_cloud(f)
    assert [r["type"] for r in f["resources"]] == ["AWS::EC2::Instance"]
    assert "container" in f["metadata"]["profiles"]
    check_only_ocsf(s.output)
    assert s.status()["ecs"]["agent"] == "unreachable"


@needs_runc
def test_task_gone_before_the_lookup(imds_sim, ecs_sim, sensor_factory, pool):
    task_id, cid = new_task_id(), new_container_id()
    _, other, _ = _task_setup(task_id, cid)
    imds = imds_sim(*IMDS_ARGS)
    # The agent no longer knows the task: it stopped and was cleaned up
    # between the miner's activity and the lookup. Other tasks still run.
    ecs = ecs_sim(*ECS_ARGS, cluster=CLUSTER, tasks=[other])
    s = sensor_factory(env=imds.env(), extra_args=("--ecs-agent-url", ecs.url))
    wait_instance(s, "available")
    wait_ecs_agent(s, "reachable")
    with RuncContainer(miner_argv(pool), cgroups_path=ecs_al2023_path(task_id, cid),
                       container_id=cid) as c:
        f = ocsf_created(s, c.pid)
    assert ecs.task_lookups(cid, 404), ecs.output()
    ctr = f["evidences"][0]["process"]["container"]
    assert ctr["uid"] == cid and ctr["orchestrator"] == "ECS"
    assert "name" not in ctr
    types = [r["type"] for r in f["resources"]]
    assert "AWS::ECS::Task" not in types and "AWS::ECS::Cluster" not in types
    assert "AWS::EC2::Instance" in types
    u = f["unmapped"]["container"]
    assert "knows no task" in u["ecs_context_missing"], u
    assert cid[:12] in u["ecs_context_missing"]
    check_only_ocsf(s.output)
    # A container the agent does not know says nothing about the agent itself.
    assert s.status()["ecs"]["agent"] == "reachable"
