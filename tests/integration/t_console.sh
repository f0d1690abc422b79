#!/usr/bin/env bash
# The web console: the daemon serves its embedded files at /console (curl
# checks the HTTP side), then a real headless Chromium (Debian's, driven by
# playwright-core from console/node_modules) signs in and uses it
# (console/test/console.test.mjs).
# Usage (from the source tree): AMIBOX_BIN=$PWD/build/amibox bash tests/integration/t_console.sh
. "$(dirname "$0")/lib.sh"
CONSOLE_DIR=$AMIBOX_SRC/console
command -v qemu-system-x86_64 >/dev/null || fail "qemu-system-x86 is not installed (make deps)"
[ -x "${CHROMIUM:-/usr/bin/chromium}" ] || fail "chromium is not installed (make deps installs Debian's chromium)"
command -v node >/dev/null || fail "node is not installed (need node >= 20)"
# The build installed the console's packages (scripts/console-build.sh).
[ -f "$CONSOLE_DIR/node_modules/playwright-core/package.json" ] ||
  fail "console/node_modules has no playwright-core: build amibox first (it runs npm ci there)"
AMIBOX_SERVE_ARGS="--stop-grace 2"
amibox_start

get() { curl -s -o "$TEST_DIR/body" -D "$TEST_DIR/headers" -w '%{http_code}' "$@"; }
header() { grep -i "^$1:" "$TEST_DIR/headers" | head -1 | cut -d' ' -f2- | tr -d '\r'; }

# /console sends the browser to /console/ (relative addresses need the slash).
[ "$(get "$ENDPOINT/console")" = 301 ] || fail "GET /console is not a redirect"
[ "$(header Location)" = /console/ ] || fail "GET /console redirects to '$(header Location)'"
# The page, gzipped for a browser and plain for a client that does not take gzip.
[ "$(get -H 'Accept-Encoding: gzip, deflate' "$ENDPOINT/console/")" = 200 ] || fail "GET /console/ failed"
[ "$(header Content-Encoding)" = gzip ] || fail "the page is not sent gzipped to a browser"
gunzip -c "$TEST_DIR/body" | grep -q '<title>amibox console</title>' || fail "the gzipped page is not the console"
[ "$(get "$ENDPOINT/console/index.html")" = 200 ] || fail "GET /console/index.html failed"
[ -z "$(header Content-Encoding)" ] || fail "gzip sent to a client that did not ask for it"
grep -q '<script src="console.js" defer></script>' "$TEST_DIR/body" || fail "the plain page is not the console"
case $(header Content-Security-Policy) in
  *"connect-src 'self'"*"script-src 'self'"*) ;;
  *) fail "no Content-Security-Policy that keeps the page to its own origin" ;;
esac
# The bundle: served whole, revalidated by its ETag.
[ "$(get "$ENDPOINT/console/console.js")" = 200 ] || fail "GET console.js failed"
[ "$(header Content-Type)" = "text/javascript; charset=utf-8" ] || fail "console.js has type '$(header Content-Type)'"
[ "$(stat -c %s "$TEST_DIR/body")" = "$(header Content-Length)" ] || fail "console.js is cut short"
grep -q 'GetConsoleOutput' "$TEST_DIR/body" || fail "console.js does not hold the SDK's EC2 client"
etag=$(header ETag)
[ -n "$etag" ] || fail "console.js has no ETag"
[ "$(get -H "If-None-Match: $etag" "$ENDPOINT/console/console.js")" = 304 ] || fail "a matching If-None-Match is not answered 304"
[ "$(curl -s -o /dev/null -w '%{http_code}' -I "$ENDPOINT/console/console.css")" = 200 ] || fail "HEAD console.css failed"
[ "$(get "$ENDPOINT/console/nothing.js")" = 404 ] || fail "an unknown console file is not 404"
[ "$(get --path-as-is "$ENDPOINT/console/../catalog.db")" = 404 ] || fail "a path out of the console is not 404"
# What the page must know before signing: the region, the caller's address.
[ "$(get "$ENDPOINT/console/config.json")" = 200 ] || fail "GET config.json failed"
python3 - "$TEST_DIR/body" <<'PY' || fail "config.json does not name the region and the caller"
import json, sys
c = json.load(open(sys.argv[1]))
assert c == {"region": "us-east-1", "caller_ip": "127.0.0.1"}, c
PY
# Signed requests below /console are still S3's: a bucket may be named console.
as alice "$AWS_V2" --endpoint-url "$ENDPOINT" s3 mb s3://console >/dev/null || fail "a bucket named console cannot be made"
echo hi | as alice "$AWS_V2" --endpoint-url "$ENDPOINT" s3 cp - s3://console/console.js >/dev/null || fail "no upload to the bucket named console"
[ "$(as alice "$AWS_V2" --endpoint-url "$ENDPOINT" s3 cp s3://console/console.js -)" = hi ] || fail "a signed GET below /console did not reach S3"
# An unsigned request other than GET/HEAD is not the console's either.
[ "$(curl -s -o /dev/null -w '%{http_code}' -X PUT "$ENDPOINT/console/x")" = 403 ] || fail "an anonymous PUT below /console is not refused by S3"

# The browser.  (node 20 is what the machine has; the SDK's notice about it is noise.)
export AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED=true
export TEST_DIR
if ! (cd "$CONSOLE_DIR" && node test/console.test.mjs); then
  fail "the console test in Chromium failed (screenshots of failed steps are in \$TEST_DIR; AMIBOX_KEEP_TEST_DIR=1 keeps them)"
fi
echo "PASS: t_console"
