/*
 * cli_imds: `amibox imds --data DIR --instance ID`: the instance metadata
 * service of one instance, speaking HTTP on stdin/stdout.
 *
 * QEMU's user-mode network runs it for every connection the guest opens to
 * 169.254.169.254:80 (guestfwd=...-cmd:), so only that instance can reach
 * its own metadata: the instance is fixed by the command line QEMU was
 * started with, not by anything the guest says.
 *
 * IMDSv1 (plain GETs) and IMDSv2 (PUT /latest/api/token, then the token in
 * X-aws-ec2-metadata-token) as EC2 has them; an instance launched with
 * HttpTokens=required answers 401 without a valid token.  Tokens are
 * stateless: an HMAC over the instance ID and the expiry, with a key kept
 * in the catalog, so every connection's process can check them.
 */
#include <getopt.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

#include "catalog/catalog.h"
#include "catalog/catalog_images.h"
#include "catalog/catalog_instances.h"
#include "catalog/catalog_network.h"
#include "catalog/catalog_snapshots.h"
#include "cli/cli.h"
#include "util/buf.h"
#include "util/codec.h"
#include "util/ids.h"

#define IMDS_MAX_HEADER 16384

struct imds {
	struct catalog *cat;
	struct instance inst;
	unsigned char key[32];
	char region[64];
	const char *data; /* the data directory */
};

static void respond(int status, const char *reason, const char *type,
		    const char *body, size_t len, const char *extra)
{
	printf("HTTP/1.1 %d %s\r\nContent-Type: %s\r\nContent-Length: %zu\r\n"
	       "Server: EC2ws\r\nConnection: keep-alive\r\n%s\r\n",
	       status, reason, type, len, extra ? extra : "");
	fwrite(body, 1, len, stdout);
	fflush(stdout);
}

static void respond_text(int status, const char *reason, const char *text)
{
	respond(status, reason, "text/plain", text, strlen(text), NULL);
}

/* token = base64(expiry ":" hex(HMAC(key, instance "|" expiry))) */
static void make_token(struct imds *m, long long expiry, struct buf *out)
{
	char msg[128], mac_hex[65];
	unsigned char mac[32];
	snprintf(msg, sizeof msg, "%s|%lld", m->inst.id, expiry);
	codec_hmac_sha256(m->key, sizeof m->key, msg, strlen(msg), mac);
	codec_hex(mac, sizeof mac, mac_hex);
	struct buf raw = BUF_INIT;
	buf_printf(&raw, "%lld:%s", expiry, mac_hex);
	codec_base64((const unsigned char *)raw.data, raw.len, out);
	buf_release(&raw);
}

static int token_valid(struct imds *m, const char *token)
{
	struct buf raw = BUF_INIT, expect = BUF_INIT;
	int ok = 0;
	if (codec_unbase64(token, strlen(token), &raw) == 0 && raw.len < 100) {
		long long expiry = atoll(buf_str(&raw));
		if (expiry > ids_now_ms() / 1000) {
			make_token(m, expiry, &expect);
			ok = strlen(token) == expect.len &&
			     codec_equal_ct(token, expect.data, expect.len);
		}
	}
	buf_release(&raw);
	buf_release(&expect);
	return ok;
}

static const char *device_base(const char *name)
{
	return !strncmp(name, "/dev/", 5) ? name + 5 : name;
}

/*
 * The instance's meta-data as a list of leaves (path, value), in the order
 * EC2 lists them; every directory listing is derived from the leaves, so a
 * listing never names an entry that does not answer (cloud-init drops the
 * whole crawl when one listed entry fails).
 */
struct md_leaf {
	char *path;
	char *value;
};

struct md_tree {
	struct md_leaf *leaves;
	size_t n;
};

static void md_add(struct md_tree *t, const char *path, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));
static void md_add(struct md_tree *t, const char *path, const char *fmt, ...)
{
	struct buf value = BUF_INIT;
	va_list ap;
	va_start(ap, fmt);
	buf_vprintf(&value, fmt, ap);
	va_end(ap);
	t->leaves = xrealloc(t->leaves, (t->n + 1) * sizeof *t->leaves);
	t->leaves[t->n].path = xstrdup(path);
	t->leaves[t->n].value = buf_detach(&value);
	t->n++;
}

