/*
 * cli_import: `amibox import FILE`: uploads a disk image as a completed
 * snapshot through the daemon's own EBS direct API (StartSnapshot, one
 * PutSnapshotBlock per non-zero block from several connections at once,
 * CompleteSnapshot with the LINEAR checksum), signed with SigV4 like any
 * other client.  qcow2, vmdk and other formats go through `qemu-img convert`
 * to a temporary raw file first.  A block device is read like a file; a
 * pipe (or `-`, standard input) is read in order, its size given by --size.
 *
 * An import that fails after StartSnapshot (a read or network error,
 * SIGINT or SIGTERM) deletes its pending snapshot, which would otherwise
 * hold its blocks until it expires; when it cannot, it says which snapshot
 * is left and how to delete it.  The snapshot's ID is printed (on stderr)
 * as soon as it exists, so even a kill -9 leaves the user a trace.
 */
#include <curl/curl.h>
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <jansson.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/ioctl.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "blockstore/blockstore.h"
#include "catalog/catalog.h"
#include "cli/cli.h"
#include "cli/cli_client.h"
#include "util/buf.h"
#include "util/codec.h"
#include "util/ids.h"

#define IMPORT_THREADS 4
/* A block device's size (<linux/fs.h>, whose BLOCK_SIZE clashes with ours). */
#ifndef BLKGETSIZE64
#define BLKGETSIZE64 _IOR(0x12, 114, size_t)
#endif


struct import_job {
	const struct cli_client *client;
	const char *snapshot_id;
	int fd;
	int stream;              /* a pipe: read in order, under read_lock */
	long long blocks;        /* in the image */
	long long next;          /* next block to claim */
	long long done;
	long long uploaded;
	unsigned char (*digests)[32];
	unsigned char *written;  /* per block: 1 if uploaded */
	pthread_mutex_t lock;
	pthread_mutex_t read_lock;
	int failed;
	int eof;                 /* the stream ended */
	int workers;             /* still running */
	char error[512];
	int progress;            /* draw a progress bar */
	long long start_ms;
};

struct import_http {
	CURL *curl;
	struct buf response;
	char request_id[64];
	long status;
};

/*
 * Sends one signed request; the response body lands in http->response.
 * Returns the HTTP status, or -1 if no answer came.
 */
static long import_send(struct import_http *http, const struct cli_client *c,
			const char *method, const char *path,
			struct curl_slist *headers, const void *body,
			size_t body_len, char *error, size_t error_cap)
{
	const char *q = strchr(path, '?');
	char raw_path[512];
	snprintf(raw_path, sizeof raw_path, "%.*s", q ? (int)(q - path) : (int)strlen(path), path);
	http->status = cli_client_send(c, http->curl, "ebs", method, raw_path, q ? q + 1 : "",
				       headers, NULL, "UNSIGNED-PAYLOAD", body, body_len,
				       &http->response, error, error_cap);
	if (http->status >= 300) {
		json_t *o = json_loadb(buf_str(&http->response), http->response.len, 0, NULL);
		json_t *m = o ? json_object_get(o, "Message") : NULL;
		snprintf(error, error_cap, "the server answered %ld: %s", http->status,
			 json_is_string(m) ? json_string_value(m) : buf_str(&http->response));
		json_decref(o);
	}
	return http->status;
}

static void import_progress(struct import_job *job, int final)
{
	if (!job->progress)
		return;
	double frac = job->blocks ? (double)job->done / (double)job->blocks : 1.0;
	int width = 40, filled = (int)(frac * width);
	double secs = (double)(time(NULL) * 1000LL - job->start_ms) / 1000.0;
	double mib = (double)job->done * 0.5;
	fprintf(stderr, "\r[%.*s%*s] %5.1f%%  %.0f MiB  %.1f MiB/s ", filled,
		"########################################", width - filled, "",
		frac * 100.0, mib, secs > 0 ? mib / secs : 0.0);
	if (final)
		fputc('\n', stderr);
	fflush(stderr);
}

