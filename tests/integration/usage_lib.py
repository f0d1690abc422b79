"""Helpers for the usage tests (t_usage.sh): the report window, usage read
through the Cost Explorer API, and usage rates measured by its growth.
"""
import base64
import calendar
import datetime
import hashlib
import time

GIB = 1 << 30
BLOCK = 512 * 1024


def b64sha256(data):
    return base64.b64encode(hashlib.sha256(data).digest()).decode()


def window():
    """This month and the next, as Cost Explorer dates: (start, end)."""
    today = datetime.datetime.now(datetime.timezone.utc).date()
    start = today.replace(day=1)
    after = (start + datetime.timedelta(days=62)).replace(day=1)
    return start.isoformat(), after.isoformat()


def month_seconds(t=None):
    d = datetime.datetime.fromtimestamp(t or time.time(), datetime.timezone.utc)
    return calendar.monthrange(d.year, d.month)[1] * 86400


def resource_filter(resource):
    return {"Dimensions": {"Key": "RESOURCE_ID", "Values": [resource]}}


def usage(ce, flt=None):
    """UsageQuantity summed over the window's periods."""
    start, end = window()
    args = {"TimePeriod": {"Start": start, "End": end}, "Granularity": "MONTHLY",
            "Metrics": ["UsageQuantity"]}
    if flt:
        args["Filter"] = flt
    out = ce.get_cost_and_usage(**args)
    return sum(float(p["Total"]["UsageQuantity"]["Amount"]) for p in out["ResultsByTime"])


def timed_usage(ce, flt):
    """UsageQuantity, and the middle of the call (the daemon's now is in it)."""
    t0 = time.time()
    u = usage(ce, flt)
    return u, (t0 + time.time()) / 2


def rate(ce, flt, seconds=6.0):
    """How fast UsageQuantity grows, per second."""
    u1, t1 = timed_usage(ce, flt)
    time.sleep(seconds)
    u2, t2 = timed_usage(ce, flt)
    return (u2 - u1) / (t2 - t1)


def bytes_rate(ce, resource):
    """The bytes a GB-Mo usage stands for: its growth times the month's seconds."""
    return rate(ce, resource_filter(resource)) * month_seconds() * GIB


def blocks_rate(ce, snapshot):
    return bytes_rate(ce, snapshot) / BLOCK


def gib_rate(ce, volume):
    return bytes_rate(ce, volume) / GIB