static void md_release(struct md_tree *t)
{
	for (size_t i = 0; i < t->n; i++) {
		free(t->leaves[i].path);
		free(t->leaves[i].value);
	}
	free(t->leaves);
}

/* The private DNS name's host part: ip-172-31-5-20. */
static void md_ip_name(const char *ip, char out[32])
{
	snprintf(out, 32, "ip-%s", ip);
	for (char *p = out; *p; p++)
		if (*p == '.')
			*p = '-';
}

static void md_block_devices(struct md_tree *t, const struct instance *i)
{
	int ebs = 0;
	char path[96];
	md_add(t, "block-device-mapping/ami", "%s", device_base(i->root_device_name));
	for (size_t d = 0; d < i->ndevices; d++) {
		const struct instance_device *dev = &i->devices[d];
		if (!strcmp(dev->device_name, i->root_device_name))
			continue;
		if (dev->volume_id[0])
			snprintf(path, sizeof path, "block-device-mapping/ebs%d", ++ebs);
		else
			snprintf(path, sizeof path, "block-device-mapping/%s", dev->virtual_name);
		md_add(t, path, "%s", device_base(dev->device_name));
	}
	md_add(t, "block-device-mapping/root", "%s", i->root_device_name);
}

/*
 * The instance's network as EC2's metadata has it: mac, public-ipv4 and
 * public-hostname, security-groups, and network/interfaces/macs/MAC/ (what
 * cloud-init reads its network configuration from).
 */
static void md_network(struct imds *m, struct md_tree *t, const char *hostname)
{
	struct eni *enis = NULL;
	size_t n = 0;
	struct err ignored = ERR_INIT;
	if (catalog_eni_by_instance(m->cat, m->inst.id, &enis, &n, &ignored) < 0 || !n) {
		md_add(t, "security-groups", "default");
		free(enis);
		return;
	}
	const struct eni *eni = &enis[0];
	struct buf names = BUF_INIT, ids = BUF_INIT;
	for (size_t g = 0; g < eni->ngroups; g++) {
		struct security_group_row row;
		if (catalog_sg_get(m->cat, eni->group_ids[g], &row, &ignored) > 0)
			buf_printf(&names, "%s%s", names.len ? "\n" : "", row.name);
		buf_printf(&ids, "%s%s", ids.len ? "\n" : "", eni->group_ids[g]);
	}
	char public_name[160] = "", path[160];
	if (eni->public_ip[0]) {
		snprintf(public_name, sizeof public_name, "ec2-%s.%s", eni->public_ip,
			 strcmp(m->region, "us-east-1") ? "compute.amazonaws.com" :
							  "compute-1.amazonaws.com");
		/* ec2-127-100-0-7.compute-1.amazonaws.com: the address's dots are dashes. */
		for (char *p = public_name + 4, *end = strstr(public_name, ".compute"); p < end; p++)
			if (*p == '.')
				*p = '-';
	}
	struct subnet_row subnet;
	struct vpc_row vpc;
	int have_subnet = catalog_subnet_get(m->cat, eni->subnet_id, &subnet, &ignored) > 0;
	int have_vpc = catalog_vpc_get(m->cat, eni->vpc_id, &vpc, &ignored) > 0;
	md_add(t, "mac", "%s", eni->mac);
#define MAC_KEY(leaf) (snprintf(path, sizeof path, "network/interfaces/macs/%s/%s", eni->mac, leaf), path)
	md_add(t, MAC_KEY("device-number"), "%d", eni->device_index);
	md_add(t, MAC_KEY("interface-id"), "%s", eni->id);
	if (eni->public_ip[0]) {
		char assoc[64];
		snprintf(assoc, sizeof assoc, "ipv4-associations/%s", eni->public_ip);
		md_add(t, MAC_KEY(assoc), "%s", eni->private_ip);
	}
	md_add(t, MAC_KEY("local-hostname"), "%s", hostname);
	md_add(t, MAC_KEY("local-ipv4s"), "%s", eni->private_ip);
	md_add(t, MAC_KEY("mac"), "%s", eni->mac);
	md_add(t, MAC_KEY("owner-id"), "%s", eni->owner_id);
	if (eni->public_ip[0]) {
		md_add(t, MAC_KEY("public-hostname"), "%s", public_name);
		md_add(t, MAC_KEY("public-ipv4s"), "%s", eni->public_ip);
	}
	md_add(t, MAC_KEY("security-group-ids"), "%s", ids.data ? ids.data : "");
	md_add(t, MAC_KEY("security-groups"), "%s", names.data ? names.data : "");
	md_add(t, MAC_KEY("subnet-id"), "%s", eni->subnet_id);
	if (have_subnet)
		md_add(t, MAC_KEY("subnet-ipv4-cidr-block"), "%s", subnet.cidr_block);
	md_add(t, MAC_KEY("vpc-id"), "%s", eni->vpc_id);
	if (have_vpc) {
		md_add(t, MAC_KEY("vpc-ipv4-cidr-block"), "%s", vpc.cidr_block);
		md_add(t, MAC_KEY("vpc-ipv4-cidr-blocks"), "%s", vpc.cidr_block);
	}
#undef MAC_KEY
	if (eni->public_ip[0]) {
		md_add(t, "public-hostname", "%s", public_name);
		md_add(t, "public-ipv4", "%s", eni->public_ip);
	}
	md_add(t, "security-groups", "%s", names.data ? names.data : "");
	buf_release(&names);
	buf_release(&ids);
	free(enis);
}