static void import_fail(struct import_job *job, const char *msg)
{
	pthread_mutex_lock(&job->lock);
	if (!job->failed) {
		job->failed = 1;
		snprintf(job->error, sizeof job->error, "%s", msg);
	}
	pthread_mutex_unlock(&job->lock);
}

static int import_put_block(struct import_job *job, struct import_http *http,
			    long long index, const unsigned char *data)
{
	char path[256], header[160], error[512];
	struct buf b64 = BUF_INIT;
	codec_sha256(data, BLOCK_SIZE, job->digests[index]);
	codec_base64(job->digests[index], 32, &b64);
	struct curl_slist *headers = NULL;
	snprintf(header, sizeof header, "x-amz-Checksum: %s", b64.data);
	headers = curl_slist_append(headers, header);
	headers = curl_slist_append(headers, "x-amz-Checksum-Algorithm: SHA256");
	snprintf(header, sizeof header, "x-amz-Data-Length: %d", BLOCK_SIZE);
	headers = curl_slist_append(headers, header);
	headers = curl_slist_append(headers, "Content-Type: application/octet-stream");
	buf_release(&b64);
	snprintf(path, sizeof path, "/snapshots/%s/blocks/%lld", job->snapshot_id, index);
	/* A dropped connection is retried; a refusal is final. */
	for (int attempt = 0; attempt < 3; attempt++) {
		struct curl_slist *copy = NULL;
		for (struct curl_slist *h = headers; h; h = h->next)
			copy = curl_slist_append(copy, h->data);
		long status = import_send(http, job->client, "PUT", path, copy, data,
					  BLOCK_SIZE, error, sizeof error);
		if (status == 201) {
			curl_slist_free_all(headers);
			return 0;
		}
		if (status > 0 && status < 500)
			break;
	}
	curl_slist_free_all(headers);
	import_fail(job, error);
	return -1;
}

static int import_has_failed(struct import_job *job)
{
	pthread_mutex_lock(&job->lock);
	int failed = job->failed;
	pthread_mutex_unlock(&job->lock);
	return failed;
}

/*
 * Reads up to len bytes of the stream into data, in order; returns how many
 * (fewer only at its end), or -1 with errno (EINTR: the import failed
 * meanwhile, e.g. a signal, so a writer that never writes cannot hold it).
 */
static ssize_t import_read_stream(struct import_job *job, unsigned char *data, size_t len)
{
	size_t got = 0;
	while (got < len && !import_has_failed(job)) {
		struct pollfd p = { job->fd, POLLIN, 0 };
		ssize_t n = 0;
		/* A short wait, so that a failure elsewhere is seen soon. */
		if (poll(&p, 1, 100) > 0 && (n = read(job->fd, data + got, len - got)) == 0)
			return (ssize_t)got; /* the end of the stream */
		if (n < 0 && errno != EINTR && errno != EAGAIN)
			return -1;
		got += n > 0 ? (size_t)n : 0;
	}
	if (got < len) {
		errno = EINTR;
		return -1;
	}
	return (ssize_t)got;
}

/* The next block to read, or job->blocks when there is none (or it failed). */
static long long import_claim(struct import_job *job)
{
	pthread_mutex_lock(&job->lock);
	long long index = job->failed || job->eof ? job->blocks : job->next++;
	if (index > job->blocks)
		index = job->blocks;
	pthread_mutex_unlock(&job->lock);
	return index;
}

/* Claims a block and reads it into data (zeros past the end); -1 on error. */
static ssize_t import_read_block(struct import_job *job, unsigned char *data,
				 long long *index)
{
	ssize_t got;
	memset(data, 0, BLOCK_SIZE);
	if (!job->stream) {
		*index = import_claim(job);
		if (*index >= job->blocks)
			return 0;
		return pread(job->fd, data, BLOCK_SIZE, (off_t)*index * BLOCK_SIZE);
	}
	pthread_mutex_lock(&job->read_lock);
	*index = import_claim(job);
	got = *index < job->blocks ? import_read_stream(job, data, BLOCK_SIZE) : 0;
	if (got >= 0 && got < BLOCK_SIZE && *index < job->blocks) {
		pthread_mutex_lock(&job->lock);
		job->eof = 1;
		pthread_mutex_unlock(&job->lock);
	}
	pthread_mutex_unlock(&job->read_lock);
	return got;
}

