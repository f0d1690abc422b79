/*
 * ops: GET /metrics and GET /health, and the collectors behind the server's
 * own gauges (see ops.h).
 *
 * Everything a scrape reads it reads then: the catalog's counts through
 * this thread's connection (WAL readers wait for nobody), the QEMU
 * processes from /proc.  No lock of the API or of compute is taken.
 */
#include "api/ops.h"
#include "api/respcache.h"

#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "api/metrics.h"
#include "catalog/catalog_instances.h"
#include "catalog/catalog_stats.h"
#include "compute/compute.h"
#include "util/ids.h"
#include "util/log.h"

#define OPS_BLOCK_BYTES (512.0 * 1024.0)
#define OPS_GIB (1024.0 * 1024.0 * 1024.0)

int ops_claim(const struct api_route *route)
{
	if (route->authorization || route->query[0])
		return 0;
	return !strcmp(route->path, "/metrics") || !strcmp(route->path, "/health") ||
	       !strcmp(route->path, "/healthz");
}

static void ops_json(struct request *req, int status, json_t *body)
{
	char *text = json_dumps(body, JSON_COMPACT);
	req->status = status;
	req->content_type = "application/json";
	buf_append_str(&req->response, text ? text : "{}");
	buf_append_char(&req->response, '\n');
	free(text);
	json_decref(body);
}

/*
 * 200 when the catalog can be read afresh from its file, 503 otherwise; the
 * reason goes to the log, not to an unauthenticated caller.
 */
static void ops_health(struct request *req)
{
	struct server *srv = req->srv;
	struct err e = ERR_INIT;
	int catalog_ok = catalog_stats_probe(srv->cat, &e) == 0;
	if (!catalog_ok)
		log_warn("health: %s", e.message);
	long long uptime = (ids_now_ms() - srv->started_ms) / 1000;
	json_t *body = json_pack("{s:s, s:s, s:I, s:s, s:s}",
				 "status", catalog_ok ? "ok" : "unavailable",
				 "version", srv->version ? srv->version : "",
				 "uptime_seconds", (json_int_t)(uptime > 0 ? uptime : 0),
				 "catalog", catalog_ok ? "ok" : "unreadable",
				 "accelerator", srv->compute ? compute_accel(srv->compute) : "none");
	ops_json(req, catalog_ok ? 200 : 503, body);
}

void ops_answer(struct request *req)
{
	int metrics = !strcmp(req->path, "/metrics");
	snprintf(req->action, sizeof req->action, "%s", metrics ? "metrics" : "health");
	if (strcmp(req->method, "GET") != 0 && strcmp(req->method, "HEAD") != 0) {
		api_add_header(req, "Allow", "GET, HEAD");
		req->status = 405;
		req->content_type = "text/plain; charset=utf-8";
		buf_append_str(&req->response, "Only GET and HEAD are answered here.\n");
		return;
	}
	if (!metrics) {
		ops_health(req);
		return;
	}
	req->status = 200;
	req->content_type = METRICS_CONTENT_TYPE;
	if (req->srv->metrics)
		metrics_render(req->srv->metrics, &req->response);
}

/* ---- the server's collectors ------------------------------------------- */

/* Writes a by-state family, every state in states first (0 when none). */
static void ops_by_state(struct buf *out, const char *name, const char *help,
			 const char *const *states, const struct catalog_state_count *rows,
			 size_t nrows, int sums, double unit)
{
	metrics_family(out, name, "gauge", help);
	for (size_t i = 0; states[i]; i++) {
		double value = 0;
		for (size_t r = 0; r < nrows; r++)
			if (!strcmp(rows[r].state, states[i]))
				value = sums ? (double)rows[r].sum * unit : (double)rows[r].count;
		metrics_sample(out, name, value, "state", states[i], NULL);
	}
	/* A state of a later release, written by it into the same catalog. */
	for (size_t r = 0; r < nrows; r++) {
		int known = 0;
		for (size_t i = 0; states[i] && !known; i++)
			known = !strcmp(rows[r].state, states[i]);
		if (!known)
			metrics_sample(out, name, sums ? (double)rows[r].sum * unit : (double)rows[r].count,
				       "state", rows[r].state, NULL);
	}
}

static int ops_collect_resources(void *ctx, struct buf *out, struct err *e)
{
	static const char *const instance_states[] = { "pending", "running", "shutting-down",
						       "terminated", "stopping", "stopped", NULL };
	static const char *const volume_states[] = { "creating", "available", "in-use",
						     "deleting", "error", NULL };
	static const char *const image_states[] = { "pending", "available", "failed",
						    "deregistered", NULL };
	struct server *srv = ctx;
	struct catalog_state_count rows[CATALOG_STATS_STATES_MAX];
	size_t n;
	if (catalog_stats_instances(srv->cat, rows, CATALOG_STATS_STATES_MAX, &n, e) < 0)
		return -1;
	ops_by_state(out, "amibox_instances", "Instances by state (terminated ones until purged).",
		     instance_states, rows, n, 0, 1);
	if (catalog_stats_volumes(srv->cat, rows, CATALOG_STATS_STATES_MAX, &n, e) < 0)
		return -1;
	ops_by_state(out, "amibox_volumes", "EBS volumes by state.", volume_states, rows, n, 0, 1);
	ops_by_state(out, "amibox_volume_provisioned_bytes",
		     "Provisioned size of the EBS volumes by state, in bytes.", volume_states,
		     rows, n, 1, OPS_GIB);
	if (catalog_stats_images(srv->cat, rows, CATALOG_STATS_STATES_MAX, &n, e) < 0)
		return -1;
	ops_by_state(out, "amibox_images", "Images (AMIs, AKIs, ARIs) by state.", image_states,
		     rows, n, 0, 1);
	return 0;
}