static void md_build(struct imds *m, struct md_tree *t)
{
	const struct instance *i = &m->inst;
	char name[32];
	const char *domain = strcmp(m->region, "us-east-1") ? "compute.internal" : "ec2.internal";
	md_ip_name(i->private_ip, name);
	md_add(t, "ami-id", "%s", i->image_id);
	md_add(t, "ami-launch-index", "%d", i->launch_index);
	if (!strcmp(i->root_device_type, "instance-store")) {
		/* The bundle's manifest for an instance-store image, as EC2 gives it. */
		struct image img;
		struct err ignored = ERR_INIT;
		if (catalog_image_get(m->cat, i->image_id, &img, &ignored) > 0) {
			md_add(t, "ami-manifest-path", "%s", img.image_location);
			image_release(&img);
		}
	} else {
		md_add(t, "ami-manifest-path", "(unknown)");
	}
	md_block_devices(t, i);
	md_add(t, "events/maintenance/history", "[]");
	md_add(t, "events/maintenance/scheduled", "[]");
	char hostname[128];
	if (!strcmp(m->region, "us-east-1"))
		snprintf(hostname, sizeof hostname, "%s.%s", name, domain);
	else
		snprintf(hostname, sizeof hostname, "%s.%s.%s", name, m->region, domain);
	md_add(t, "hostname", "%s", hostname);
	md_add(t, "instance-action", "none");
	md_add(t, "instance-id", "%s", i->id);
	md_add(t, "instance-life-cycle", "on-demand");
	md_add(t, "instance-type", "%s", i->instance_type);
	if (i->kernel_id[0])
		md_add(t, "kernel-id", "%s", i->kernel_id);
	md_add(t, "local-hostname", "%s", hostname);
	md_add(t, "local-ipv4", "%s", i->private_ip);
	md_network(m, t, hostname);
	md_add(t, "placement/availability-zone", "%s", i->zone);
	md_add(t, "placement/region", "%s", m->region);
	md_add(t, "profile", "%s", !strcmp(i->virtualization_type, "paravirtual") ?
				       "default-paravirtual" : "default-hvm");
	if (i->ramdisk_id[0])
		md_add(t, "ramdisk-id", "%s", i->ramdisk_id);
	/* public-keys/0/openssh-key; its listing says "0=NAME" (md_list). */
	struct buf key = BUF_INIT;
	struct err ignored = ERR_INIT;
	if (catalog_instance_key_get(m->cat, i->id, &key, &ignored) > 0)
		md_add(t, "public-keys/0/openssh-key", "%s", key.data);
	buf_release(&key);
	md_add(t, "reservation-id", "%s", i->reservation_id);
	/*
	 * Where an instance reaches amibox's own API (EC2, S3, STS, ...): the
	 * VPC router relays it to the daemon, as instances reach AWS's
	 * endpoints.  Not one of EC2's keys: EC2's endpoints are public names.
	 */
	md_add(t, "services/amibox-api", "http://169.254.169.254:8773");
	/*
	 * The cloud's certificate, for which bundlers in the guest (the
	 * ec2-bundle-vol of the samples) encrypt an image's key: AWS's ships
	 * with its AMI tools, amibox's is made per data directory.
	 */
	struct buf cert_path = BUF_INIT;
	buf_printf(&cert_path, "%s/ec2-cert.pem", m->data);
	FILE *cert = fopen(cert_path.data, "r");
	if (cert) {
		char pem[8192];
		size_t n = fread(pem, 1, sizeof pem - 1, cert);
		pem[n] = '\0';
		fclose(cert);
		if (n && strstr(pem, "-----BEGIN CERTIFICATE-----"))
			md_add(t, "services/amibox-ec2-cert", "%s", pem);
	}
	buf_release(&cert_path);
	md_add(t, "services/domain", "amazonaws.com");
	md_add(t, "services/partition", "aws");
}

