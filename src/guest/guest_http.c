/* guest_http: a small HTTP/1.1 client for the guest tools (see guest_http.h). */
#include "guest/guest_http.h"

#include <errno.h>
#include <netdb.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <unistd.h>

int guest_url_parse(const char *text, struct guest_url *u)
{
	memset(u, 0, sizeof *u);
	if (strncmp(text, "http://", 7) != 0)
		return -1;
	const char *p = text + 7, *end = p + strcspn(p, "/");
	size_t alen = (size_t)(end - p);
	if (alen == 0 || alen >= sizeof u->authority || strlen(end) >= sizeof u->path)
		return -1;
	memcpy(u->authority, p, alen);
	snprintf(u->path, sizeof u->path, "%s", end);
	const char *port = NULL;
	if (p[0] == '[') {
		const char *close = memchr(p, ']', alen);
		if (!close || close - p - 1 >= (long)sizeof u->host)
			return -1;
		memcpy(u->host, p + 1, (size_t)(close - p - 1));
		if (close + 1 < end && close[1] == ':')
			port = close + 2;
	} else {
		const char *colon = memchr(p, ':', alen);
		size_t hlen = colon ? (size_t)(colon - p) : alen;
		if (hlen == 0 || hlen >= sizeof u->host)
			return -1;
		memcpy(u->host, p, hlen);
		if (colon)
			port = colon + 1;
	}
	size_t plen = port ? (size_t)(end - port) : 0;
	if (port && (plen == 0 || plen >= sizeof u->port || strspn(port, "0123456789") < plen))
		return -1;
	if (port)
		memcpy(u->port, port, plen);
	else
		snprintf(u->port, sizeof u->port, "80");
	return 0;
}

static int send_all(int fd, const void *data, size_t len)
{
	const char *p = data;
	while (len) {
		ssize_t n = send(fd, p, len, MSG_NOSIGNAL);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			return -1;
		p += n;
		len -= (size_t)n;
	}
	return 0;
}

static int connect_to(const struct guest_url *u, int timeout_s, char *error, size_t cap)
{
	struct addrinfo hints = { .ai_socktype = SOCK_STREAM, .ai_flags = AI_NUMERICSERV };
	struct addrinfo *list = NULL;
	/* Numbers first: a static binary may lack the resolver's modules. */
	hints.ai_flags |= AI_NUMERICHOST;
	int rc = getaddrinfo(u->host, u->port, &hints, &list);
	if (rc != 0) {
		hints.ai_flags &= ~AI_NUMERICHOST;
		rc = getaddrinfo(u->host, u->port, &hints, &list);
	}
	if (rc != 0) {
		snprintf(error, cap, "cannot resolve %s: %s", u->host, gai_strerror(rc));
		return -1;
	}
	int fd = -1, last = 0;
	for (struct addrinfo *a = list; a && fd < 0; a = a->ai_next) {
		fd = socket(a->ai_family, a->ai_socktype | SOCK_CLOEXEC, a->ai_protocol);
		if (fd < 0)
			continue;
		struct timeval tv = { .tv_sec = timeout_s };
		setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
		setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof tv);
		if (connect(fd, a->ai_addr, a->ai_addrlen) < 0) {
			last = errno;
			close(fd);
			fd = -1;
		}
	}
	freeaddrinfo(list);
	if (fd < 0)
		snprintf(error, cap, "cannot connect to %s: %s", u->authority,
			 strerror(last ? last : EHOSTUNREACH));
	return fd;
}

/* Decodes a chunked body in place; -1 when it is malformed. */
static int dechunk(struct buf *body)
{
	struct buf out = BUF_INIT;
	size_t at = 0;
	for (;;) {
		char *line_end = body->data ? memchr(body->data + at, '\n', body->len - at) : NULL;
		if (!line_end)
			goto bad;
		char *endp;
		unsigned long long n = strtoull(body->data + at, &endp, 16);
		if (endp == body->data + at)
			goto bad;
		at = (size_t)(line_end - body->data) + 1;
		if (n == 0)
			break;
		if (n > body->len - at)
			goto bad;
		buf_append(&out, body->data + at, (size_t)n);
		at += (size_t)n;
		if (at < body->len && body->data[at] == '\r')
			at++;
		if (at < body->len && body->data[at] == '\n')
			at++;
	}
	buf_release(body);
	*body = out;
	if (!body->data)
		buf_append(body, "", 0);
	return 0;
bad:
	buf_release(&out);
	return -1;
}

