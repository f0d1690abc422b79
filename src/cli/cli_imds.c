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
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

#include "catalog/catalog.h"
#include "catalog/catalog_images.h"
#include "catalog/catalog_instances.h"
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

/* The value of a meta-data path (without "/latest/meta-data/"); 0 if none. */
static int metadata(struct imds *m, const char *path, struct buf *out)
{
	const struct instance *i = &m->inst;
	char ip[16];
	snprintf(ip, sizeof ip, "%s", i->private_ip);
	for (char *p = ip; *p; p++)
		if (*p == '.')
			*p = '-';
	if (!*path) {
		buf_append_str(out, "ami-id\nami-launch-index\nami-manifest-path\n"
				    "block-device-mapping/\nhostname\ninstance-id\n"
				    "instance-type\n");
		if (i->kernel_id[0])
			buf_append_str(out, "kernel-id\n");
		buf_append_str(out, "local-hostname\nlocal-ipv4\nplacement/\n");
		if (i->ramdisk_id[0])
			buf_append_str(out, "ramdisk-id\n");
		buf_append_str(out, "reservation-id\nsecurity-groups");
	} else if (!strcmp(path, "ami-id")) {
		buf_append_str(out, i->image_id);
	} else if (!strcmp(path, "ami-launch-index")) {
		buf_printf(out, "%d", i->launch_index);
	} else if (!strcmp(path, "ami-manifest-path")) {
		/* The bundle's manifest for an instance-store image, as EC2 gives it. */
		struct image img;
		struct err ignored = ERR_INIT;
		int found = !strcmp(i->root_device_type, "instance-store") &&
			    catalog_image_get(m->cat, i->image_id, &img, &ignored) > 0;
		buf_append_str(out, found ? img.image_location : "(unknown)");
		if (found)
			image_release(&img);
	} else if (!strcmp(path, "instance-id")) {
		buf_append_str(out, i->id);
	} else if (!strcmp(path, "instance-type")) {
		buf_append_str(out, i->instance_type);
	} else if (!strcmp(path, "kernel-id") && i->kernel_id[0]) {
		buf_append_str(out, i->kernel_id);
	} else if (!strcmp(path, "ramdisk-id") && i->ramdisk_id[0]) {
		buf_append_str(out, i->ramdisk_id);
	} else if (!strcmp(path, "reservation-id")) {
		buf_append_str(out, i->reservation_id);
	} else if (!strcmp(path, "local-ipv4")) {
		buf_append_str(out, i->private_ip);
	} else if (!strcmp(path, "hostname") || !strcmp(path, "local-hostname")) {
		buf_printf(out, "ip-%s.ec2.internal", ip);
	} else if (!strcmp(path, "security-groups")) {
		buf_append_str(out, "default");
	} else if (!strcmp(path, "placement") || !strcmp(path, "placement/")) {
		buf_append_str(out, "availability-zone\nregion");
	} else if (!strcmp(path, "placement/availability-zone")) {
		buf_append_str(out, i->zone);
	} else if (!strcmp(path, "placement/region")) {
		buf_append_str(out, m->region);
	} else if (!strncmp(path, "block-device-mapping", 20)) {
		const char *rest = path + 20;
		int ebs = 0;
		struct buf list = BUF_INIT;
		buf_append_str(&list, "ami\n");
		if (!strcmp(rest, "/ami") || !strcmp(rest, "/root"))
			buf_append_str(out, !strcmp(rest, "/ami") ? device_base(i->root_device_name) :
								      i->root_device_name);
		for (size_t d = 0; d < i->ndevices; d++) {
			const struct instance_device *dev = &i->devices[d];
			char name[32];
			if (!strcmp(dev->device_name, i->root_device_name))
				continue;
			if (dev->volume_id[0])
				snprintf(name, sizeof name, "ebs%d", ++ebs);
			else
				snprintf(name, sizeof name, "%s", dev->virtual_name);
			buf_printf(&list, "%s\n", name);
			if (rest[0] == '/' && !strcmp(rest + 1, name))
				buf_append_str(out, device_base(dev->device_name));
		}
		buf_append_str(&list, "root");
		if (!strcmp(rest, "") || !strcmp(rest, "/"))
			buf_append(out, list.data, list.len);
		buf_release(&list);
		return out->len > 0;
	} else {
		return 0;
	}
	return 1;
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
	if (!strcmp(path, "/") || !strcmp(path, "/latest") || !strcmp(path, "/latest/")) {
		buf_append_str(&body, !strcmp(path, "/") ? "latest" : "dynamic\nmeta-data\nuser-data");
	} else if (!strncmp(path, "/latest/meta-data", 17) &&
		   (path[17] == '\0' || path[17] == '/')) {
		const char *rest = path[17] ? path + 18 : "";
		found = metadata(m, rest, &body);
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