/* 1 if path (no trailing slash) names a directory of the tree. */
static int md_is_dir(const struct md_tree *t, const char *path)
{
	size_t len = strlen(path);
	for (size_t i = 0; i < t->n; i++)
		if ((!len || (!strncmp(t->leaves[i].path, path, len) && t->leaves[i].path[len] == '/')))
			return 1;
	return 0;
}

/* The listing of directory path: each child once, directories with '/'. */
static void md_list(const struct md_tree *t, const char *path, struct buf *out)
{
	size_t len = strlen(path), skip = len ? len + 1 : 0;
	struct buf seen = BUF_INIT;
	for (size_t i = 0; i < t->n; i++) {
		const char *p = t->leaves[i].path;
		if (len && (strncmp(p, path, len) != 0 || p[len] != '/'))
			continue;
		const char *child = p + skip;
		size_t clen = strcspn(child, "/");
		struct buf entry = BUF_INIT;
		buf_append(&entry, child, clen);
		if (child[clen] == '/')
			buf_append_char(&entry, '/');
		buf_append_char(&entry, '\n');
		/* A listing is a handful of lines: a linear check is enough. */
		int dup = 0;
		for (const char *s = seen.data; s && *s && !dup; s += strcspn(s, "\n") + 1)
			dup = strncmp(s, entry.data, entry.len) == 0;
		if (!dup) {
			buf_append(&seen, entry.data, entry.len);
			buf_append(out, entry.data, entry.len);
		}
		buf_release(&entry);
	}
	buf_release(&seen);
	if (out->len && out->data[out->len - 1] == '\n')
		out->data[--out->len] = '\0';
}

/* The value of a meta-data path (without "/latest/meta-data/"); 0 if none. */
static int metadata(struct imds *m, const char *path, struct buf *out)
{
	struct md_tree t = { 0 };
	char key[1024];
	snprintf(key, sizeof key, "%s", path);
	size_t len = strlen(key);
	while (len && key[len - 1] == '/')
		key[--len] = '\0';
	md_build(m, &t);
	int found = 0;
	for (size_t i = 0; i < t.n && !found; i++)
		if (!strcmp(t.leaves[i].path, key)) {
			buf_append_str(out, t.leaves[i].value);
			found = 1;
		}
	if (!found && !strcmp(key, "public-keys") && md_is_dir(&t, key)) {
		/* EC2 lists a key by index and name; its directory is "0/". */
		buf_printf(out, "0=%s", m->inst.key_name);
		found = 1;
	}
	if (!found && md_is_dir(&t, key)) {
		md_list(&t, key, out);
		found = 1;
	}
	md_release(&t);
	return found;
}

/*
 * The versions of the metadata EC2 lists at "/"; a path under any of them
 * (cloud-init asks for /2009-04-04/... and then the newest it knows) is
 * answered as the same path under /latest.
 */
