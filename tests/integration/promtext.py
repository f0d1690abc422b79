"""A strict reader of the Prometheus text exposition format (0.0.4), for the
tests: it refuses what Prometheus would refuse, and checks what a scrape must
hold (HELP and TYPE before a family's samples, one block per family,
histograms with cumulative buckets whose +Inf bucket is their _count).

    python3 promtext.py FILE          checks FILE; prints "name{labels} value" lines, sorted
    import promtext; promtext.parse(text) -> ({(name, labels): value}, {family: type})
    promtext.scrapes(1, 2)            parse() of $TEST_DIR/m1.txt and m2.txt
"""
import math
import os
import re
import sys

NAME = r"[a-zA-Z_:][a-zA-Z0-9_:]*"
LABEL = r'([a-zA-Z_][a-zA-Z0-9_]*)="((?:[^"\\\n]|\\[\\"n])*)"'
SAMPLE = re.compile(r"^(" + NAME + r")(\{(.*)\})? (\S+)( -?\d+)?$")


def _value(text):
    if text in ("+Inf", "Inf"):
        return math.inf
    if text == "-Inf":
        return -math.inf
    if text == "NaN":
        return math.nan
    return float(text)


def _labels(text):
    labels = []
    pos = 0
    while pos < len(text):
        m = re.compile(LABEL).match(text, pos)
        if not m:
            raise ValueError("bad labels: %r" % text)
        value = m.group(2).replace("\\n", "\n").replace('\\"', '"').replace("\\\\", "\\")
        labels.append((m.group(1), value))
        pos = m.end()
        if pos < len(text):
            if text[pos] != ",":
                raise ValueError("bad labels: %r" % text)
            pos += 1
    names = [k for k, _ in labels]
    if len(set(names)) != len(names):
        raise ValueError("a label twice: %r" % text)
    return tuple(sorted(labels))


def _family_of(name, types):
    for suffix in ("_bucket", "_sum", "_count"):
        base = name[: -len(suffix)]
        if name.endswith(suffix) and types.get(base) in ("histogram", "summary"):
            return base
    return name


def parse(text):
    """Returns ({(name, labels): value}, {family: type}); raises ValueError."""
    if not text.endswith("\n"):
        raise ValueError("the text does not end with a newline")
    samples, types, helps, done = {}, {}, {}, set()
    current = None
    for number, line in enumerate(text.split("\n")[:-1], 1):
        where = "line %d: %r" % (number, line)
        if line.startswith("# HELP ") or line.startswith("# TYPE "):
            parts = line.split(" ", 3)
            if len(parts) < 4 or not re.fullmatch(NAME, parts[2]):
                raise ValueError("bad comment, " + where)
            family = parts[2]
            if family != current and family in done:
                raise ValueError("a family in two blocks, " + where)
            if family != current and current:
                done.add(current)
            current = family
            table = helps if parts[1] == "HELP" else types
            if family in table:
                raise ValueError("a second %s, %s" % (parts[1], where))
            if parts[1] == "TYPE" and parts[3] not in ("counter", "gauge", "histogram", "summary", "untyped"):
                raise ValueError("bad type, " + where)
            table[family] = parts[3]
            continue
        if line.startswith("#") or not line.strip():
            continue
        m = SAMPLE.match(line)
        if not m:
            raise ValueError("bad sample, " + where)
        name, labels = m.group(1), _labels(m.group(3) or "")
        family = _family_of(name, types)
        if family != current:
            raise ValueError("a sample outside its family's block, " + where)
        if family not in types or family not in helps:
            raise ValueError("no TYPE or HELP before the sample, " + where)
        if (name, labels) in samples:
            raise ValueError("a sample twice, " + where)
        samples[(name, labels)] = _value(m.group(4))
    for family, kind in types.items():
        if kind == "histogram":
            check_histogram(samples, family)
        if kind == "counter":
            for (name, labels), value in samples.items():
                if name == family and (value < 0 or math.isnan(value)):
                    raise ValueError("counter %s is %r" % (name, value))
    return samples, types


def check_histogram(samples, family):
    """Buckets of each label set cumulative, ending with +Inf == _count."""
    groups = {}
    for (name, labels), value in samples.items():
        if name == family + "_bucket":
            rest = tuple(l for l in labels if l[0] != "le")
            le = dict(labels)["le"]
            groups.setdefault(rest, []).append((_value(le), value))
    if not groups:
        raise ValueError("histogram %s has no buckets" % family)
    for rest, buckets in groups.items():
        buckets.sort()
        if buckets[-1][0] != math.inf:
            raise ValueError("histogram %s has no +Inf bucket" % family)
        counts = [count for _, count in buckets]
        if counts != sorted(counts):
            raise ValueError("histogram %s: buckets not cumulative: %r" % (family, buckets))
        count = samples.get((family + "_count", rest))
        if count != counts[-1]:
            raise ValueError("histogram %s: +Inf bucket %r, _count %r" % (family, counts[-1], count))
        if (family + "_sum", rest) not in samples:
            raise ValueError("histogram %s has no _sum" % family)


def key(name, **labels):
    return (name, tuple(sorted(labels.items())))


def scrapes(first, second):
    """Scrapes N and M of a test ($TEST_DIR/mN.txt), each as parse() returns it."""
    d = os.environ["TEST_DIR"]
    return tuple(parse(open("%s/m%d.txt" % (d, n)).read()) for n in (first, second))


if __name__ == "__main__":
    samples, _ = parse(open(sys.argv[1]).read())
    for (name, labels), value in sorted(samples.items()):
        print("%s{%s} %r" % (name, ",".join('%s="%s"' % l for l in labels), value))
