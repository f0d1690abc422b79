"""EC2 key pairs through boto3: CreateKeyPair (rsa and ed25519, pem and
ppk), ImportKeyPair (OpenSSH, RFC 4716 and base64 DER material), what EC2
refuses, DescribeKeyPairs (names, IDs, filters, IncludePublicKey),
DeleteKeyPair, tags.  Every key and fingerprint is checked with the tools
people use on them: ssh-keygen, openssl and puttygen.

Run by t_keypairs.sh (with boto3 1.43 and 1.26); needs ENDPOINT, ALICE_*,
BOB_*, TEST_DIR.
"""
import base64
import os
import re
import struct
import subprocess
import tempfile
import unittest
import uuid

import boto3
from botocore.config import Config
from botocore.exceptions import ClientError

import cases  # records each case for make check

ENDPOINT = os.environ["ENDPOINT"]
CONFIG = Config(retries={"max_attempts": 1}, region_name="us-east-1")
WORK = tempfile.mkdtemp(dir=os.environ["TEST_DIR"])


def client(who):
    return boto3.client("ec2", endpoint_url=ENDPOINT, config=CONFIG,
                        aws_access_key_id=os.environ[who + "_KEY"],
                        aws_secret_access_key=os.environ[who + "_SECRET"])


def run(*args, data=None):
    out = subprocess.run(args, input=data, capture_output=True, check=True)
    return out.stdout


def shell(command):
    return subprocess.run(["bash", "-c", "set -o pipefail; " + command], capture_output=True,
                          check=True).stdout.decode()


def write(name, text, mode=0o600):
    path = os.path.join(WORK, name)
    with open(path, "w" if isinstance(text, str) else "wb") as f:
        f.write(text)
    os.chmod(path, mode)
    return path


def unique(prefix):
    return "%s-%s" % (prefix, uuid.uuid4().hex[:8])


def openssl_colons(output):
    """The digest of `openssl md5 -c` / `openssl sha1 -c` output."""
    return output.strip().split("= ")[-1]


def ssh_keygen_key(kind, bits=None, comment="me@example.com"):
    """A fresh key pair made by ssh-keygen: (private path, public line)."""
    path = os.path.join(WORK, unique("sk"))
    args = ["ssh-keygen", "-q", "-t", kind, "-N", "", "-C", comment, "-f", path]
    if bits:
        args += ["-b", str(bits)]
    if kind == "rsa":
        args += ["-m", "PEM"]  # a private key openssl reads too
    run(*args)
    with open(path + ".pub") as f:
        return path, f.read().strip()


def sha256_fingerprint(path):
    """ssh-keygen's SHA256 fingerprint, in EC2's spelling (padded, no prefix)."""
    out = run("ssh-keygen", "-l", "-E", "sha256", "-f", path).decode()
    return re.search(r"SHA256:(\S+)", out).group(1) + "="


def ssh_string(data):
    return struct.pack(">I", len(data)) + data