static const char imds_versions[] =
	"1.0\n2007-01-19\n2007-03-01\n2007-08-29\n2007-10-10\n2007-12-15\n2008-02-01\n"
	"2008-09-01\n2009-04-04\n2011-01-01\n2011-05-01\n2012-01-12\n2014-02-25\n"
	"2014-11-05\n2015-10-20\n2016-04-19\n2016-06-30\n2016-09-02\n2018-03-28\n"
	"2018-08-17\n2018-09-24\n2019-10-01\n2020-10-27\n2021-01-03\n2021-03-23\n"
	"2021-07-15\n2022-09-24\n2023-11-01\nlatest";

static const char *imds_latest(const char *path, char *out, size_t cap)
{
	size_t len = strcspn(path + 1, "/");
	if (path[0] != '/' || !len || len > 10)
		return path;
	char version[16];
	memcpy(version, path + 1, len);
	version[len] = '\0';
	/* A version EC2 lists, as a whole line of the list. */
	const char *at = strstr(imds_versions, version);
	int listed = at && (at == imds_versions || at[-1] == '\n') &&
		     (at[len] == '\n' || at[len] == '\0');
	if (!listed || !strcmp(version, "latest"))
		return path;
	snprintf(out, cap, "/latest%s", path + 1 + len);
	return out;
}

static void serve_one(struct imds *m, const char *method, const char *path,
		      const char *token, const char *ttl)
{
	struct buf body = BUF_INIT;
	int put = !strcmp(method, "PUT");
	if (put) {
		if (strcmp(path, "/latest/api/token") != 0) {
			respond_text(405, "Method Not Allowed", "");
			return;
		}
		long seconds = ttl ? strtol(ttl, NULL, 10) : 0;
		if (seconds < 1 || seconds > 21600) {
			respond_text(400, "Bad Request",
				     "X-aws-ec2-metadata-token-ttl-seconds must be 1 to 21600");
			return;
		}
		make_token(m, ids_now_ms() / 1000 + seconds, &body);
		char extra[96];
		snprintf(extra, sizeof extra, "X-Aws-Ec2-Metadata-Token-Ttl-Seconds: %ld\r\n", seconds);
		respond(200, "OK", "text/plain", body.data, body.len, extra);
		buf_release(&body);
		return;
	}
	if (strcmp(method, "GET") != 0 && strcmp(method, "HEAD") != 0) {
		respond_text(405, "Method Not Allowed", "");
		return;
	}
	int valid = token && token_valid(m, token);
	if ((token && !valid) || (!token && !strcmp(m->inst.http_tokens, "required"))) {
		respond_text(401, "Unauthorized", "");
		return;
	}
	int found = 1;
	char latest[1100];
	path = imds_latest(path, latest, sizeof latest);
	if (!strcmp(path, "/")) {
		buf_append_str(&body, imds_versions);
	} else if (!strcmp(path, "/latest") || !strcmp(path, "/latest/")) {
		buf_append_str(&body, "dynamic\nmeta-data\nuser-data");
	} else if (!strncmp(path, "/latest/meta-data", 17) &&
		   (path[17] == '\0' || path[17] == '/')) {
		const char *rest = path[17] ? path + 18 : "";
		found = metadata(m, rest, &body);
	} else if (!strcmp(path, "/latest/dynamic") || !strcmp(path, "/latest/dynamic/")) {
		buf_append_str(&body, "instance-identity/");
	} else if (!strcmp(path, "/latest/dynamic/instance-identity") ||
		   !strcmp(path, "/latest/dynamic/instance-identity/")) {
		/* cloud-init crawls it and retries what does not answer. */
		buf_append_str(&body, "document");
	} else if (!strcmp(path, "/latest/user-data")) {
		found = m->inst.user_data && *m->inst.user_data &&
			codec_unbase64(m->inst.user_data, strlen(m->inst.user_data), &body) == 0;
	} else if (!strcmp(path, "/latest/dynamic/instance-identity/document")) {
		char when[ISO_TIME_MAX];
		ids_iso_time(m->inst.launch_ms, when);
		buf_printf(&body,
			   "{\n  \"accountId\" : \"%s\",\n  \"architecture\" : \"%s\",\n"
			   "  \"availabilityZone\" : \"%s\",\n  \"imageId\" : \"%s\",\n"
			   "  \"instanceId\" : \"%s\",\n  \"instanceType\" : \"%s\",\n"
			   "  \"pendingTime\" : \"%.19sZ\",\n  \"privateIp\" : \"%s\",\n"
			   "  \"region\" : \"%s\",\n  \"version\" : \"2017-09-30\"\n}",
			   m->inst.owner_id, m->inst.architecture, m->inst.zone, m->inst.image_id,
			   m->inst.id, m->inst.instance_type, when, m->inst.private_ip, m->region);
	} else {
		found = 0;
	}
	if (!found)
		respond(404, "Not Found", "text/html", "<html><body>404 - Not Found</body></html>", 40, NULL);
	else
		respond(200, "OK", "text/plain", body.data, body.len, NULL);
	buf_release(&body);
}

