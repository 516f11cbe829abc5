# SPDX-License-Identifier: Apache-2.0
"""Checks ASFF findings against the AWS Security Hub service model.

The model is the one the AWS SDK for JavaScript v2 ships
(`package/apis/securityhub-2018-10-26.min.json` in the `aws-sdk` npm
package). `load_model()` fetches the package once with `npm pack aws-sdk@2`
into build/cache/ and reuses the tarball after that; only the model file is
read out of it.

The shape checked is the element of BatchImportFindings' `Findings` list,
AwsSecurityFinding. In the minified model shapes have short generated names
("S2w") and are partly inlined; a shape without a `type` is a string.
`Model.check()` walks a finding and the shape together and returns every
violation as "path: message":

- structure: a JSON object; required members present; no member the model
  does not define; unions set exactly one member;
- list / map: a JSON array / object, each element (map: key and value)
  checked against its shape;
- string: a JSON string; `enum`, `min` and `max` (length) when stated;
- integer / long: a JSON integer (not a boolean); `min` / `max` (value)
  when stated;
- float / double: a JSON number; boolean: true or false;
- timestamp: an ISO 8601 string or a number;
- null is never accepted: a member that has no value is left out.

The minified model drops documentation and, in the version on npm today,
every enum, length and pattern trait as well: the checks above are applied
wherever the model states them, and the tests check the limits the ASFF
documentation gives (Description length, severity labels, ...) themselves.
"""
import datetime
import glob
import json
import os
import re
import shutil
import subprocess
import tarfile
import tempfile

ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))
CACHE_DIR = os.path.join(ROOT, "build", "cache")
PACKAGE = "aws-sdk@2"
MODEL_MEMBER = "package/apis/securityhub-2018-10-26.min.json"
NPM_TIMEOUT = 300

ISO8601 = re.compile(r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d{1,9})?(Z|[+-]\d{2}:\d{2})$")


class ModelUnavailable(Exception):
    """The model could not be fetched or read."""


def _version_key(path):
    m = re.search(r"aws-sdk-(\d+)\.(\d+)\.(\d+)\.tgz$", path)
    return tuple(int(x) for x in m.groups()) if m else (0, 0, 0)


def cached_tarball(cache_dir=CACHE_DIR):
    """The newest aws-sdk v2 tarball in the cache, or None."""
    found = sorted(glob.glob(os.path.join(cache_dir, "aws-sdk-2.*.tgz")), key=_version_key)
    return found[-1] if found else None


def fetch_tarball(cache_dir=CACHE_DIR):
    """The aws-sdk v2 tarball: from the cache, else `npm pack` into it."""
    tgz = cached_tarball(cache_dir)
    if tgz:
        return tgz
    npm = shutil.which("npm")
    if not npm:
        raise ModelUnavailable("npm is not installed: it is needed once to fetch "
                               f"{PACKAGE} (the Security Hub model) into {cache_dir}")
    os.makedirs(cache_dir, exist_ok=True)
    # Packed into a private directory first, so that an interrupted download
    # never leaves a partial tarball in the cache.
    work = tempfile.mkdtemp(prefix=".npm-pack-", dir=cache_dir)
    try:
        env = dict(os.environ, npm_config_update_notifier="false", npm_config_fund="false",
                   npm_config_audit="false")
        # npm's own retry waits (10 s, then up to 60 s) would make an
        # unreachable registry take minutes to report; shorter ones still
        # ride out a brief glitch.
        env.setdefault("npm_config_fetch_retry_mintimeout", "2000")
        env.setdefault("npm_config_fetch_retry_maxtimeout", "10000")
        try:
            r = subprocess.run([npm, "pack", PACKAGE], cwd=work, capture_output=True,
                               text=True, timeout=NPM_TIMEOUT, env=env)
        except subprocess.TimeoutExpired:
            raise ModelUnavailable(f"`npm pack {PACKAGE}` did not finish within "
                                   f"{NPM_TIMEOUT}s: is the npm registry reachable?")
        packed = glob.glob(os.path.join(work, "aws-sdk-2.*.tgz"))
        if r.returncode != 0 or len(packed) != 1:
            raise ModelUnavailable(
                f"`npm pack {PACKAGE}` failed (exit {r.returncode}): is the npm registry "
                f"reachable?\n{r.stderr.strip()[-2000:]}")
        dest = os.path.join(cache_dir, os.path.basename(packed[0]))
        os.replace(packed[0], dest)
        return dest
    finally:
        shutil.rmtree(work, ignore_errors=True)


def load_model(cache_dir=CACHE_DIR):
    """The Security Hub model as a Model; raises ModelUnavailable."""
    tgz = fetch_tarball(cache_dir)
    try:
        with tarfile.open(tgz) as t:
            f = t.extractfile(t.getmember(MODEL_MEMBER))
            doc = json.loads(f.read())
    except (tarfile.TarError, KeyError, OSError, ValueError) as e:
        raise ModelUnavailable(f"{tgz}: cannot read {MODEL_MEMBER}: {e}")
    return Model(doc)