static int import_is_zero(const unsigned char *p)
{
	return p[0] == 0 && !memcmp(p, p + 1, BLOCK_SIZE - 1);
}

static void *import_worker(void *arg)
{
	struct import_job *job = arg;
	struct import_http http = { .curl = curl_easy_init() };
	unsigned char *data = xmalloc(BLOCK_SIZE);
	for (;;) {
		long long index;
		ssize_t got = import_read_block(job, data, &index);
		if (got < 0) {
			char msg[128];
			snprintf(msg, sizeof msg, "reading the image: %s", strerror(errno));
			import_fail(job, msg);
			break;
		}
		if (index >= job->blocks)
			break;
		if (!import_is_zero(data)) {
			if (import_put_block(job, &http, index, data) < 0)
				break;
			job->written[index] = 1;
		}
		pthread_mutex_lock(&job->lock);
		job->done++;
		job->uploaded += !import_is_zero(data);
		int draw = job->done % 64 == 0;
		pthread_mutex_unlock(&job->lock);
		if (draw)
			import_progress(job, 0);
	}
	free(data);
	buf_release(&http.response);
	curl_easy_cleanup(http.curl);
	pthread_mutex_lock(&job->lock);
	job->workers--;
	pthread_mutex_unlock(&job->lock);
	return NULL;
}

/* Converts a non-raw image to a temporary raw file; *tmp gets its path. */
static int import_to_raw(const char *file, char *tmp, size_t cap, char *error,
			 size_t error_cap)
{
	char cmd[4096];
	struct buf out = BUF_INIT;
	tmp[0] = '\0';
	snprintf(cmd, sizeof cmd, "qemu-img info --output=json '%s' 2>/dev/null", file);
	if (strchr(file, '\'')) {
		snprintf(error, error_cap, "the file name may not contain a quote");
		return -1;
	}
	FILE *p = popen(cmd, "r");
	char chunk[4096];
	size_t n;
	while (p && (n = fread(chunk, 1, sizeof chunk, p)) > 0)
		buf_append(&out, chunk, n);
	int rc = p ? pclose(p) : -1;
	json_t *info = rc == 0 ? json_loadb(buf_str(&out), out.len, 0, NULL) : NULL;
	buf_release(&out);
	const char *format = info ? json_string_value(json_object_get(info, "format")) : NULL;
	if (!format || !strcmp(format, "raw")) {
		json_decref(info);
		return 0; /* raw, or no qemu-img: read the file as it is */
	}
	const char *dir = getenv("TMPDIR") ? getenv("TMPDIR") : "/tmp";
	snprintf(tmp, cap, "%s/amibox-import-XXXXXX", dir);
	int fd = mkstemp(tmp);
	if (fd < 0) {
		snprintf(error, error_cap, "cannot make a temporary file: %s", strerror(errno));
		json_decref(info);
		return -1;
	}
	close(fd);
	snprintf(cmd, sizeof cmd, "qemu-img convert -f '%s' -O raw '%s' '%s'", format,
		 file, tmp);
	json_decref(info);
	if (system(cmd) != 0) {
		snprintf(error, error_cap, "qemu-img could not convert '%s'", file);
		unlink(tmp);
		tmp[0] = '\0';
		return -1;
	}
	return 0;
}

