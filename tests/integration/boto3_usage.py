"""The Cost Explorer API through boto3, after usage_scenario.py: the figures
agree with `amibox usage` to the digit and with figures computed by hand
from the scenario's times and AWS's prices (t2.micro at 3.6 USD per hour,
from the daemon's --prices file); incremental snapshots, stopped instances'
volumes, instance-store instances and bundles as EBS, EC2 and S3 bill
them; groups by dimension and tag, filters, granularities, dimension
values, paging over 1,500 resources, each account its own usage, errors.

Run by t_usage.sh with both boto3 versions; needs ENDPOINT, DATA_DIR,
TEST_DIR, AMIBOX_BIN and ALICE_*, BOB_*, CAROL_* (CAROL has 1,500 seeded
records of one minute each on CAROL_DAY, a UTC day).
"""
import calendar
import csv
import io
import json
import os
import subprocess
import sys
import time
import unittest

import boto3
from botocore.config import Config
from botocore.exceptions import ClientError

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import cases  # noqa: E402  records each case for make check
import usage_lib as lib  # noqa: E402

ENDPOINT = os.environ["ENDPOINT"]
with open(os.path.join(os.environ["TEST_DIR"], "usage_state.json")) as f:
    ST = json.load(f)
EC2 = "Amazon Elastic Compute Cloud - Compute"
PRICES = {"BoxUsage:t2.micro": 3.6, "BoxUsage:m1.small": 0.044, "EBS:VolumeUsage.gp2": 0.10,
          "EBS:VolumeUsage.gp3": 0.08, "EBS:VolumeP-IOPS.gp3": 0.005,
          "EBS:VolumeP-Throughput.gp3": 0.04, "EBS:SnapshotUsage": 0.05,
          "TimedStorage-ByteHrs": 0.023}


def ce(who, region="us-east-1", key=None):
    return boto3.client("ce", endpoint_url=ENDPOINT,
                        config=Config(retries={"max_attempts": 1}, region_name=region),
                        aws_access_key_id=key or os.environ[who + "_KEY"],
                        aws_secret_access_key=os.environ[who + "_SECRET"])


def cost_and_usage(client, granularity="MONTHLY", group_by=None, flt=None, start=None, end=None):
    w = lib.window()
    args = {"TimePeriod": {"Start": start or w[0], "End": end or w[1]}, "Granularity": granularity,
            "Metrics": ["UnblendedCost", "UsageQuantity", "BlendedCost"]}
    if group_by:
        args["GroupBy"] = group_by
    if flt:
        args["Filter"] = flt
    return client.get_cost_and_usage(**args)


def by_key(out):
    """{key: (cost, usage)} summed over the periods (keys joined by '|')."""
    sums = {}
    for period in out["ResultsByTime"]:
        for g in period["Groups"]:
            k = "|".join(g["Keys"])
            c, u = sums.get(k, (0.0, 0.0))
            sums[k] = (c + float(g["Metrics"]["UnblendedCost"]["Amount"]),
                       u + float(g["Metrics"]["UsageQuantity"]["Amount"]))
    return sums


def total(out):
    return (sum(float(p["Total"]["UnblendedCost"]["Amount"]) for p in out["ResultsByTime"]),
            sum(float(p["Total"]["UsageQuantity"]["Amount"]) for p in out["ResultsByTime"]))


def amibox_usage(*args):
    out = subprocess.run([os.environ["AMIBOX_BIN"], "usage", "--data", os.environ["DATA_DIR"],
                          "--csv", "--start", lib.window()[0], "--end", lib.window()[1]] +
                         list(args), capture_output=True, text=True, check=True)
    return list(csv.DictReader(io.StringIO(out.stdout)))


def refused(call, code, status=400):
    try:
        call()
    except ClientError as e:
        assert e.response["Error"]["Code"] == code, e.response["Error"]
        assert e.response["ResponseMetadata"]["HTTPStatusCode"] == status, e.response
        return e
    raise AssertionError("accepted: expected " + code)


