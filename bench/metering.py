"""The cost of metering on RunInstances, for bench/run.sh (section metering).

Usage: metering.py ROUNDS NAME=ENDPOINT,KEY,SECRET ...

Each daemon is one build: the ordinary one, whose catalogue transitions
write usage records, and one built with -DAMIBOX_METERING_HOOKS=0.  Each
round launches one t2.micro of the sample HVM image on each daemon in turn
(the order alternating), timing the RunInstances call as the client sees
it, then waits for it to run and terminates it, so that no machine is
booting while the next call is timed.  Prints a Markdown table row per
daemon: p50, mean and standard deviation of the call, in milliseconds.
"""
import statistics
import sys
import time

import boto3
from botocore.config import Config


def wait_state(ec2, iid, state, timeout=120):
    deadline = time.time() + timeout
    while time.time() < deadline:
        got = ec2.describe_instances(InstanceIds=[iid])["Reservations"][0]["Instances"][0]
        if got["State"]["Name"] == state:
            return
        time.sleep(0.05)
    raise SystemExit("instance %s never became %s" % (iid, state))


def main():
    rounds = int(sys.argv[1])
    targets = []
    for spec in sys.argv[2:]:
        name, rest = spec.split("=", 1)
        endpoint, key, secret = rest.split(",")
        ec2 = boto3.client("ec2", endpoint_url=endpoint, aws_access_key_id=key,
                           aws_secret_access_key=secret,
                           config=Config(region_name="us-east-1", retries={"max_attempts": 1}))
        image = ec2.describe_images(Owners=["amazon"], Filters=[
            {"Name": "name", "Values": ["amibox-sample-hvm"]}])["Images"][0]["ImageId"]
        targets.append((name, ec2, image, []))
    for r in range(rounds + 2):
        order = targets if r % 2 == 0 else targets[::-1]
        for name, ec2, image, times in order:
            t0 = time.perf_counter()
            iid = ec2.run_instances(ImageId=image, InstanceType="t2.micro", MinCount=1,
                                    MaxCount=1)["Instances"][0]["InstanceId"]
            elapsed = (time.perf_counter() - t0) * 1000
            if r >= 2:  # the first rounds warm the daemons up
                times.append(elapsed)
            wait_state(ec2, iid, "running")
            ec2.terminate_instances(InstanceIds=[iid])
            wait_state(ec2, iid, "terminated")
    for name, _, _, times in targets:
        print("| RunInstances | %s | %d | %.2f | %.2f | %.2f |" % (
            name, len(times), statistics.median(times), statistics.mean(times),
            statistics.stdev(times)))


if __name__ == "__main__":
    main()
