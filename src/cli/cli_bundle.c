/*
 * cli_bundle: the AMI tools for instance-store images.
 *
 *   amibox bundle-image    image file → encrypted, signed bundle (bundle.h)
 *   amibox unbundle        bundle → image file, every digest checked
 *   amibox upload-bundle   parts, then the manifest, to a bucket (S3 API)
 *   amibox download-bundle manifest, then the parts, from a bucket
 *   amibox ec2-cert        the cloud's certificate, for any bundler
 *
 * upload-bundle and download-bundle are clients of the daemon's S3 API,
 * signed with SigV4 like any other client.
 */
#include <curl/curl.h>
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <libgen.h>
#include <openssl/evp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "bundle/bundle.h"
#include "bundle/keys.h"
#include "bundle/manifest.h"
#include "cli/cli.h"
#include "cli/cli_client.h"
#include "util/buf.h"
#include "util/codec.h"

/* ---- progress ----------------------------------------------------------- */

struct progress {
	int on;
	const char *what;
	int last_percent;
};

static void progress_show(void *ctx, unsigned long long done, unsigned long long total)
{
	struct progress *p = ctx;
	if (!p->on || total == 0)
		return;
	int percent = (int)(done * 100 / total);
	if (percent == p->last_percent)
		return;
	p->last_percent = percent;
	char bar[41];
	int filled = percent * 40 / 100;
	for (int i = 0; i < 40; i++)
		bar[i] = i < filled ? '#' : '.';
	bar[40] = '\0';
	fprintf(stderr, "\r%s [%s] %3d%%", p->what, bar, percent);
	if (done >= total)
		fputc('\n', stderr);
}

/* ---- bundle-image ------------------------------------------------------- */

/* "ami=sda1,root=/dev/sda1,ephemeral0=sdb" */
static int parse_mappings(const char *text, struct manifest_mapping *out, size_t *count)
{
	char *copy = strdup(text), *save = NULL;
	int ret = 0;
	*count = 0;
	for (char *item = strtok_r(copy, ",", &save); item; item = strtok_r(NULL, ",", &save)) {
		char *eq = strchr(item, '=');
		if (!eq || eq == item || !eq[1] || *count == MANIFEST_MAX_MAPPINGS ||
		    (size_t)(eq - item) >= sizeof out->virtual_name ||
		    strlen(eq + 1) >= sizeof out->device) {
			ret = -1;
			break;
		}
		snprintf(out[*count].virtual_name, sizeof out->virtual_name, "%.*s",
			 (int)(eq - item), item);
		snprintf(out[*count].device, sizeof out->device, "%s", eq + 1);
		(*count)++;
	}
	free(copy);
	return ret;
}

/*
 * Makes the destination folder and its parents, as `mkdir -p` does; 0 if it
 * is there, -1 with errno.
 */
static int destination_make(const char *path)
{
	char *copy = xstrdup(path);
	int rc = 0;
	for (char *p = copy + 1; rc == 0; p++) {
		if (*p != '/' && *p != '\0')
			continue;
		char was = *p;
		*p = '\0';
		if (mkdir(copy, 0755) < 0 && errno != EEXIST)
			rc = -1;
		*p = was;
		if (!was)
			break;
	}
	free(copy);
	struct stat st;
	if (rc == 0 && stat(path, &st) < 0)
		rc = -1;
	else if (rc == 0 && !S_ISDIR(st.st_mode)) {
		errno = ENOTDIR;
		rc = -1;
	}
	return rc;
}

static int destination_ready(const char *path)
{
	if (destination_make(path) == 0)
		return 0;
	fprintf(stderr, "amibox: cannot make the destination %s: %s\n", path, strerror(errno));
	return -1;
}

static void bundle_usage(FILE *out)
{
	fprintf(out,
		"usage: amibox bundle-image --image FILE --prefix NAME --cert USER.pem\n"
		"         --privatekey KEY.pem --user ACCOUNT [--ec2cert CLOUD.pem | --data DIR]\n"
		"         [--arch x86_64] [--kernel aki-…] [--ramdisk ari-…] [--type machine]\n"
		"         [--block-device-mapping ami=sda1,root=/dev/sda1,ephemeral0=sdb]\n"
		"         [--destination DIR] [--part-size BYTES] [--no-progress]\n"
		"Makes an instance-store bundle: PREFIX.part.NN and PREFIX.manifest.xml\n"
		"in DIR (made if missing; default .), parts of 10 MiB unless --part-size.\n"
		"Without --ec2cert the cloud certificate of --data (default ./var) is used.\n");
}