class Usage(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.alice = ce("ALICE")
        cls.month = lib.month_seconds(ST["t2_launched"][0])

    def near(self, got, want, rel=0.1, what=""):
        self.assertLessEqual(abs(got - want), rel * abs(want) + 1e-9, "%s: %r, expected %r" %
                             (what, got, want))

    def between(self, got, lo, hi, what):
        self.assertTrue(lo * (1 - 1e-6) - 1e-10 <= got <= hi * (1 + 1e-6) + 1e-10,
                        "%s: %r not in [%r, %r]" % (what, got, lo, hi))

    def test_while_it_ran(self):
        """Rates measured during the scenario, and what it saw."""
        self.near(ST["parent_blocks"], 24, what="the parent snapshot's blocks")
        self.near(ST["child_blocks_before"], 8, what="the child's blocks, its parent there")
        self.near(ST["child_blocks_after"], 24, what="the child's blocks, its parent deleted")
        self.assertGreater(ST["root_snapshot_listed"], 0)
        self.near(ST["root_snapshot_blocks"], ST["root_snapshot_listed"],
                  what="a volume's first snapshot holds every block it lists")
        self.near(ST["object_rate"], ST["object_bytes"], what="the object's bytes")
        self.assertEqual(ST["open_parts_after_upload"], 0)
        self.near(ST["bundle_rate"], ST["bundle_bytes"], what="the bundle's bytes")
        self.near(ST["root_volume_rate"], 1, what="a stopped instance's 1 GiB root volume")
        self.assertEqual(ST["stopped_usage"][0], ST["stopped_usage"][1])
        self.assertAlmostEqual(ST["stopped_usage"][0], 1 / 60, places=9)
        self.assertEqual(ST["store_stopped"], "UnsupportedOperation")
        self.assertEqual(ST["running_after_restart"], "running")
        self.assertEqual(ST["open_after_restart"], 1)
        self.assertEqual(ST["open_at_end"], 0)

    def test_figures_by_hand(self):
        got = by_key(cost_and_usage(self.alice, group_by=[{"Type": "DIMENSION",
                                                            "Key": "USAGE_TYPE"}]))
        m = self.month
        # Each start of an instance bills its first minute: two starts, one start.
        exact = {"BoxUsage:t2.micro": 2 / 60, "BoxUsage:m1.small": 1 / 60,
                 # Made and deleted within its minute: 10 GiB, 1000 IOPS and 75 MiB/s above the baseline.
                 "EBS:VolumeUsage.gp3": 10 * 60 / m, "EBS:VolumeP-IOPS.gp3": 1000 * 60 / m,
                 "EBS:VolumeP-Throughput.gp3": 75 * 60 / m}
        for usage_type, usage in exact.items():
            self.assertIn(usage_type, got)
            self.assertAlmostEqual(got[usage_type][1], usage, delta=6e-11 + 1e-7 * usage,
                                   msg=usage_type)
            self.assertAlmostEqual(got[usage_type][0], usage * PRICES[usage_type],
                                   delta=6e-11 + 1e-7 * usage, msg=usage_type)
        self.assertAlmostEqual(got["BoxUsage:t2.micro"][0], 0.12, places=9)
        # The root volume, from launch to its deletion after termination.
        lo = ST["t2_terminated"][0] - ST["t2_launched"][1]
        hi = ST["root_volume_gone"] - ST["t2_launched"][0] + 1
        self.between(got["EBS:VolumeUsage.gp2"][1], lo / m, hi / m, "gp2 GB-Mo")
        # Snapshots, in blocks of 512 KiB: the parent's 24 until deleted; the child's 8, then 24.
        gb = lib.BLOCK / lib.GIB
        pc, pd, cc, cd = (ST["parent_completed"], ST["parent_deleted"], ST["child_completed"],
                          ST["child_deleted"])
        rc, rd = ST["root_snapshot_created"], ST["root_snapshot_deleted"]
        n = ST["root_snapshot_listed"]
        # The child: 8 blocks from its completion until the parent goes (at s), then 24.
        lo = 24 * (pd[0] - pc[1]) + (24 * cd[0] - 8 * cc[1] - 16 * pd[1]) + \
            n * (rd[0] - ST["root_snapshot_completed"])
        hi = 24 * (pd[1] - pc[0] + 1) + (24 * cd[1] - 8 * cc[0] - 16 * pd[0] + 24) + \
            n * (rd[1] - rc[0] + 1)
        self.between(got["EBS:SnapshotUsage"][1], lo * gb / m, hi * gb / m, "snapshot GB-Mo")
        # S3: the object (and, while it was uploaded, its parts) and the bundle.
        ob, bb = ST["object_bytes"] / lib.GIB, ST["bundle_bytes"] / lib.GIB
        op, od, bu, bd = ST["object_put"], ST["object_deleted"], ST["bundle_uploaded"], ST["bundle_deleted"]
        lo = ob * (od[0] - op[1]) + bb * (bd[0] - bu[1])
        hi = ob * (od[1] - op[0] + 1) + ob * (op[1] - op[0] + 1) + bb * (bd[1] - bu[0] + 1)
        self.between(got["TimedStorage-ByteHrs"][1], lo / m, hi / m, "S3 GB-Mo")
        for usage_type, (cost, usage) in got.items():
            self.assertAlmostEqual(cost, usage * PRICES[usage_type], delta=1e-9, msg=usage_type)

    def test_agrees_with_amibox_usage(self):
        """The same groups and the same digits as `amibox usage --csv`."""
        out = cost_and_usage(self.alice, group_by=[{"Type": "DIMENSION", "Key": "USAGE_TYPE"}])
        api = {}
        for p in out["ResultsByTime"]:
            self.assertTrue(p["Estimated"])
            self.assertEqual(p["Total"], {})
            for g in p["Groups"]:
                api[(p["TimePeriod"]["Start"], g["Keys"][0])] = (
                    g["Metrics"]["UnblendedCost"]["Amount"], g["Metrics"]["UsageQuantity"]["Amount"],
                    g["Metrics"]["UsageQuantity"]["Unit"])
                self.assertEqual(g["Metrics"]["BlendedCost"], g["Metrics"]["UnblendedCost"])
        cli = {(r["start"], r["usage-type"]): (r["cost_usd"], r["usage_quantity"], r["unit"])
               for r in amibox_usage("--account", "alice", "--group-by", "usage-type")}
        self.assertEqual(api, cli)
        units = {k[1]: v[2] for k, v in api.items()}
        self.assertEqual(units["BoxUsage:t2.micro"], "Hrs")
        self.assertEqual(units["EBS:SnapshotUsage"], "GB-Mo")
        self.assertEqual(units["EBS:VolumeP-IOPS.gp3"], "IOPS-Mo")
        self.assertEqual(units["TimedStorage-ByteHrs"], "GB-Mo")

    def test_services_and_tags(self):
        services = by_key(cost_and_usage(self.alice, group_by=[{"Type": "DIMENSION",
                                                                 "Key": "SERVICE"}]))
        self.assertEqual(set(services), {EC2, "EC2 - Other", "Amazon Simple Storage Service"})
        types = by_key(cost_and_usage(self.alice, group_by=[{"Type": "DIMENSION",
                                                              "Key": "USAGE_TYPE"}]))
        self.assertAlmostEqual(services[EC2][0], types["BoxUsage:t2.micro"][0] +
                               types["BoxUsage:m1.small"][0], places=9)
        tags = by_key(cost_and_usage(self.alice, group_by=[{"Type": "TAG", "Key": "Project"}]))
        self.assertEqual(set(tags), {"Project$alpha", "Project$beta", "Project$"})
        # The tagged instance and its tagged root volume; the gp3 volume and its performance.
        self.assertAlmostEqual(tags["Project$alpha"][0], types["BoxUsage:t2.micro"][0] +
                               types["EBS:VolumeUsage.gp2"][0], places=9)
        self.assertAlmostEqual(tags["Project$beta"][0], sum(
            types[t][0] for t in ("EBS:VolumeUsage.gp3", "EBS:VolumeP-IOPS.gp3",
                                  "EBS:VolumeP-Throughput.gp3")), places=9)
        # Two groups at once; the instance-store instance costs its time only.
        two = by_key(cost_and_usage(self.alice, group_by=[
            {"Type": "DIMENSION", "Key": "RESOURCE_ID"}, {"Type": "DIMENSION", "Key": "USAGE_TYPE"}]))
        store = {k for k in two if k.startswith(ST["store_instance"] + "|")}
        self.assertEqual(store, {ST["store_instance"] + "|BoxUsage:m1.small"})
        self.assertIn("alice-bundles|TimedStorage-ByteHrs", two)

    def test_filters(self):
        types = by_key(cost_and_usage(self.alice, group_by=[{"Type": "DIMENSION",
                                                              "Key": "USAGE_TYPE"}]))
        everything = total(cost_and_usage(self.alice))
        self.assertAlmostEqual(everything[0], sum(c for c, _ in types.values()), places=9)
        not_compute = total(cost_and_usage(self.alice, flt={
            "Not": {"Dimensions": {"Key": "SERVICE", "Values": [EC2]}}}))
        self.assertAlmostEqual(not_compute[0], everything[0] - types["BoxUsage:t2.micro"][0] -
                               types["BoxUsage:m1.small"][0], places=9)
        micro = total(cost_and_usage(self.alice, flt={"And": [
            {"Dimensions": {"Key": "INSTANCE_TYPE", "Values": ["T2"],
                            "MatchOptions": ["STARTS_WITH", "CASE_INSENSITIVE"]}},
            {"Tags": {"Key": "Project", "Values": ["alpha"]}}]}))
        self.assertAlmostEqual(micro[0], types["BoxUsage:t2.micro"][0], places=9)
        untagged = by_key(cost_and_usage(self.alice, group_by=[
            {"Type": "DIMENSION", "Key": "USAGE_TYPE"}], flt={"Or": [
                {"Tags": {"Key": "Project", "MatchOptions": ["ABSENT"]}},
                {"Dimensions": {"Key": "USAGE_TYPE", "Values": ["BoxUsage:m1.small"]}}]}))
        self.assertEqual(set(untagged), {"BoxUsage:m1.small", "EBS:SnapshotUsage",
                                         "TimedStorage-ByteHrs"})
        # A dimension amibox does not record matches nothing.
        self.assertEqual(total(cost_and_usage(self.alice, flt={
            "Dimensions": {"Key": "DATABASE_ENGINE", "Values": ["MySQL"]}}))[0], 0)

    def test_granularities(self):
        monthly = total(cost_and_usage(self.alice))
        daily = cost_and_usage(self.alice, "DAILY")
        self.assertAlmostEqual(total(daily)[0], monthly[0], places=8)
        self.assertEqual(len(daily["ResultsByTime"][0]["TimePeriod"]["Start"]), 10)
        day = time.strftime("%Y-%m-%d", time.gmtime(ST["t2_launched"][0]))
        next_day = time.strftime("%Y-%m-%d", time.gmtime(ST["t2_launched"][0] + 86400))
        today = total(cost_and_usage(self.alice, "DAILY", start=day, end=next_day))
        hourly = cost_and_usage(self.alice, "HOURLY", start=day + "T00:00:00Z",
                                end=next_day + "T00:00:00Z")
        self.assertEqual(len(hourly["ResultsByTime"]), 24)
        self.assertEqual(hourly["ResultsByTime"][0]["TimePeriod"]["Start"], day + "T00:00:00Z")
        self.assertAlmostEqual(total(hourly)[0], today[0], places=8)

    def test_dimension_values(self):
        w = lib.window()
        period = {"Start": w[0], "End": w[1]}
        values = lambda **kw: self.alice.get_dimension_values(TimePeriod=period, **kw)  # noqa: E731
        got = values(Dimension="SERVICE")
        self.assertEqual(got["TotalSize"], 3)
        self.assertEqual(got["ReturnSize"], 3)
        got = values(Dimension="INSTANCE_TYPE")
        self.assertEqual({v["Value"] for v in got["DimensionValues"]},
                         {"t2.micro", "m1.small", "NoInstanceType"})
        got = values(Dimension="INSTANCE_TYPE", SearchString="MICRO")
        self.assertEqual([v["Value"] for v in got["DimensionValues"]], ["t2.micro"])
        got = values(Dimension="LINKED_ACCOUNT")
        self.assertEqual(got["DimensionValues"], [{"Value": os.environ["ALICE_ID"],
                                                    "Attributes": {"description": "alice"}}])
        got = values(Dimension="USAGE_TYPE", SortBy=[{"Key": "UnblendedCost",
                                                       "SortOrder": "DESCENDING"}])
        self.assertEqual(got["DimensionValues"][0]["Value"], "BoxUsage:t2.micro")
        self.assertEqual(values(Dimension="DATABASE_ENGINE")["TotalSize"], 0)
        self.assertEqual(values(Dimension="SERVICE", Context="RESERVATIONS")["TotalSize"], 0)

    def test_each_account_its_own(self):
        bob = ce("BOB")
        self.assertEqual(total(cost_and_usage(bob)), (0, 0))
        out = cost_and_usage(bob)
        self.assertEqual(out["ResultsByTime"][0]["Total"]["UsageQuantity"]["Unit"], "N/A")
        self.assertEqual(total(cost_and_usage(bob, flt={"Dimensions": {
            "Key": "LINKED_ACCOUNT", "Values": [os.environ["ALICE_ID"]]}})), (0, 0))
        w = lib.window()
        self.assertEqual(bob.get_dimension_values(TimePeriod={"Start": w[0], "End": w[1]},
                                                  Dimension="LINKED_ACCOUNT")["TotalSize"], 0)
        linked = cost_and_usage(self.alice, group_by=[{"Type": "DIMENSION",
                                                        "Key": "LINKED_ACCOUNT"}])
        self.assertEqual(linked["DimensionValueAttributes"],
                         [{"Value": os.environ["ALICE_ID"], "Attributes": {"description": "alice"}}])

    def test_paging(self):
        carol = ce("CAROL")
        day = os.environ["CAROL_DAY"]
        next_day = time.strftime("%Y-%m-%d", time.gmtime(
            calendar.timegm(time.strptime(day, "%Y-%m-%d")) + 86400))
        args = {"TimePeriod": {"Start": day, "End": next_day}, "Granularity": "DAILY",
                "Metrics": ["UnblendedCost"], "GroupBy": [{"Type": "DIMENSION", "Key": "RESOURCE_ID"}]}
        seen, tokens, pages = [], set(), 0
        token = None
        while True:
            out = carol.get_cost_and_usage(**args, **({"NextPageToken": token} if token else {}))
            pages += 1
            for p in out["ResultsByTime"]:
                seen += [g["Keys"][0] for g in p["Groups"]]
            token = out.get("NextPageToken")
            if not token:
                break
            self.assertNotIn(token, tokens)
            tokens.add(token)
            if pages == 1:
                changed = dict(args, Metrics=["UsageQuantity"])
                refused(lambda: carol.get_cost_and_usage(**changed, NextPageToken=token),
                        "RequestChangedException")
                refused(lambda: self.alice.get_cost_and_usage(**args, NextPageToken=token),
                        "RequestChangedException")
        self.assertEqual(pages, 2)
        self.assertEqual(len(seen), 1500)
        self.assertEqual(len(set(seen)), 1500)
        self.assertEqual(seen, sorted(seen))
        refused(lambda: carol.get_cost_and_usage(**args, NextPageToken="bm90IGEgdG9rZW4="),
                "InvalidNextTokenException")
        first = carol.get_dimension_values(TimePeriod=args["TimePeriod"], Dimension="RESOURCE_ID")
        self.assertEqual((first["TotalSize"], first["ReturnSize"]), (1500, 1000))
        rest = carol.get_dimension_values(TimePeriod=args["TimePeriod"], Dimension="RESOURCE_ID",
                                          NextPageToken=first["NextPageToken"])
        self.assertEqual(rest["ReturnSize"], 500)
        self.assertNotIn("NextPageToken", rest)
        self.assertEqual(len({v["Value"] for v in first["DimensionValues"] + rest["DimensionValues"]}),
                         1500)
        # 1,500 minutes of t2.nano (0.0058 per hour).
        self.assertAlmostEqual(total(cost_and_usage(carol))[0], 1500 / 60 * 0.0058, places=8)

    def test_errors(self):
        w = lib.window()
        call = self.alice.get_cost_and_usage
        base = {"TimePeriod": {"Start": w[0], "End": w[1]}, "Granularity": "MONTHLY",
                "Metrics": ["UnblendedCost"]}
        e = refused(lambda: call(**dict(base, TimePeriod={"Start": w[1], "End": w[0]})),
                    "ValidationException")
        self.assertIn("Start date", e.response["Error"]["Message"])
        refused(lambda: call(**dict(base, TimePeriod={"Start": "2026-13-01", "End": w[1]})),
                "ValidationException")
        refused(lambda: call(**dict(base, Granularity="WEEKLY")), "ValidationException")
        refused(lambda: call(**dict(base, Metrics=["Profit"])), "ValidationException")
        refused(lambda: call(**dict(base, GroupBy=[{"Type": "COST_CATEGORY", "Key": "x"}])),
                "ValidationException")
        refused(lambda: call(**dict(base, GroupBy=[{"Type": "DIMENSION", "Key": "AZ"}])),
                "ValidationException")
        refused(lambda: call(**dict(base, Filter={
            "Dimensions": {"Key": "SERVICE", "Values": ["x"]},
            "Tags": {"Key": "Project", "Values": ["alpha"]}})), "ValidationException")
        future = time.strftime("%Y-%m-%d", time.gmtime(time.time() + 3 * 86400))
        later = time.strftime("%Y-%m-%d", time.gmtime(time.time() + 5 * 86400))
        refused(lambda: call(**dict(base, TimePeriod={"Start": future, "End": later})),
                "DataUnavailableException")
        refused(lambda: ce("ALICE", "eu-west-1").get_cost_and_usage(**base),
                "InvalidSignatureException", 403)
        refused(lambda: ce("ALICE", key="AKIAAAAAAAAAAAAAAAAA").get_cost_and_usage(**base),
                "UnrecognizedClientException", 403)
        refused(lambda: self.alice.get_tags(TimePeriod=base["TimePeriod"]),
                "UnknownOperationException")


if __name__ == "__main__":
    cases.main()
