"""What the boto3 EC2 test modules share: an account of their own, made as
`amibox account create` makes it, and an image's snapshot from a raw disk
(`amibox import`).  Needs ENDPOINT, DATA_DIR, AMIBOX_BIN and the accounts'
keys (ALICE_KEY, ...) in the environment, as the t_*.sh drivers give them.
"""
import json
import os
import subprocess

import boto3
from botocore.config import Config

ENDPOINT = os.environ["ENDPOINT"]
CONFIG = Config(retries={"max_attempts": 1}, region_name="us-east-1")


def new_account(name):
    """A fresh account named name (its own default VPC): its EC2 client and ID."""
    out = subprocess.run([os.environ["AMIBOX_BIN"], "account", "create", name, "--data",
                          os.environ["DATA_DIR"], "--json"], check=True,
                         capture_output=True, text=True).stdout
    a = json.loads(out)
    return boto3.client("ec2", endpoint_url=ENDPOINT, config=CONFIG,
                        aws_access_key_id=a["AccessKeyId"],
                        aws_secret_access_key=a["SecretAccessKey"]), a["AccountId"]


def import_image(path, who="ALICE"):
    """The snapshot `amibox import` makes of the raw disk at path, as who."""
    env = dict(os.environ, AWS_ACCESS_KEY_ID=os.environ[who + "_KEY"],
               AWS_SECRET_ACCESS_KEY=os.environ[who + "_SECRET"])
    out = subprocess.run([os.environ["AMIBOX_BIN"], "import", path, "--endpoint", ENDPOINT],
                         env=env, capture_output=True, text=True, check=True)
    return out.stdout.strip()