static int cli_bundle_image(int argc, char **argv)
{
	static const struct option options[] = {
		{ "image", required_argument, NULL, 'i' },
		{ "prefix", required_argument, NULL, 'p' },
		{ "cert", required_argument, NULL, 'c' },
		{ "privatekey", required_argument, NULL, 'k' },
		{ "user", required_argument, NULL, 'u' },
		{ "ec2cert", required_argument, NULL, 'e' },
		{ "data", required_argument, NULL, 'D' },
		{ "arch", required_argument, NULL, 'r' },
		{ "kernel", required_argument, NULL, 'K' },
		{ "ramdisk", required_argument, NULL, 'R' },
		{ "type", required_argument, NULL, 't' },
		{ "block-device-mapping", required_argument, NULL, 'B' },
		{ "destination", required_argument, NULL, 'd' },
		{ "part-size", required_argument, NULL, 'P' },
		{ "no-progress", no_argument, NULL, 'n' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	struct bundle_options o = { .destination = ".", .architecture = "x86_64",
				    .type = "machine" };
	struct manifest_mapping mappings[MANIFEST_MAX_MAPPINGS];
	const char *data = "./var", *bdm = NULL;
	int opt, show = isatty(2);
	optind = 1;
	while ((opt = getopt_long(argc, argv, "i:p:c:k:u:e:r:d:B:h", options, NULL)) != -1) {
		switch (opt) {
		case 'i': o.image = optarg; break;
		case 'p': o.prefix = optarg; break;
		case 'c': o.user_cert = optarg; break;
		case 'k': o.user_key = optarg; break;
		case 'u': o.user = optarg; break;
		case 'e': o.ec2_cert = optarg; break;
		case 'D': data = optarg; break;
		case 'r': o.architecture = optarg; break;
		case 'K': o.kernel_id = optarg; break;
		case 'R': o.ramdisk_id = optarg; break;
		case 't': o.type = optarg; break;
		case 'B': bdm = optarg; break;
		case 'd': o.destination = optarg; break;
		case 'P': o.part_size = strtoull(optarg, NULL, 10); break;
		case 'n': show = 0; break;
		case 'h': bundle_usage(stdout); return 0;
		default: bundle_usage(stderr); return 2;
		}
	}
	if (!o.image || !o.user_cert || !o.user_key || !o.user || optind != argc) {
		bundle_usage(stderr);
		return 2;
	}
	char *image_copy = strdup(o.image);
	if (!o.prefix)
		o.prefix = basename(image_copy);
	if (strcmp(o.type, "machine") && strcmp(o.type, "kernel") && strcmp(o.type, "ramdisk")) {
		fprintf(stderr, "amibox: --type must be machine, kernel or ramdisk\n");
		free(image_copy);
		return 2;
	}
	if (bdm && parse_mappings(bdm, mappings, &o.nmappings) < 0) {
		fprintf(stderr, "amibox: --block-device-mapping wants VIRTUAL=DEVICE,...\n");
		free(image_copy);
		return 2;
	}
	if (!bdm && !strcmp(o.type, "machine")) {
		/* The AMI tools' defaults for a machine image. */
		snprintf(mappings[0].virtual_name, sizeof mappings[0].virtual_name, "ami");
		snprintf(mappings[0].device, sizeof mappings[0].device, "sda1");
		snprintf(mappings[1].virtual_name, sizeof mappings[1].virtual_name, "root");
		snprintf(mappings[1].device, sizeof mappings[1].device, "/dev/sda1");
		o.nmappings = 2;
	}
	o.mappings = mappings;
	struct err e = ERR_INIT;
	char cloud_cert[4096];
	if (!o.ec2_cert) {
		if (keys_cloud_ensure(data, &e) < 0) {
			fprintf(stderr, "amibox: %s\n", e.message);
			free(image_copy);
			return 1;
		}
		snprintf(cloud_cert, sizeof cloud_cert, "%s/ec2-cert.pem", data);
		o.ec2_cert = cloud_cert;
	}
	if (destination_ready(o.destination) < 0) {
		free(image_copy);
		return 1;
	}
	struct progress p = { show, "bundling", -1 };
	o.progress = progress_show;
	o.progress_ctx = &p;
	struct buf manifest = BUF_INIT;
	int rc = bundle_create(&o, &manifest, &e);
	if (rc == 0)
		printf("%s\n", manifest.data);
	else
		fprintf(stderr, "amibox: %s\n", e.message);
	buf_release(&manifest);
	free(image_copy);
	return rc == 0 ? 0 : 1;
}

/* ---- unbundle ----------------------------------------------------------- */

static int read_file(const char *path, struct buf *out, size_t limit)
{
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return -1;
	char chunk[65536];
	ssize_t n;
	while ((n = read(fd, chunk, sizeof chunk)) > 0) {
		if (out->len + (size_t)n > limit) {
			close(fd);
			errno = EFBIG;
			return -1;
		}
		buf_append(out, chunk, (size_t)n);
	}
	close(fd);
	return n < 0 ? -1 : 0;
}

static int open_local_part(void *ctx, const char *filename, struct err *e)
{
	struct buf path = BUF_INIT;
	buf_printf(&path, "%s/%s", (const char *)ctx, filename);
	int fd = open(path.data, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		err_invalid(e, "cannot read part %s: %s", path.data, strerror(errno));
	buf_release(&path);
	return fd;
}

static void unbundle_usage(FILE *out)
{
	fprintf(out,
		"usage: amibox unbundle --manifest PREFIX.manifest.xml --privatekey KEY.pem\n"
		"         [--source DIR] [--destination DIR] [--no-progress]\n"
		"Checks every part and the image digest, decrypts with the user's key and\n"
		"writes the image to DESTINATION/NAME (DESTINATION made if missing).\n");
}

static int cli_unbundle(int argc, char **argv)
{
	static const struct option options[] = {
		{ "manifest", required_argument, NULL, 'm' },
		{ "privatekey", required_argument, NULL, 'k' },
		{ "source", required_argument, NULL, 's' },
		{ "destination", required_argument, NULL, 'd' },
		{ "no-progress", no_argument, NULL, 'n' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	const char *manifest_path = NULL, *key_path = NULL, *source = NULL, *dest = ".";
	int opt, show = isatty(2);
	optind = 1;
	while ((opt = getopt_long(argc, argv, "m:k:s:d:h", options, NULL)) != -1) {
		switch (opt) {
		case 'm': manifest_path = optarg; break;
		case 'k': key_path = optarg; break;
		case 's': source = optarg; break;
		case 'd': dest = optarg; break;
		case 'n': show = 0; break;
		case 'h': unbundle_usage(stdout); return 0;
		default: unbundle_usage(stderr); return 2;
		}
	}
	if (!manifest_path || !key_path || optind != argc) {
		unbundle_usage(stderr);
		return 2;
	}
	if (destination_ready(dest) < 0)
		return 1;
	char *dir_copy = strdup(manifest_path);
	if (!source)
		source = dirname(dir_copy);
	struct buf text = BUF_INIT, out_path = BUF_INIT;
	struct manifest m;
	struct err e = ERR_INIT;
	EVP_PKEY *key = NULL;
	unsigned char aes_key[16], iv[16];
	int rc = 1, fd = -1, parsed = 0;
	if (read_file(manifest_path, &text, MANIFEST_MAX_BYTES) < 0) {
		fprintf(stderr, "amibox: cannot read %s: %s\n", manifest_path, strerror(errno));
		goto out;
	}
	if (manifest_parse(text.data, text.len, &m, &e) < 0)
		goto fail;
	parsed = 1;
	if (!m.user_encrypted_key || !m.user_encrypted_iv) {
		err_invalid(&e, "the manifest carries no key for the user");
		goto fail;
	}
	if (!(key = keys_private_file(key_path, &e)) ||
	    keys_decrypt_hex16(key, m.user_encrypted_key, aes_key, &e) < 0 ||
	    keys_decrypt_hex16(key, m.user_encrypted_iv, iv, &e) < 0)
		goto fail;
	if (!m.name[0] || strchr(m.name, '/') || !strcmp(m.name, "..") || !strcmp(m.name, ".")) {
		err_invalid(&e, "the manifest's image name is not a plain file name");
		goto fail;
	}
	buf_printf(&out_path, "%s/%s", dest, m.name);
	fd = open(out_path.data, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
	if (fd < 0) {
		err_invalid(&e, "cannot create %s: %s", out_path.data, strerror(errno));
		goto fail;
	}
	struct progress p = { show, "unbundling", -1 };
	if (bundle_unpack(&m, aes_key, iv, open_local_part, (void *)source, fd, progress_show, &p,
			  &e) < 0) {
		unlink(out_path.data);
		goto fail;
	}
	printf("%s\n", out_path.data);
	rc = 0;
	goto out;
fail:
	fprintf(stderr, "amibox: %s\n", e.message);
out:
	if (fd >= 0)
		close(fd);
	if (parsed)
		manifest_release(&m);
	EVP_PKEY_free(key);
	buf_release(&text);
	buf_release(&out_path);
	free(dir_copy);
	return rc;
}

/* ---- ec2-cert ----------------------------------------------------------- */

static int cli_ec2_cert(int argc, char **argv)
{
	static const struct option options[] = {
		{ "data", required_argument, NULL, 'D' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	const char *data = "./var";
	int opt;
	optind = 1;
	while ((opt = getopt_long(argc, argv, "h", options, NULL)) != -1) {
		if (opt == 'D') {
			data = optarg;
		} else {
			fprintf(opt == 'h' ? stdout : stderr,
				"usage: amibox ec2-cert [--data DIR]\n"
				"Prints the cloud's certificate (PEM): bundlers encrypt the image key for it.\n");
			return opt == 'h' ? 0 : 2;
		}
	}
	struct err e = ERR_INIT;
	struct buf pem = BUF_INIT, path = BUF_INIT;
	buf_printf(&path, "%s/ec2-cert.pem", data);
	mkdir(data, 0700);
	if (keys_cloud_ensure(data, &e) < 0 || read_file(path.data, &pem, 1 << 20) < 0) {
		fprintf(stderr, "amibox: %s\n", e.message[0] ? e.message : strerror(errno));
		buf_release(&path);
		return 1;
	}
	fwrite(pem.data, 1, pem.len, stdout);
	buf_release(&pem);
	buf_release(&path);
	return 0;
}

/* ---- the S3 client of upload-bundle and download-bundle ----------------- */

struct s3c {
	struct cli_client client;
	CURL *curl;
	struct buf response;
	long status;
};

/* The URI path of bucket/key, each segment encoded once. */
static void s3c_path(const char *bucket, const char *key, struct buf *out)
{
	buf_append_char(out, '/');
	codec_uri_encode(bucket, strlen(bucket), 1, out);
	if (key) {
		buf_append_char(out, '/');
		codec_uri_encode(key, strlen(key), 1, out);
	}
}

/* One SigV4 (s3) request with the body's SHA-256; acl a signed x-amz-acl header or NULL. */
static long s3c_send(struct s3c *s, const char *method, const char *path, const char *query,
		     const char *acl, const void *body, size_t len, char *error, size_t cap)
{
	char hash[65];
	codec_sha256_hex(body ? body : "", len, hash);
	struct curl_slist *headers = acl ? curl_slist_append(NULL, acl) : NULL;
	s->status = cli_client_send(&s->client, s->curl, "s3", method, path, query, headers,
				    acl ? "x-amz-acl" : NULL, hash, body, len, &s->response, error,
				    cap);
	if (s->status >= 300) {
		const char *text = buf_str(&s->response);
		const char *msg = strstr(text, "<Message>");
		const char *end = msg ? strstr(msg, "</Message>") : NULL;
		if (msg && end)
			snprintf(error, cap, "the server answered %ld: %.*s", s->status,
				 (int)(end - msg - 9), msg + 9);
		else
			snprintf(error, cap, "the server answered %ld", s->status);
	}
	return s->status;
}

/* "bucket" or "bucket/some/prefix" → bucket and a key prefix ("" or "some/prefix/"). */
static void split_bucket(const char *given, char *bucket, size_t cap, struct buf *key_prefix)
{
	const char *slash = strchr(given, '/');
	snprintf(bucket, cap, "%.*s", slash ? (int)(slash - given) : (int)strlen(given), given);
	if (slash && slash[1]) {
		buf_append_str(key_prefix, slash + 1);
		if (key_prefix->data[key_prefix->len - 1] != '/')
			buf_append_char(key_prefix, '/');
	}
}

static void transfer_usage(FILE *out, const char *command)
{
	if (!strcmp(command, "upload-bundle"))
		fprintf(out,
			"usage: amibox upload-bundle --bucket BUCKET[/PREFIX] --manifest M\n"
			"         [--acl aws-exec-read] [--endpoint URL] [--data DIR --account NAME]\n"
			"Uploads the parts, then the manifest (so a registration never sees a\n"
			"manifest without its parts); makes the bucket if it does not exist.\n");
	else
		fprintf(out,
			"usage: amibox download-bundle --bucket BUCKET[/PREFIX] --prefix NAME\n"
			"         [--destination DIR] [--endpoint URL] [--data DIR --account NAME]\n"
			"Downloads NAME.manifest.xml and its parts into DIR (made if missing).\n");
}

static int cli_transfer(int argc, char **argv, int upload)
{
	static const struct option options[] = {
		{ "bucket", required_argument, NULL, 'b' },
		{ "manifest", required_argument, NULL, 'm' },
		{ "prefix", required_argument, NULL, 'p' },
		{ "destination", required_argument, NULL, 'd' },
		{ "acl", required_argument, NULL, 'a' },
		{ "endpoint", required_argument, NULL, 'E' },
		{ "endpoint-url", required_argument, NULL, 'E' },
		{ "data", required_argument, NULL, 'D' },
		{ "account", required_argument, NULL, 'A' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	const char *given = NULL, *manifest_path = NULL, *prefix = NULL, *dest = ".",
		   *acl = "aws-exec-read", *endpoint = NULL, *data = "./var", *account = NULL;
	const char *command = argv[0];
	int opt;
	optind = 1;
	while ((opt = getopt_long(argc, argv, "b:m:p:d:h", options, NULL)) != -1) {
		switch (opt) {
		case 'b': given = optarg; break;
		case 'm': manifest_path = optarg; break;
		case 'p': prefix = optarg; break;
		case 'd': dest = optarg; break;
		case 'a': acl = optarg; break;
		case 'E': endpoint = optarg; break;
		case 'D': data = optarg; break;
		case 'A': account = optarg; break;
		case 'h': transfer_usage(stdout, command); return 0;
		default: transfer_usage(stderr, command); return 2;
		}
	}
	if (!given || (upload ? !manifest_path : !prefix) || optind != argc) {
		transfer_usage(stderr, command);
		return 2;
	}
	if (!upload && destination_ready(dest) < 0)
		return 1;
	struct s3c s = { 0 };
	char error[1024] = "", bucket[256];
	struct buf key_prefix = BUF_INIT, text = BUF_INIT, path = BUF_INIT, key = BUF_INIT,
		   local = BUF_INIT, acl_header = BUF_INIT;
	struct manifest m;
	int parsed = 0, rc = 1;
	split_bucket(given, bucket, sizeof bucket, &key_prefix);
	s.curl = curl_easy_init();
	if (cli_client_setup(&s.client, "AWS_ENDPOINT_URL_S3", endpoint, data, account, error,
			     sizeof error) < 0)
		goto out;
	struct err e = ERR_INIT;
	char *dir_copy = manifest_path ? strdup(manifest_path) : NULL;
	const char *source = dir_copy ? dirname(dir_copy) : NULL;
	if (upload) {
		if (read_file(manifest_path, &text, MANIFEST_MAX_BYTES) < 0) {
			snprintf(error, sizeof error, "cannot read %s: %s", manifest_path, strerror(errno));
			goto out_dir;
		}
		if (manifest_parse(text.data, text.len, &m, &e) < 0) {
			snprintf(error, sizeof error, "%s", e.message);
			goto out_dir;
		}
		parsed = 1;
		s3c_path(bucket, NULL, &path);
		if (s3c_send(&s, "HEAD", path.data, "", NULL, NULL, 0, error, sizeof error) == 404 &&
		    s3c_send(&s, "PUT", path.data, "", NULL, NULL, 0, error, sizeof error) != 200)
			goto out_dir;
		error[0] = '\0';
		buf_printf(&acl_header, "x-amz-acl: %s", acl);
		/* The parts (in order), then the manifest. */
		for (size_t i = 0; i <= m.nparts; i++) {
			const char *file = i < m.nparts ? m.parts[i].filename : NULL;
			buf_reset(&local);
			buf_reset(&text);
			if (file)
				buf_printf(&local, "%s/%s", source, file);
			else
				buf_append_str(&local, manifest_path);
			if (read_file(local.data, &text, 64ULL << 20) < 0) {
				snprintf(error, sizeof error, "cannot read %s: %s", local.data,
					 strerror(errno));
				goto out_dir;
			}
			buf_reset(&key);
			buf_append(&key, key_prefix.data ? key_prefix.data : "", key_prefix.len);
			char *base_copy = strdup(local.data);
			buf_append_str(&key, basename(base_copy));
			free(base_copy);
			buf_reset(&path);
			s3c_path(bucket, key.data, &path);
			if (s3c_send(&s, "PUT", path.data, "", acl_header.data, text.data, text.len, error,
				     sizeof error) != 200)
				goto out_dir;
			fprintf(stderr, "uploaded s3://%s/%s\n", bucket, key.data);
		}
		printf("%s/%s%s.manifest.xml\n", bucket, key_prefix.data ? key_prefix.data : "", m.name);
	} else {
		buf_printf(&key, "%s%s.manifest.xml", key_prefix.data ? key_prefix.data : "", prefix);
		s3c_path(bucket, key.data, &path);
		if (s3c_send(&s, "GET", path.data, "", NULL, NULL, 0, error, sizeof error) != 200)
			goto out_dir;
		if (manifest_parse(buf_str(&s.response), s.response.len, &m, &e) < 0) {
			snprintf(error, sizeof error, "%s", e.message);
			goto out_dir;
		}
		parsed = 1;
		for (size_t i = 0; i <= m.nparts; i++) {
			const char *file = i < m.nparts ? m.parts[i].filename : NULL;
			buf_reset(&key);
			buf_printf(&key, "%s%s", key_prefix.data ? key_prefix.data : "",
				   file ? file : "");
			if (!file)
				buf_printf(&key, "%s.manifest.xml", prefix);
			buf_reset(&path);
			s3c_path(bucket, key.data, &path);
			if (s3c_send(&s, "GET", path.data, "", NULL, NULL, 0, error, sizeof error) != 200)
				goto out_dir;
			buf_reset(&local);
			buf_printf(&local, "%s/%s", dest, file ? file : "");
			if (!file)
				buf_printf(&local, "%s.manifest.xml", prefix);
			int fd = open(local.data, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
			int ok = fd >= 0 &&
				 write(fd, buf_str(&s.response), s.response.len) == (ssize_t)s.response.len;
			if (fd >= 0 && close(fd) < 0)
				ok = 0;
			if (!ok) {
				snprintf(error, sizeof error, "cannot write %s: %s", local.data,
					 strerror(errno));
				goto out_dir;
			}
		}
		printf("%s/%s.manifest.xml\n", dest, prefix);
	}
	rc = 0;
out_dir:
	free(dir_copy);
out:
	if (rc)
		fprintf(stderr, "amibox: %s\n", error[0] ? error : "failed");
	if (parsed)
		manifest_release(&m);
	curl_easy_cleanup(s.curl);
	buf_release(&s.response);
	buf_release(&key_prefix);
	buf_release(&text);
	buf_release(&path);
	buf_release(&key);
	buf_release(&local);
	buf_release(&acl_header);
	return rc;
}

int cli_bundle(int argc, char **argv)
{
	if (!strcmp(argv[0], "bundle-image"))
		return cli_bundle_image(argc, argv);
	if (!strcmp(argv[0], "unbundle"))
		return cli_unbundle(argc, argv);
	if (!strcmp(argv[0], "ec2-cert"))
		return cli_ec2_cert(argc, argv);
	if (!strcmp(argv[0], "upload-bundle"))
		return cli_transfer(argc, argv, 1);
	return cli_transfer(argc, argv, 0);
}