class Model:
    """A service model (its `shapes`) and checks of values against shapes."""

    def __init__(self, doc):
        self.doc = doc
        self.shapes = doc.get("shapes", {})

    def resolve(self, shape):
        """The shape a member refers to, with the member's own traits on top."""
        seen = 0
        while "shape" in shape:
            ref = shape["shape"]
            if ref not in self.shapes:
                raise KeyError(f"the model has no shape {ref!r}")
            merged = dict(self.shapes[ref])
            merged.update({k: v for k, v in shape.items() if k != "shape"})
            shape = merged
            seen += 1
            if seen > 64:
                raise ValueError("shape references loop")
        return shape

    def finding_shape(self):
        """AwsSecurityFinding: the element of BatchImportFindings' Findings."""
        op = self.doc["operations"]["BatchImportFindings"]
        findings = self.resolve(self.resolve(op["input"])["members"]["Findings"])
        shape = self.resolve(findings["member"])
        if "SchemaVersion" not in shape.get("required", ()):
            raise ValueError("BatchImportFindings' Findings are not AwsSecurityFinding")
        return shape

    def check_finding(self, finding):
        """Violations of AwsSecurityFinding by one ASFF object (a list of strings)."""
        errors = []
        self._check(finding, self.finding_shape(), "AwsSecurityFinding", errors)
        return errors

    def check(self, value, shape, path="value"):
        errors = []
        self._check(value, shape, path, errors)
        return errors

    @staticmethod
    def _length(value, shape, path, errors, what):
        n = len(value)
        if "min" in shape and n < shape["min"]:
            errors.append(f"{path}: {what} {n} is below the model's minimum {shape['min']}")
        if "max" in shape and n > shape["max"]:
            errors.append(f"{path}: {what} {n} is above the model's maximum {shape['max']}")

    def _check(self, value, shape, path, errors):
        shape = self.resolve(shape)
        kind = shape.get("type", "string")
        if value is None:
            errors.append(f"{path}: null (a member without a value must be left out)")
            return
        if kind == "structure":
            if not isinstance(value, dict):
                errors.append(f"{path}: expected an object, got {type(value).__name__}")
                return
            members = shape.get("members", {})
            for req in shape.get("required", ()):
                if req not in value:
                    errors.append(f"{path}: required member {req} is missing")
            for k, v in value.items():
                if k not in members:
                    errors.append(f"{path}: member {k} is not in the model")
                    continue
                self._check(v, members[k], f"{path}.{k}", errors)
            if shape.get("union") and len(value) != 1:
                errors.append(f"{path}: a union must set exactly one member, has {len(value)}")
        elif kind == "list":
            if not isinstance(value, list):
                errors.append(f"{path}: expected an array, got {type(value).__name__}")
                return
            self._length(value, shape, path, errors, "length")
            for i, v in enumerate(value):
                self._check(v, shape.get("member", {}), f"{path}[{i}]", errors)
        elif kind == "map":
            if not isinstance(value, dict):
                errors.append(f"{path}: expected an object (map), got {type(value).__name__}")
                return
            self._length(value, shape, path, errors, "entries")
            for k, v in value.items():
                self._check(k, shape.get("key", {}), f"{path} key {k!r}", errors)
                self._check(v, shape.get("value", {}), f"{path}[{k!r}]", errors)
        elif kind == "string":
            if not isinstance(value, str):
                errors.append(f"{path}: expected a string, got {type(value).__name__}")
                return
            if "enum" in shape and value not in shape["enum"]:
                errors.append(f"{path}: {value!r} is not one of {shape['enum']}")
            self._length(value, shape, path, errors, "length")
        elif kind in ("integer", "long"):
            if isinstance(value, bool) or not isinstance(value, int):
                errors.append(f"{path}: expected an integer, got {type(value).__name__}")
                return
            if "min" in shape and value < shape["min"]:
                errors.append(f"{path}: {value} is below the model's minimum {shape['min']}")
            if "max" in shape and value > shape["max"]:
                errors.append(f"{path}: {value} is above the model's maximum {shape['max']}")
        elif kind in ("double", "float"):
            if isinstance(value, bool) or not isinstance(value, (int, float)):
                errors.append(f"{path}: expected a number, got {type(value).__name__}")
        elif kind == "boolean":
            if not isinstance(value, bool):
                errors.append(f"{path}: expected true or false, got {type(value).__name__}")
        elif kind == "timestamp":
            if isinstance(value, str):
                if not is_iso8601(value):
                    errors.append(f"{path}: {value!r} is not an ISO 8601 timestamp")
            elif isinstance(value, bool) or not isinstance(value, (int, float)):
                errors.append(f"{path}: expected a timestamp, got {type(value).__name__}")
        elif kind == "blob":
            if not isinstance(value, str):
                errors.append(f"{path}: expected a base64 string, got {type(value).__name__}")
        else:
            errors.append(f"{path}: the model's type {kind!r} is not known to this checker")


def is_iso8601(s):
    """True for a date and time with seconds and an explicit offset or Z."""
    if not isinstance(s, str) or not ISO8601.match(s):
        return False
    try:
        datetime.datetime.fromisoformat(s.replace("Z", "+00:00"))
    except ValueError:
        return False
    return True


def is_iso8601_utc(s):
    """True for an ISO 8601 date and time in UTC, written with Z."""
    return is_iso8601(s) and s.endswith("Z")