static int import_start(struct import_http *http, const struct cli_client *c,
			long long gib, const char *description, char *snapshot_id,
			char *error, size_t cap)
{
	json_t *body = json_object();
	char token[37];
	ids_uuid(token);
	json_object_set_new(body, "VolumeSize", json_integer(gib));
	json_object_set_new(body, "ClientToken", json_string(token));
	if (description)
		json_object_set_new(body, "Description", json_string(description));
	char *text = json_dumps(body, JSON_COMPACT);
	json_decref(body);
	struct curl_slist *headers = curl_slist_append(NULL, "Content-Type: application/json");
	long status = import_send(http, c, "POST", "/snapshots", headers, text,
				  strlen(text), error, cap);
	free(text);
	if (status != 201)
		return -1;
	json_t *o = json_loadb(buf_str(&http->response), http->response.len, 0, NULL);
	const char *id = o ? json_string_value(json_object_get(o, "SnapshotId")) : NULL;
	if (id)
		snprintf(snapshot_id, ID_MAX, "%s", id);
	json_decref(o);
	if (!id)
		snprintf(error, cap, "StartSnapshot answered without a SnapshotId");
	return id ? 0 : -1;
}

static int import_complete(struct import_http *http, struct import_job *job,
			   char *error, size_t cap)
{
	struct buf digests = BUF_INIT, b64 = BUF_INIT;
	unsigned char aggregate[32];
	char header[160], path[128];
	long long count = 0;
	for (long long i = 0; i < job->blocks; i++) {
		if (!job->written[i])
			continue;
		buf_append(&digests, job->digests[i], 32);
		count++;
	}
	codec_sha256(digests.data ? digests.data : "", digests.len, aggregate);
	codec_base64(aggregate, 32, &b64);
	struct curl_slist *headers = NULL;
	snprintf(header, sizeof header, "x-amz-ChangedBlocksCount: %lld", count);
	headers = curl_slist_append(headers, header);
	snprintf(header, sizeof header, "x-amz-Checksum: %s", b64.data);
	headers = curl_slist_append(headers, header);
	headers = curl_slist_append(headers, "x-amz-Checksum-Algorithm: SHA256");
	headers = curl_slist_append(headers, "x-amz-Checksum-Aggregation-Method: LINEAR");
	snprintf(path, sizeof path, "/snapshots/completion/%s", job->snapshot_id);
	long status = import_send(http, job->client, "POST", path, headers, NULL, 0,
				  error, cap);
	buf_release(&digests);
	buf_release(&b64);
	return status == 202 ? 0 : -1;
}

static void import_usage(FILE *out)
{
	fprintf(out,
		"usage: amibox import FILE [--description D] [--endpoint-url URL]\n"
		"                          [--data DIR --account NAME] [--size GIB] [--no-progress]\n"
		"FILE is a raw, qcow2 or vmdk image, a block device, or a pipe ('-' for\n"
		"standard input, raw, with --size: a pipe has no size of its own).\n"
		"Credentials come from AWS_ACCESS_KEY_ID / AWS_SECRET_ACCESS_KEY, or from\n"
		"the account NAME (default 'default') of the data directory DIR.\n"
		"An import that fails or is interrupted deletes its unfinished snapshot.\n");
}

/*
 * Opens the image: its descriptor, size in bytes (for a pipe: --size), and
 * whether it is a stream.  -1 with a message.
 */
static int import_open(const char *file, const char *raw, long long size_gib,
		       struct import_job *job, long long *bytes, char *error, size_t cap)
{
	struct stat st;
	uint64_t device_bytes = 0;
	job->fd = !strcmp(file, "-") ? dup(STDIN_FILENO) : open(raw, O_RDONLY | O_CLOEXEC);
	if (job->fd < 0 || fstat(job->fd, &st) < 0) {
		snprintf(error, cap, "cannot read '%s': %s", file, strerror(errno));
		return -1;
	}
	if (S_ISREG(st.st_mode)) {
		*bytes = st.st_size;
	} else if (S_ISBLK(st.st_mode) && ioctl(job->fd, BLKGETSIZE64, &device_bytes) == 0) {
		*bytes = (long long)device_bytes;
	} else if (S_ISBLK(st.st_mode)) {
		snprintf(error, cap, "cannot size the device '%s': %s", file, strerror(errno));
		return -1;
	} else if (size_gib > 0) {
		job->stream = 1;
		*bytes = size_gib << 30;
	} else {
		snprintf(error, cap, "'%s' is a pipe, which has no size: give the volume's with --size GIB",
			 file);
		return -1;
	}
	if (size_gib > 0 && *bytes > size_gib << 30) {
		snprintf(error, cap, "'%s' holds %lld bytes, more than --size %lld GiB", file, *bytes,
			 size_gib);
		return -1;
	}
	return 0;
}