static int ops_collect_stores(void *ctx, struct buf *out, struct err *e)
{
	struct server *srv = ctx;
	struct catalog_store_stats st;
	if (catalog_stats_store(srv->cat, &st, e) < 0)
		return -1;
	double logical = (double)st.logical_blocks * OPS_BLOCK_BYTES;
	double unique = (double)st.chunks * OPS_BLOCK_BYTES;
	metrics_family(out, "amibox_snapshots", "gauge", "EBS snapshots (all states).");
	metrics_sample(out, "amibox_snapshots", (double)st.snapshots, NULL);
	metrics_family(out, "amibox_chunkstore_logical_bytes", "gauge",
		       "Data the snapshots hold, each counted whole: non-zero 512 KiB blocks "
		       "of every snapshot's block map, in bytes.");
	metrics_sample(out, "amibox_chunkstore_logical_bytes", logical, NULL);
	metrics_family(out, "amibox_chunkstore_unique_bytes", "gauge",
		       "Distinct blocks in the chunk store, uncompressed, in bytes.");
	metrics_sample(out, "amibox_chunkstore_unique_bytes", unique, NULL);
	metrics_family(out, "amibox_chunkstore_stored_bytes", "gauge",
		       "Size of the chunk files on disk (zstd), in bytes.");
	metrics_sample(out, "amibox_chunkstore_stored_bytes", (double)st.chunk_bytes, NULL);
	metrics_family(out, "amibox_chunkstore_chunks", "gauge", "Chunk files in the chunk store.");
	metrics_sample(out, "amibox_chunkstore_chunks", (double)st.chunks, NULL);
	metrics_family(out, "amibox_chunkstore_dedup_ratio", "gauge",
		       "Logical bytes over unique bytes: what deduplication across snapshots "
		       "saves (1 when nothing is stored).");
	metrics_sample(out, "amibox_chunkstore_dedup_ratio", unique > 0 ? logical / unique : 1,
		       NULL);
	metrics_family(out, "amibox_objectstore_bytes", "gauge",
		       "Bytes of the S3 objects (bundles included).");
	metrics_sample(out, "amibox_objectstore_bytes", (double)st.object_bytes, NULL);
	metrics_family(out, "amibox_objectstore_objects", "gauge", "S3 objects.");
	metrics_sample(out, "amibox_objectstore_objects", (double)st.objects, NULL);
	metrics_family(out, "amibox_objectstore_buckets", "gauge", "S3 buckets.");
	metrics_sample(out, "amibox_objectstore_buckets", (double)st.buckets, NULL);
	return 0;
}

struct ops_machines {
	struct server *srv;
	struct instance probe; /* only id and pid are read */
	long long alive;
};

static int ops_count_machine(void *ctx, const char *instance_id, long long pid)
{
	struct ops_machines *count = ctx;
	snprintf(count->probe.id, sizeof count->probe.id, "%s", instance_id);
	count->probe.pid = pid;
	count->alive += compute_machine_alive(count->srv->compute, &count->probe);
	return 0;
}

static int ops_collect_compute(void *ctx, struct buf *out, struct err *e)
{
	struct ops_machines *count = xcalloc(1, sizeof *count);
	count->srv = ctx;
	int ret = -1;
	if (count->srv->compute &&
	    catalog_stats_machines(count->srv->cat, ops_count_machine, count, e) < 0)
		goto out;
	metrics_family(out, "amibox_qemu_processes", "gauge",
		       "QEMU processes running for instances (checked in /proc at each scrape).");
	metrics_sample(out, "amibox_qemu_processes", (double)count->alive, NULL);
	ret = 0;
out:
	free(count);
	return ret;
}

static int ops_collect_build(void *ctx, struct buf *out, struct err *e)
{
	struct server *srv = ctx;
	(void)e;
	metrics_family(out, "amibox_build_info", "gauge", "The release of the running daemon.");
	metrics_sample(out, "amibox_build_info", 1, "version", srv->version ? srv->version : "",
		       NULL);
	metrics_family(out, "amibox_start_time_seconds", "gauge",
		       "When the daemon started, in seconds since the epoch.");
	metrics_sample(out, "amibox_start_time_seconds", (double)srv->started_ms / 1000.0, NULL);
	return 0;
}

/* Kept answers (api/respcache.h): how often a Describe was answered from one. */
static int ops_collect_responses(void *ctx, struct buf *out, struct err *e)
{
	struct server *srv = ctx;
	unsigned long long hits = 0, misses = 0;
	(void)e;
	if (!srv->responses)
		return 0;
	respcache_counts(srv->responses, &hits, &misses);
	metrics_family(out, "amibox_response_cache_lookups_total", "counter",
		       "Cacheable calls (DescribeImages, DescribeSnapshots), by whether a kept "
		       "answer served them.");
	metrics_sample(out, "amibox_response_cache_lookups_total", (double)hits, "result", "hit",
		       NULL);
	metrics_sample(out, "amibox_response_cache_lookups_total", (double)misses, "result",
		       "miss", NULL);
	return 0;
}

void ops_register(struct server *srv)
{
	metrics_collector_add(srv->metrics, "build", ops_collect_build, srv);
	metrics_collector_add(srv->metrics, "responses", ops_collect_responses, srv);
	metrics_collector_add(srv->metrics, "resources", ops_collect_resources, srv);
	metrics_collector_add(srv->metrics, "stores", ops_collect_stores, srv);
	metrics_collector_add(srv->metrics, "compute", ops_collect_compute, srv);
}