def ssh_mpint(value):
    data = value.to_bytes((value.bit_length() + 8) // 8, "big")
    return ssh_string(data)


class KeyPairs(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.ec2 = client("ALICE")
        cls.bob = client("BOB")

    def assertError(self, code, fn, **kwargs):
        with self.assertRaises(ClientError) as cm:
            fn(**kwargs)
        self.assertEqual(cm.exception.response["Error"]["Code"], code)
        self.assertEqual(cm.exception.response["ResponseMetadata"]["HTTPStatusCode"], 400)
        return cm.exception.response["Error"]["Message"]

    def describe_one(self, name):
        got = self.ec2.describe_key_pairs(KeyNames=[name], IncludePublicKey=True)["KeyPairs"]
        self.assertEqual(len(got), 1)
        return got[0]

    # ---- CreateKeyPair ----------------------------------------------------

    def test_create_rsa_pem(self):
        name = unique("rsa")
        made = self.ec2.create_key_pair(KeyName=name)
        self.assertRegex(made["KeyPairId"], r"^key-[0-9a-f]{17}$")
        self.assertEqual(made["KeyName"], name)
        material = made["KeyMaterial"]
        self.assertTrue(material.startswith("-----BEGIN RSA PRIVATE KEY-----\n"), material[:40])
        path = write(name + ".pem", material)
        # EC2 fingerprints the keys it makes with SHA-1 of the DER PKCS#8 key.
        expected = openssl_colons(shell(
            "openssl pkcs8 -in %s -inform PEM -outform DER -topk8 -nocrypt | openssl sha1 -c"
            % path))
        self.assertEqual(made["KeyFingerprint"], expected)
        self.assertIn("2048 bit", shell("openssl rsa -in %s -noout -text | head -1" % path))
        public = run("ssh-keygen", "-y", "-f", path).decode().split()
        stored = self.describe_one(name)
        self.assertEqual(stored["PublicKey"].split(), public[:2] + [name])
        self.assertEqual(stored["KeyType"], "rsa")
        self.assertEqual(stored["KeyFingerprint"], expected)
        self.assertEqual(stored["KeyPairId"], made["KeyPairId"])

    def test_create_ed25519_pem(self):
        name = unique("ed")
        made = self.ec2.create_key_pair(KeyName=name, KeyType="ed25519", KeyFormat="pem")
        material = made["KeyMaterial"]
        self.assertTrue(material.startswith("-----BEGIN OPENSSH PRIVATE KEY-----\n"))
        path = write(name, material)
        public = run("ssh-keygen", "-y", "-f", path).decode().strip()
        stored = self.describe_one(name)
        self.assertEqual(stored["PublicKey"], public)
        self.assertEqual(stored["KeyType"], "ed25519")
        self.assertEqual(made["KeyFingerprint"], sha256_fingerprint(path))
        self.assertEqual(len(made["KeyFingerprint"]), 44)

    def check_ppk(self, key_type, openssh_label):
        name = unique("ppk")
        made = self.ec2.create_key_pair(KeyName=name, KeyType=key_type, KeyFormat="ppk")
        material = made["KeyMaterial"]
        lines = material.splitlines()
        self.assertEqual(lines[0], "PuTTY-User-Key-File-2: %s" % openssh_label)
        self.assertEqual(lines[1:3], ["Encryption: none", "Comment: " + name])
        ppk = write(name + ".ppk", material)
        stored = self.describe_one(name)
        self.assertEqual(run("puttygen", ppk, "-L").decode().strip(), stored["PublicKey"])
        # puttygen checks the MAC when it loads the private key...
        converted = os.path.join(WORK, name + ".openssh")
        run("puttygen", ppk, "-O", "private-openssh", "-o", converted)
        self.assertEqual(run("ssh-keygen", "-y", "-f", converted).decode().split()[:2],
                         stored["PublicKey"].split()[:2])
        # ... and refuses a file whose MAC does not match.
        mac = lines[-1]
        bad = mac[:-1] + ("0" if mac[-1] != "0" else "1")
        tampered = write(name + "-bad.ppk", material.replace(mac, bad))
        failed = subprocess.run(["puttygen", tampered, "-O", "private-openssh", "-o",
                                 converted + "-bad"], capture_output=True)
        self.assertNotEqual(failed.returncode, 0)
        self.assertIn(b"MAC failed", failed.stderr)
        return made, stored, converted

    def test_create_rsa_ppk(self):
        made, stored, converted = self.check_ppk("rsa", "ssh-rsa")
        expected = openssl_colons(shell(
            "ssh-keygen -p -N '' -m PEM -f %s >/dev/null && openssl pkcs8 -in %s -topk8 "
            "-nocrypt -outform DER | openssl sha1 -c" % (converted, converted)))
        self.assertEqual(made["KeyFingerprint"], expected)

    def test_create_ed25519_ppk(self):
        made, stored, converted = self.check_ppk("ed25519", "ssh-ed25519")
        self.assertEqual(made["KeyFingerprint"], sha256_fingerprint(converted))

    def test_create_refusals(self):
        self.assertError("MissingParameter", self.ec2.create_key_pair, KeyName="")
        msg = self.assertError("InvalidParameterValue", self.ec2.create_key_pair,
                               KeyName=unique("x"), KeyType="dsa")
        self.assertIn("dsa", msg)
        self.assertError("InvalidParameterValue", self.ec2.create_key_pair,
                         KeyName=unique("x"), KeyFormat="der")
        self.assertError("InvalidParameterValue", self.ec2.create_key_pair, KeyName="k" * 256)
        self.assertError("InvalidParameterValue", self.ec2.create_key_pair, KeyName="cl\u00e9")
        self.assertError("InvalidParameterValue", self.ec2.create_key_pair, KeyName=" lead")
        self.assertError("InvalidParameterValue", self.ec2.create_key_pair, KeyName="trail ")
        long_name = "k" * 250 + uuid.uuid4().hex[:5]
        self.assertEqual(self.ec2.create_key_pair(KeyName=long_name)["KeyName"], long_name)
        spaced = unique("with space")
        self.assertEqual(self.ec2.create_key_pair(KeyName=spaced, KeyType="ed25519")["KeyName"],
                         spaced)

    def test_duplicate(self):
        name = unique("dup")
        self.ec2.create_key_pair(KeyName=name, KeyType="ed25519")
        msg = self.assertError("InvalidKeyPair.Duplicate", self.ec2.create_key_pair, KeyName=name)
        self.assertIn(name, msg)
        _, line = ssh_keygen_key("ed25519")
        self.assertError("InvalidKeyPair.Duplicate", self.ec2.import_key_pair, KeyName=name,
                         PublicKeyMaterial=line.encode())
        # Names are per account.
        self.bob.create_key_pair(KeyName=name, KeyType="ed25519")
        self.assertEqual(len(self.ec2.describe_key_pairs(KeyNames=[name])["KeyPairs"]), 1)

    # ---- ImportKeyPair ----------------------------------------------------

    def imported(self, material, name=None):
        name = name or unique("imp")
        got = self.ec2.import_key_pair(KeyName=name, PublicKeyMaterial=material)
        self.assertEqual(got["KeyName"], name)
        self.assertRegex(got["KeyPairId"], r"^key-[0-9a-f]{17}$")
        return got, self.describe_one(name)

    def test_import_rsa_openssh(self):
        for bits in (1024, 2048, 4096):
            path, line = ssh_keygen_key("rsa", bits)
            got, stored = self.imported(line.encode())
            # EC2: MD5 of the DER SubjectPublicKeyInfo (not ssh-keygen's MD5
            # of the SSH blob).
            expected = openssl_colons(shell(
                "ssh-keygen -e -m PKCS8 -f %s.pub | openssl pkey -pubin -outform DER | "
                "openssl md5 -c" % path))
            self.assertEqual(got["KeyFingerprint"], expected)
            # The same, from the private key as AWS's guide computes it.
            self.assertEqual(openssl_colons(shell(
                "openssl rsa -in %s -pubout -outform DER | openssl md5 -c" % path)), expected)
            self.assertEqual(stored["KeyFingerprint"], expected)
            self.assertEqual(stored["KeyType"], "rsa")
            self.assertEqual(stored["PublicKey"], line)

    def test_import_ed25519(self):
        path, line = ssh_keygen_key("ed25519", comment="")
        got, stored = self.imported(line.encode())
        self.assertEqual(got["KeyFingerprint"], sha256_fingerprint(path))
        self.assertEqual(stored["KeyType"], "ed25519")
        # Without a comment of its own, the key takes the key pair's name.
        self.assertEqual(stored["PublicKey"], "%s %s" % (line, stored["KeyName"]))
        path, line = ssh_keygen_key("ed25519", comment="me@host")
        got, stored = self.imported(("\n  %s\r\n" % line).encode())
        self.assertEqual(stored["PublicKey"], line)
        self.assertEqual(got["KeyFingerprint"], sha256_fingerprint(path))

    def test_import_rfc4716_and_der(self):
        path, line = ssh_keygen_key("rsa", 2048)
        want = self.imported(line.encode())[0]["KeyFingerprint"]
        rfc4716 = run("ssh-keygen", "-e", "-f", path + ".pub")
        self.assertTrue(rfc4716.startswith(b"---- BEGIN SSH2 PUBLIC KEY ----"))
        got, stored = self.imported(rfc4716)
        self.assertEqual(got["KeyFingerprint"], want)
        self.assertEqual(stored["PublicKey"].split()[:2], line.split()[:2])
        spki = shell("ssh-keygen -e -m PKCS8 -f %s.pub | openssl pkey -pubin -outform DER | "
                     "base64 -w 64" % path)
        self.assertEqual(self.imported(spki.encode())[0]["KeyFingerprint"], want)
        pkcs1 = shell("ssh-keygen -e -m PKCS8 -f %s.pub | openssl rsa -pubin "
                      "-RSAPublicKey_out -outform DER | base64 -w 0" % path)
        self.assertEqual(self.imported(pkcs1.encode())[0]["KeyFingerprint"], want)

    def test_import_refusals(self):
        refused = []
        for bits in (256, 384, 521):
            refused.append(ssh_keygen_key("ecdsa", bits)[1].encode())
        dss = ssh_string(b"ssh-dss") + b"".join(ssh_mpint(v) for v in (2**1023 + 1, 2**159 + 7,
                                                                       5, 7))
        refused.append(b"ssh-dss " + base64.b64encode(dss))
        # RSA below 1024 bits (a 768-bit key from openssl).
        small = os.path.join(WORK, unique("small"))
        run("openssl", "genpkey", "-algorithm", "RSA", "-pkeyopt", "rsa_keygen_bits:768", "-out",
            small)
        modulus = int(shell("openssl rsa -in %s -noout -modulus" % small).split("=")[1], 16)
        blob = ssh_string(b"ssh-rsa") + ssh_mpint(65537) + ssh_mpint(modulus)
        refused.append(b"ssh-rsa " + base64.b64encode(blob))
        refused.append(shell("openssl pkey -in %s -pubout -outform DER | base64 -w 0"
                             % small).encode())
        _, ed_line = ssh_keygen_key("ed25519")
        ed_type, ed_b64 = ed_line.split()[:2]
        refused += [
            b"ssh-rsa " + ed_b64.encode(),                        # type and blob differ
            b'command="/bin/true" ' + ed_line.encode(),           # authorized_keys options
            (ed_line + "\n" + ed_line).encode(),                  # two keys
            b"ssh-ed25519 " + ed_b64.encode()[:-4],               # cut short
            b"ssh-ed25519 AAAA%%%%",                              # not base64
            b"sk-ssh-ed25519@openssh.com " + ed_b64.encode(),
            b"\x00\x01binary",
            b"hello",
        ]
        for material in refused:
            self.assertError("InvalidKey.Format", self.ec2.import_key_pair, KeyName=unique("bad"),
                             PublicKeyMaterial=material)
        self.assertEqual(self.ec2.describe_key_pairs(Filters=[
            {"Name": "key-name", "Values": ["bad-*"]}])["KeyPairs"], [])

    # ---- DescribeKeyPairs -------------------------------------------------

    def test_describe(self):
        prefix = unique("desc")
        spec = [{"ResourceType": "key-pair", "Tags": [{"Key": "team", "Value": "blue"}]}]
        a = self.ec2.create_key_pair(KeyName=prefix + "-a", TagSpecifications=spec)
        b = self.ec2.create_key_pair(KeyName=prefix + "-b", KeyType="ed25519")
        _, line = ssh_keygen_key("ed25519")
        c = self.ec2.import_key_pair(KeyName=prefix + "-c", PublicKeyMaterial=line.encode(),
                                     TagSpecifications=[{"ResourceType": "key-pair", "Tags": [
                                         {"Key": "team", "Value": "red"}]}])
        self.assertEqual(a["Tags"], [{"Key": "team", "Value": "blue"}])
        self.assertEqual(c["Tags"], [{"Key": "team", "Value": "red"}])

        def names(**kwargs):
            got = self.ec2.describe_key_pairs(**kwargs)["KeyPairs"]
            return sorted(k["KeyName"] for k in got if k["KeyName"].startswith(prefix))

        everything = self.ec2.describe_key_pairs()["KeyPairs"]
        self.assertTrue(all("PublicKey" not in k for k in everything))
        self.assertTrue(all(k["CreateTime"] for k in everything))
        self.assertEqual(names(), [prefix + "-a", prefix + "-b", prefix + "-c"])
        self.assertEqual(names(KeyNames=[prefix + "-b"]), [prefix + "-b"])
        self.assertEqual(names(KeyPairIds=[a["KeyPairId"], c["KeyPairId"]]),
                         [prefix + "-a", prefix + "-c"])
        self.assertEqual(names(Filters=[{"Name": "key-name", "Values": [prefix + "-?"]}]),
                         [prefix + "-a", prefix + "-b", prefix + "-c"])
        self.assertEqual(names(Filters=[{"Name": "key-pair-id", "Values": [b["KeyPairId"]]}]),
                         [prefix + "-b"])
        self.assertEqual(names(Filters=[{"Name": "fingerprint",
                                         "Values": [a["KeyFingerprint"]]}]), [prefix + "-a"])
        self.assertEqual(names(Filters=[{"Name": "key-type", "Values": ["ed25519"]}]),
                         [prefix + "-b", prefix + "-c"])
        self.assertEqual(names(Filters=[{"Name": "tag:team", "Values": ["blue", "red"]}]),
                         [prefix + "-a", prefix + "-c"])
        self.assertEqual(names(Filters=[{"Name": "tag-key", "Values": ["team"]},
                                        {"Name": "key-type", "Values": ["rsa"]}]),
                         [prefix + "-a"])
        self.assertEqual(names(KeyNames=[prefix + "-a"],
                               Filters=[{"Name": "key-type", "Values": ["ed25519"]}]), [])
        got = self.ec2.describe_key_pairs(KeyNames=[prefix + "-c"], IncludePublicKey=True)
        self.assertEqual(got["KeyPairs"][0]["PublicKey"], line)
        self.assertError("InvalidParameterValue", self.ec2.describe_key_pairs,
                         Filters=[{"Name": "owner-id", "Values": ["x"]}])
        msg = self.assertError("InvalidKeyPair.NotFound", self.ec2.describe_key_pairs,
                               KeyNames=[prefix + "-a", prefix + "-missing"])
        self.assertIn(prefix + "-missing", msg)
        msg = self.assertError("InvalidKeyPair.NotFound", self.ec2.describe_key_pairs,
                               KeyPairIds=["key-0123456789abcdef0"])
        self.assertIn("key-0123456789abcdef0", msg)
        self.assertError("InvalidKeyPair.NotFound", self.ec2.describe_key_pairs,
                         KeyPairIds=["nonsense"])
        # Another account sees none of them.
        self.assertError("InvalidKeyPair.NotFound", self.bob.describe_key_pairs,
                         KeyNames=[prefix + "-a"])
        self.assertError("InvalidKeyPair.NotFound", self.bob.describe_key_pairs,
                         KeyPairIds=[a["KeyPairId"]])
        self.assertFalse(any(k["KeyName"].startswith(prefix)
                             for k in self.bob.describe_key_pairs()["KeyPairs"]))

    # ---- tags -------------------------------------------------------------

    def test_tags(self):
        name = unique("tagged")
        kid = self.ec2.create_key_pair(KeyName=name, KeyType="ed25519")["KeyPairId"]
        self.ec2.create_tags(Resources=[kid], Tags=[{"Key": "env", "Value": "test"},
                                                    {"Key": "owner", "Value": "alice"}])
        tags = self.ec2.describe_tags(Filters=[{"Name": "resource-id", "Values": [kid]}])["Tags"]
        self.assertEqual(sorted((t["Key"], t["Value"], t["ResourceType"]) for t in tags),
                         [("env", "test", "key-pair"), ("owner", "alice", "key-pair")])
        by_type = self.ec2.describe_tags(Filters=[{"Name": "resource-type",
                                                   "Values": ["key-pair"]}])["Tags"]
        self.assertIn(kid, [t["ResourceId"] for t in by_type])
        self.ec2.delete_tags(Resources=[kid], Tags=[{"Key": "owner"}])
        self.assertEqual(self.describe_one(name)["Tags"], [{"Key": "env", "Value": "test"}])
        self.assertError("InvalidKeyPair.NotFound", self.bob.create_tags, Resources=[kid],
                         Tags=[{"Key": "k", "Value": "v"}])
        self.assertError("InvalidParameterValue", self.ec2.create_key_pair, KeyName=unique("t"),
                         TagSpecifications=[{"ResourceType": "instance",
                                             "Tags": [{"Key": "k", "Value": "v"}]}])
        self.ec2.delete_key_pair(KeyPairId=kid)
        self.assertEqual(self.ec2.describe_tags(Filters=[
            {"Name": "resource-id", "Values": [kid]}])["Tags"], [])

    # ---- DeleteKeyPair ----------------------------------------------------

    def test_delete(self):
        name = unique("del")
        kid = self.ec2.create_key_pair(KeyName=name, KeyType="ed25519")["KeyPairId"]
        # Another account's delete of the same name deletes nothing of alice's.
        self.bob.delete_key_pair(KeyName=name)
        self.assertError("MissingParameter", self.bob.delete_key_pair, KeyPairId="")
        self.assertEqual(self.describe_one(name)["KeyPairId"], kid)
        # botocore 1.29's model has no output for DeleteKeyPair yet.
        output = self.ec2.meta.service_model.operation_model("DeleteKeyPair").output_shape
        answers = output is not None and "Return" in output.members
        got = self.ec2.delete_key_pair(KeyName=name)
        if answers:
            self.assertTrue(got["Return"])
            self.assertEqual(got["KeyPairId"], kid)
        self.assertError("InvalidKeyPair.NotFound", self.ec2.describe_key_pairs, KeyNames=[name])
        # EC2 answers success for a key pair that is not there.
        got = self.ec2.delete_key_pair(KeyName=name)
        if answers:
            self.assertTrue(got["Return"])
            self.assertNotIn("KeyPairId", got)
        kid = self.ec2.create_key_pair(KeyName=name, KeyType="ed25519")["KeyPairId"]
        got = self.ec2.delete_key_pair(KeyPairId=kid)
        if answers:
            self.assertEqual(got["KeyPairId"], kid)
        self.assertError("InvalidKeyPair.NotFound", self.ec2.describe_key_pairs, KeyPairIds=[kid])

    def test_dry_run(self):
        self.assertRaisesRegex(ClientError, "DryRunOperation", self.ec2.create_key_pair,
                               KeyName=unique("dry"), DryRun=True)
        self.assertRaisesRegex(ClientError, "DryRunOperation", self.ec2.describe_key_pairs,
                               DryRun=True)


if __name__ == "__main__":
    cases.main()