/*
 * Deletes the snapshot an import could not finish; or, when it cannot,
 * says which one is left and how to delete it.
 */
static void import_abandon(const struct cli_client *client, const char *snapshot_id)
{
	CURL *curl = curl_easy_init();
	struct buf response = BUF_INIT;
	char params[128], code[64], error[512] = "";
	snprintf(params, sizeof params, "Action=DeleteSnapshot&SnapshotId=%s", snapshot_id);
	long status = curl ? cli_client_ec2(client, curl, params, &response, code, error,
					    sizeof error) : -1;
	if (status == 200)
		fprintf(stderr, "amibox: deleted the unfinished snapshot %s\n", snapshot_id);
	else
		fprintf(stderr,
			"amibox: the unfinished snapshot %s was not deleted (%s); it keeps its "
			"blocks until it expires, an hour after its last block.  Delete it with:\n"
			"  aws --endpoint-url %s ec2 delete-snapshot --snapshot-id %s\n",
			snapshot_id, error[0] ? error : "no answer", client->endpoint, snapshot_id);
	buf_release(&response);
	if (curl)
		curl_easy_cleanup(curl);
}

/*
 * Runs the workers; SIGINT and SIGTERM (blocked in every thread, taken
 * here) make the import fail, so the workers stop at their next block.
 * Returns the signal that interrupted it, or 0.
 */
static int import_run(struct import_job *job, const sigset_t *stop)
{
	pthread_t threads[IMPORT_THREADS];
	int interrupted = 0, started = 0;
	for (int i = 0; i < IMPORT_THREADS; i++) {
		pthread_mutex_lock(&job->lock);
		job->workers++;
		pthread_mutex_unlock(&job->lock);
		if (pthread_create(&threads[i], NULL, import_worker, job) != 0) {
			pthread_mutex_lock(&job->lock);
			job->workers--;
			pthread_mutex_unlock(&job->lock);
			import_fail(job, "cannot start a thread");
			break;
		}
		started++;
	}
	for (;;) {
		pthread_mutex_lock(&job->lock);
		int running = job->workers;
		pthread_mutex_unlock(&job->lock);
		if (!running)
			break;
		struct timespec tick = { 0, 100 * 1000 * 1000 };
		int sig = sigtimedwait(stop, NULL, &tick);
		if (sig > 0 && !interrupted) {
			char msg[64];
			interrupted = sig;
			snprintf(msg, sizeof msg, "interrupted by %s", sig == SIGINT ? "SIGINT" : "SIGTERM");
			import_fail(job, msg);
			/* A second signal ends the process at once. */
			pthread_sigmask(SIG_UNBLOCK, stop, NULL);
		}
	}
	for (int i = 0; i < started; i++)
		pthread_join(threads[i], NULL);
	return interrupted;
}