/* The Content-Length of a header block, or -1 when it has none. */
static long long content_length(const char *head, size_t len)
{
	const char *p = head, *end = head + len;
	while (p && p < end) {
		if (!strncasecmp(p, "Content-Length:", 15))
			return strtoll(p + 15, NULL, 10);
		const char *nl = memchr(p, '\n', (size_t)(end - p));
		p = nl ? nl + 1 : NULL;
	}
	return -1;
}

int guest_http(const struct guest_url *u, const char *method, const char *target,
	       const char *const *headers, const void *body, size_t len, int timeout_s,
	       struct guest_answer *a, char *error, size_t cap)
{
	memset(a, 0, sizeof *a);
	int fd = connect_to(u, timeout_s, error, cap);
	if (fd < 0)
		return -1;
	struct buf req = BUF_INIT, in = BUF_INIT;
	int ret = -1;
	buf_printf(&req, "%s %s HTTP/1.1\r\nHost: %s\r\n", method, target, u->authority);
	for (size_t i = 0; headers && headers[i]; i++)
		buf_printf(&req, "%s\r\n", headers[i]);
	if (body || strcmp(method, "GET") != 0)
		buf_printf(&req, "Content-Length: %zu\r\n", len);
	buf_append_str(&req, "Connection: close\r\n\r\n");
	if (send_all(fd, req.data, req.len) < 0 || (len && send_all(fd, body, len) < 0)) {
		snprintf(error, cap, "sending to %s: %s", u->authority, strerror(errno));
		goto out;
	}
	char chunk[65536];
	for (;;) {
		ssize_t n = recv(fd, chunk, sizeof chunk, 0);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0) {
			snprintf(error, cap, "reading from %s: %s", u->authority,
				 errno == EAGAIN ? "no answer in time" : strerror(errno));
			goto out;
		}
		if (n == 0)
			break;
		buf_append(&in, chunk, (size_t)n);
		/* HEAD answers and known lengths end before the server closes. */
		char *head_end = strstr(buf_str(&in), "\r\n\r\n");
		if (head_end) {
			size_t head = (size_t)(head_end - in.data) + 4;
			long long cl = content_length(in.data, head);
			if (!strcmp(method, "HEAD") || (cl >= 0 && in.len - head >= (size_t)cl))
				break;
		}
	}
	const char *text = buf_str(&in);
	char *head_end = strstr(text, "\r\n\r\n");
	if (strncmp(text, "HTTP/1.", 7) != 0 || !head_end || sscanf(text + 8, " %d", &a->status) != 1) {
		snprintf(error, cap, "%s did not answer in HTTP", u->authority);
		goto out;
	}
	size_t head = (size_t)(head_end - text);
	buf_append(&a->headers, text, head + 2);
	if (strcmp(method, "HEAD") != 0)
		buf_append(&a->body, text + head + 4, in.len - head - 4);
	else
		buf_append(&a->body, "", 0);
	char te[64];
	guest_answer_header(a, "Transfer-Encoding", te, sizeof te);
	if (!strcasecmp(te, "chunked") && dechunk(&a->body) < 0) {
		snprintf(error, cap, "%s sent a malformed chunked answer", u->authority);
		goto out;
	}
	ret = 0;
out:
	close(fd);
	buf_release(&req);
	buf_release(&in);
	if (ret < 0)
		guest_answer_release(a);
	return ret;
}

void guest_answer_header(const struct guest_answer *a, const char *name, char *out, size_t cap)
{
	size_t n = strlen(name);
	out[0] = '\0';
	const char *p = a->headers.data ? strstr(a->headers.data, "\r\n") : NULL;
	for (; p && p[2]; p = strstr(p + 2, "\r\n")) {
		const char *line = p + 2;
		if (!strncasecmp(line, name, n) && line[n] == ':') {
			const char *v = line + n + 1;
			v += strspn(v, " \t");
			size_t vlen = strcspn(v, "\r\n");
			snprintf(out, cap, "%.*s", (int)vlen, v);
			return;
		}
	}
}

void guest_answer_release(struct guest_answer *a)
{
	buf_release(&a->headers);
	buf_release(&a->body);
}