int cli_imds(int argc, char **argv)
{
	static const struct option options[] = {
		{ "data", required_argument, NULL, 'd' },
		{ "instance", required_argument, NULL, 'i' },
		{ "region", required_argument, NULL, 'r' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	static const char usage[] =
		"usage: amibox imds --data DIR --instance ID [--region NAME]\n"
		"Answers one guest connection to the instance metadata service on\n"
		"standard input and output (QEMU runs it for each connection).\n";
	const char *data = "./var", *id = NULL, *region = "us-east-1";
	struct imds m;
	struct err e = ERR_INIT;
	int opt;
	memset(&m, 0, sizeof m);
	while ((opt = getopt_long(argc, argv, "", options, NULL)) != -1) {
		switch (opt) {
		case 'd': data = optarg; break;
		case 'i': id = optarg; break;
		case 'r': region = optarg; break;
		case 'h': fputs(usage, stdout); return 0;
		default: fputs(usage, stderr); return 2;
		}
	}
	if (!id) {
		fputs(usage, stderr);
		return 2;
	}
	snprintf(m.region, sizeof m.region, "%s", region);
	m.data = data;
	if (catalog_open(data, &m.cat, &e) < 0 ||
	    catalog_secret(m.cat, "imds-token-key", m.key, sizeof m.key, &e) < 0 ||
	    catalog_instance_get(m.cat, id, &m.inst, &e) <= 0) {
		fprintf(stderr, "amibox imds: %s\n", err_is_set(&e) ? e.message : "no such instance");
		catalog_close(m.cat);
		return 1;
	}
	/* Requests until the guest closes the connection. */
	char line[IMDS_MAX_HEADER];
	while (fgets(line, sizeof line, stdin)) {
		char method[16] = "", path[1024] = "";
		char token[512] = "", ttl[32] = "";
		int has_token = 0, has_ttl = 0;
		long long content = 0;
		if (sscanf(line, "%15s %1023s", method, path) != 2)
			break;
		while (fgets(line, sizeof line, stdin) && strcmp(line, "\r\n") && strcmp(line, "\n")) {
			char *colon = strchr(line, ':');
			if (!colon)
				continue;
			*colon = '\0';
			char *value = colon + 1;
			value += strspn(value, " \t");
			value[strcspn(value, "\r\n")] = '\0';
			if (!strcasecmp(line, "X-aws-ec2-metadata-token")) {
				snprintf(token, sizeof token, "%s", value);
				has_token = 1;
			} else if (!strcasecmp(line, "X-aws-ec2-metadata-token-ttl-seconds")) {
				snprintf(ttl, sizeof ttl, "%s", value);
				has_ttl = 1;
			} else if (!strcasecmp(line, "Content-Length")) {
				content = atoll(value);
			}
		}
		for (long long i = 0; i < content && i < (1 << 20) && getchar() != EOF; i++)
			;
		serve_one(&m, method, path, has_token ? token : NULL, has_ttl ? ttl : NULL);
	}
	instance_release(&m.inst);
	catalog_close(m.cat);
	return 0;
}