int cli_import(int argc, char **argv)
{
	static const struct option options[] = {
		{ "description", required_argument, NULL, 'D' },
		{ "endpoint-url", required_argument, NULL, 'e' },
		{ "data", required_argument, NULL, 'd' },
		{ "account", required_argument, NULL, 'a' },
		{ "size", required_argument, NULL, 's' },
		{ "no-progress", no_argument, NULL, 'n' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	const char *description = NULL, *endpoint = NULL, *data = "./var";
	const char *account_name = NULL;
	long long size_gib = 0;
	int opt, no_progress = 0, status = 1, interrupted = 0;
	char error[512] = "", tmp[512] = "", snapshot_id[ID_MAX] = "";
	struct cli_client client;
	struct import_job job = { .client = &client, .fd = -1 };
	struct import_http http = { 0 };
	while ((opt = getopt_long(argc, argv, "", options, NULL)) != -1) {
		switch (opt) {
		case 'D': description = optarg; break;
		case 'e': endpoint = optarg; break;
		case 'd': data = optarg; break;
		case 'a': account_name = optarg; break;
		case 's': size_gib = atoll(optarg); break;
		case 'n': no_progress = 1; break;
		case 'h': import_usage(stdout); return 0;
		default: import_usage(stderr); return 2;
		}
	}
	if (optind + 1 != argc || size_gib < 0 || size_gib > 16384) {
		import_usage(stderr);
		return 2;
	}
	const char *file = argv[optind];
	/* Taken by import_run's sigtimedwait, never by a worker. */
	sigset_t stop;
	sigemptyset(&stop);
	sigaddset(&stop, SIGINT);
	sigaddset(&stop, SIGTERM);
	pthread_sigmask(SIG_BLOCK, &stop, NULL);
	curl_global_init(CURL_GLOBAL_DEFAULT);
	pthread_mutex_init(&job.lock, NULL);
	pthread_mutex_init(&job.read_lock, NULL);
	http.curl = curl_easy_init();
	struct stat st;
	/* A pipe is raw: probing its format would eat its first bytes. */
	int probe = strcmp(file, "-") != 0 && stat(file, &st) == 0 && !S_ISFIFO(st.st_mode) &&
		    !S_ISCHR(st.st_mode) && !S_ISSOCK(st.st_mode);
	long long bytes = 0;
	if (cli_client_setup(&client, "AWS_ENDPOINT_URL_EBS", endpoint, data, account_name, error,
				sizeof error) < 0 ||
	    (probe && import_to_raw(file, tmp, sizeof tmp, error, sizeof error) < 0) ||
	    import_open(file, tmp[0] ? tmp : file, size_gib, &job, &bytes, error,
			sizeof error) < 0)
		goto out;
	long long gib = (bytes + (1LL << 30) - 1) >> 30;
	if (gib < 1)
		gib = 1;
	job.blocks = (bytes + BLOCK_SIZE - 1) / BLOCK_SIZE;
	job.digests = xcalloc((size_t)job.blocks + 1, sizeof *job.digests);
	job.written = xcalloc((size_t)job.blocks + 1, 1);
	job.progress = !no_progress && isatty(STDERR_FILENO);
	job.start_ms = time(NULL) * 1000LL;
	if (import_start(&http, &client, gib, description, snapshot_id, error,
			 sizeof error) < 0)
		goto out;
	fprintf(stderr, "amibox: importing %s into %s\n", file, snapshot_id);
	job.snapshot_id = snapshot_id;
	interrupted = import_run(&job, &stop);
	import_progress(&job, 1);
	if (job.failed) {
		snprintf(error, sizeof error, "%s", job.error);
		goto out;
	}
	/* A pipe that holds more than --size said is refused, not cut. */
	unsigned char extra;
	if (job.stream && !job.eof && import_read_stream(&job, &extra, 1) > 0) {
		snprintf(error, sizeof error, "'%s' holds more than --size %lld GiB", file, size_gib);
		goto out;
	}
	if (import_complete(&http, &job, error, sizeof error) < 0)
		goto out;
	printf("%s\n", snapshot_id);
	status = 0;
out:
	if (status)
		fprintf(stderr, "amibox: import failed%s%s: %s\n",
			snapshot_id[0] ? " for " : "", snapshot_id, error);
	if (status && snapshot_id[0])
		import_abandon(&client, snapshot_id);
	if (job.fd >= 0)
		close(job.fd);
	if (tmp[0])
		unlink(tmp);
	free(job.digests);
	free(job.written);
	buf_release(&http.response);
	if (http.curl)
		curl_easy_cleanup(http.curl);
	pthread_mutex_destroy(&job.lock);
	pthread_mutex_destroy(&job.read_lock);
	curl_global_cleanup();
	return interrupted ? 128 + interrupted : status;
}
