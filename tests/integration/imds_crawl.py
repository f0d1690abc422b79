"""Crawls an instance's metadata as cloud-init does: every directory
listing, then every entry it names, which must all answer 200.  Talks to
`amibox imds` over its standard input and output, as a guest's connection
would reach it.

Usage: imds_crawl.py AMIBOX_BIN DATA_DIR INSTANCE_ID [TOKEN]
Prints one line per leaf, "path=value", sorted.
"""
import subprocess
import sys

amibox, data, instance = sys.argv[1:4]
token = sys.argv[4] if len(sys.argv) > 4 else None


def get_all(paths):
    """One connection, keep-alive: a GET per path; returns [(status, body)]."""
    extra = "X-aws-ec2-metadata-token: %s\r\n" % token if token else ""
    req = "".join("GET %s HTTP/1.1\r\nHost: 169.254.169.254\r\n%s\r\n" % (p, extra) for p in paths)
    out = subprocess.run([amibox, "imds", "--data", data, "--instance", instance],
                         input=req.encode(), capture_output=True, check=True).stdout
    answers = []
    while out:
        head, _, rest = out.partition(b"\r\n\r\n")
        status = int(head.split(b" ")[1])
        length = 0
        for line in head.split(b"\r\n")[1:]:
            name, _, value = line.partition(b":")
            if name.strip().lower() == b"content-length":
                length = int(value)
        answers.append((status, rest[:length].decode()))
        out = rest[length:]
    return answers


leaves = {}
todo = ["/latest/meta-data/"]
while todo:
    answers = get_all(todo)
    nxt = []
    for path, (status, body) in zip(todo, answers):
        if status != 200:
            sys.exit("%s answered %d" % (path, status))
        if path.endswith("/"):
            for entry in body.split("\n"):
                if not entry:
                    sys.exit("%s lists an empty entry" % path)
                # public-keys/ lists "0=name"; the directory is "0/".
                name = entry.split("=", 1)[0] + ("/" if "=" in entry else "")
                nxt.append(path + name)
        else:
            leaves[path[len("/latest/meta-data/"):]] = body
    todo = nxt
for k in sorted(leaves):
    print("%s=%s" % (k, leaves[k].replace("\n", "\\n")))
