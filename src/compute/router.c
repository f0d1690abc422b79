/*
 * router: one VPC's network namespace and everything in it (see router.h).
 *
 * Design notes
 *
 * One thread, one epoll loop.  The process starts in the host's network
 * namespace, keeps a descriptor of it, and unshares into a new one; sockets
 * that must live on the host side (public listeners, the relay to the
 * daemon's API) are made by switching to the host namespace for the socket
 * call and back (a socket stays in the namespace it was made in).
 *
 * Invariants:
 *  1. Every packet between instances passes the nftables forward chain:
 *     the sender's egress rules and the receiver's ingress rules, or an
 *     established connection.  A tap's packets must come from its own
 *     address (DHCP excepted), so the source address names the instance
 *     (the metadata service relies on it).
 *  2. A public connection is relayed only when the instance's ingress rules
 *     allow the caller's address, protocol and port at accept time.
 *  3. The namespace has no device but lo and the taps: nothing routes out.
 */
#include "compute/router.h"

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <linux/if_tun.h>
#include <net/if.h>
#include <netinet/in.h>
#include <poll.h>
#include <sched.h>
#include <signal.h>
#include <spawn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "compute/dhcp.h"
#include "util/buf.h"
#include "util/log.h"

extern char **environ;

#define ROUTER_METADATA_IP 0xa9fea9feu /* 169.254.169.254 */
#define ROUTER_API_PORT 8773
#define ROUTER_RELAY_BUF (64 * 1024)

enum router_kind {
	K_CONTROL, K_DHCP, K_IMDS, K_API, K_PUBLIC, K_RELAY_A, K_RELAY_B, K_FLOW,
};

#define ROUTER_FLOW_IDLE_MS 60000 /* a UDP flow forgotten after a minute of silence */

/* What an epoll event points at. */
struct router_handle {
	enum router_kind kind;
	void *ptr;
};

/* A public address's port (TCP or UDP) in the host's namespace. */
struct router_listener {
	struct router_handle h; /* first: the event's pointer is the listener's */
	uint32_t public_ip;
	int port;
	int protocol;           /* 6 or 17 */
	int fd;
	int keep;               /* marked during a reconcile */
	struct router_listener *next;
};

/* One caller's UDP exchange with an instance through a public port. */
struct router_flow {
	struct router_handle h; /* first */
	struct router_listener *listener;
	struct sockaddr_in client;
	int fd;                 /* connected to the instance, in the VPC's namespace */
	long long last_ms;
	int dead;               /* closed; freed by router_reap */
	struct router_flow *next;
};

/* Two sockets whose bytes are copied both ways. */
struct router_relay {
	struct router_handle ha, hb;
	int fd[2];
	struct buf pending[2]; /* bytes read from fd[i], not yet written to fd[1-i] */
	int eof[2];            /* fd[i] reached its end */
	int connecting;        /* fd[1] is still connecting */
	int dead;              /* closed; freed by router_reap */
	struct router_relay *next;
};

struct router {
	const struct router_options *opt;
	int host_ns, vpc_ns;
	int epoll;
	int control_fd, dhcp_fd, imds_fd, api_fd;
	struct router_handle h_control, h_dhcp, h_imds, h_api;
	struct network_port *ports;
	size_t nports;
	struct router_listener *listeners;
	struct router_flow *flows;
	struct router_relay *relays;
	struct buf ruleset; /* the nftables ruleset last applied */
	int quit;
};

static volatile sig_atomic_t router_signalled;

static void router_on_signal(int sig)
{
	(void)sig;
	router_signalled = 1;
}

void router_paths(const char *data_dir, const char *vpc_id, struct buf *sock, struct buf *pid)
{
	if (sock)
		buf_printf(sock, "%s/vpcs/%s/router.sock", data_dir, vpc_id);
	if (pid)
		buf_printf(pid, "%s/vpcs/%s/router.pid", data_dir, vpc_id);
}

void router_tap_name(const char *eni_id, char out[16])
{
	const char *hex = strncmp(eni_id, "eni-", 4) ? eni_id : eni_id + 4;
	snprintf(out, 16, "a%.14s", hex);
}

/* ---- running commands in the namespace ---------------------------------- */

/* Runs argv (in the router's namespace) with text on its stdin; 0 on exit 0. */
static int router_command(char *const argv[], const char *text, struct err *e)
{
	int in[2];
	if (pipe2(in, O_CLOEXEC) < 0)
		return err_internal(e, "pipe: %s", strerror(errno));
	posix_spawn_file_actions_t fa;
	posix_spawn_file_actions_init(&fa);
	posix_spawn_file_actions_adddup2(&fa, in[0], 0);
	pid_t pid;
	int rc = posix_spawnp(&pid, argv[0], &fa, NULL, argv, environ);
	posix_spawn_file_actions_destroy(&fa);
	close(in[0]);
	if (rc != 0) {
		close(in[1]);
		return err_internal(e, "cannot run %s: %s", argv[0], strerror(rc));
	}
	size_t len = text ? strlen(text) : 0, done = 0;
	while (done < len) {
		ssize_t n = write(in[1], text + done, len - done);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			break;
		done += (size_t)n;
	}
	close(in[1]);
	int status = 0;
	while (waitpid(pid, &status, 0) < 0 && errno == EINTR)
		;
	if (!WIFEXITED(status) || WEXITSTATUS(status) != 0)
		return err_internal(e, "%s failed (status %d)", argv[0], status);
	return 0;
}

static void router_sysctl(const char *path, const char *value)
{
	int fd = open(path, O_WRONLY | O_CLOEXEC);
	if (fd < 0 || write(fd, value, strlen(value)) < 0)
		log_warn("router: cannot set %s: %s", path, strerror(errno));
	if (fd >= 0)
		close(fd);
}

/* ---- sockets -------------------------------------------------------------- */

static void router_watch(struct router *r, int fd, struct router_handle *h, uint32_t events)
{
	struct epoll_event ev = { .events = events, .data.ptr = h };
	if (epoll_ctl(r->epoll, EPOLL_CTL_ADD, fd, &ev) < 0)
		log_warn("router: epoll_ctl: %s", strerror(errno));
}

/* A socket in the host's namespace (public listeners, the API relay). */
static int router_host_socket(struct router *r, int domain, int type)
{
	if (setns(r->host_ns, CLONE_NEWNET) < 0)
		return -1;
	int fd = socket(domain, type | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
	int saved = errno;
	if (setns(r->vpc_ns, CLONE_NEWNET) < 0) {
		/* Stuck on the wrong side: nothing else would be safe. */
		log_error("router: cannot return to the VPC's namespace: %s", strerror(errno));
		abort();
	}
	errno = saved;
	return fd;
}

static int router_listen_tcp(int fd, uint32_t ip, int port)
{
	int one = 1;
	setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
	struct sockaddr_in sa = { .sin_family = AF_INET, .sin_port = htons((uint16_t)port),
				  .sin_addr.s_addr = htonl(ip) };
	if (bind(fd, (struct sockaddr *)&sa, sizeof sa) < 0 || listen(fd, 64) < 0)
		return -1;
	return 0;
}

/* ---- ports ----------------------------------------------------------------- */

static const struct network_port *router_port_by_ip(const struct router *r, uint32_t ip)
{
	for (size_t i = 0; i < r->nports; i++)
		if (r->ports[i].ip == ip)
			return &r->ports[i];
	return NULL;
}

static const struct network_port *router_port_by_public_ip(const struct router *r, uint32_t ip)
{
	for (size_t i = 0; i < r->nports; i++)
		if (r->ports[i].public_ip && r->ports[i].public_ip == ip)
			return &r->ports[i];
	return NULL;
}

static const struct network_port *router_port_by_eni(const struct router *r, const char *eni)
{
	for (size_t i = 0; i < r->nports; i++)
		if (!strcmp(r->ports[i].eni_id, eni))
			return &r->ports[i];
	return NULL;
}

/* Addresses and routes of a port's tap (idempotent: `ip -force`). */
static int router_configure_tap(struct router *r, const struct network_port *p, struct err *e)
{
	(void)r;
	char tap[16], ip[16], gw[16], path[96];
	router_tap_name(p->eni_id, tap);
	if (if_nametoindex(tap) == 0)
		return 0; /* not created yet (its instance is not booting) */
	network_ip_text(p->ip, ip);
	network_ip_text(p->gateway, gw);
	struct buf cmds = BUF_INIT;
	buf_printf(&cmds,
		   "link set dev %s up\n"
		   "address replace %s/32 dev %s\n"
		   "route replace %s/32 dev %s src %s\n",
		   tap, gw, tap, ip, tap, gw);
	char *argv[] = { "ip", "-batch", "-", NULL };
	int rc = router_command(argv, cmds.data, e);
	buf_release(&cmds);
	snprintf(path, sizeof path, "/proc/sys/net/ipv4/conf/%s/proxy_arp", tap);
	router_sysctl(path, "1");
	return rc;
}

/* ---- nftables -------------------------------------------------------------- */

static void router_nft_match(struct buf *b, const struct network_rule *rule)
{
	char net[16];
	network_ip_text(rule->net, net);
	int prefix = __builtin_popcount(rule->mask);
	const char *dir = rule->egress ? "daddr" : "saddr";
	if (prefix > 0)
		buf_printf(b, " ip %s %s/%d", dir, net, prefix);
	if (rule->protocol == 6 || rule->protocol == 17) {
		const char *proto = rule->protocol == 6 ? "tcp" : "udp";
		if (rule->from_port < 0)
			buf_printf(b, " meta l4proto %s", proto);
		else
			buf_printf(b, " %s dport %d-%d", proto, rule->from_port, rule->to_port);
	} else if (rule->protocol == 1) {
		buf_printf(b, " meta l4proto icmp");
		if (rule->from_port >= 0)
			buf_printf(b, " icmp type %d", rule->from_port);
		if (rule->from_port >= 0 && rule->to_port >= 0)
			buf_printf(b, " icmp code %d", rule->to_port);
	} else if (rule->protocol >= 0) {
		buf_printf(b, " meta l4proto %d", rule->protocol);
	}
}

/*
 * The whole ruleset, replaced atomically.  Forward: the sender's egress
 * chain jumps, for each rule that matches, to the receiver's ingress chain,
 * which accepts what its rules allow; what no pair of rules lets through
 * meets the policy, drop.
 */
static void router_ruleset(const struct router *r, struct buf *b)
{
	char tap[16], ip[16];
	buf_append_str(b, "flush ruleset\ntable inet amibox {\n");
	buf_append_str(b, " chain input {\n  type filter hook input priority 0; policy drop;\n"
			  "  iifname \"lo\" accept\n  ct state established,related accept\n");
	for (size_t i = 0; i < r->nports; i++) {
		const struct network_port *p = &r->ports[i];
		router_tap_name(p->eni_id, tap);
		network_ip_text(p->ip, ip);
		buf_printf(b, "  iifname \"%s\" udp sport 68 udp dport 67 accept\n", tap);
		buf_printf(b, "  iifname \"%s\" ip saddr != %s drop\n", tap, ip);
	}
	buf_printf(b, "  ip daddr 169.254.169.254 tcp dport { 80, %d } accept\n"
		      "  icmp type echo-request accept\n }\n", ROUTER_API_PORT);
	buf_append_str(b, " chain forward {\n  type filter hook forward priority 0; policy drop;\n"
			  "  ct state established,related accept\n  ct state invalid drop\n");
	for (size_t i = 0; i < r->nports; i++) {
		router_tap_name(r->ports[i].eni_id, tap);
		buf_printf(b, "  iifname \"%s\" jump out_%zu\n", tap, i);
	}
	buf_append_str(b, " }\n chain deliver {\n");
	for (size_t i = 0; i < r->nports; i++) {
		router_tap_name(r->ports[i].eni_id, tap);
		buf_printf(b, "  oifname \"%s\" jump in_%zu\n", tap, i);
	}
	buf_append_str(b, " }\n");
	for (size_t i = 0; i < r->nports; i++) {
		const struct network_port *p = &r->ports[i];
		network_ip_text(p->ip, ip);
		buf_printf(b, " chain out_%zu {\n  ip saddr != %s drop\n", i, ip);
		for (size_t k = 0; k < p->nrules; k++) {
			if (!p->rules[k].egress)
				continue;
			buf_append_str(b, " ");
			router_nft_match(b, &p->rules[k]);
			buf_append_str(b, " jump deliver\n");
		}
		buf_printf(b, " }\n chain in_%zu {\n", i);
		for (size_t k = 0; k < p->nrules; k++) {
			if (p->rules[k].egress)
				continue;
			buf_append_str(b, " ");
			router_nft_match(b, &p->rules[k]);
			buf_append_str(b, " accept\n");
		}
		buf_append_str(b, " }\n");
	}
	buf_append_str(b, " chain output {\n  type filter hook output priority 0; policy accept;\n"
			  " }\n}\n");
}

static int router_apply_rules(struct router *r, struct err *e)
{
	struct buf want = BUF_INIT;
	router_ruleset(r, &want);
	int ret = 0;
	if (!r->ruleset.data || strcmp(r->ruleset.data, want.data) != 0) {
		char *argv[] = { "nft", "-f", "-", NULL };
		ret = router_command(argv, want.data, e);
		if (ret == 0) {
			buf_reset(&r->ruleset);
			buf_append(&r->ruleset, want.data, want.len);
		}
	}
	buf_release(&want);
	return ret;
}

/* ---- public addresses ------------------------------------------------------ */

static long long router_now_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* Ends a flow: as router_relay_free, its memory goes in router_reap. */
static void router_flow_free(struct router *r, struct router_flow *f)
{
	if (f->dead)
		return;
	epoll_ctl(r->epoll, EPOLL_CTL_DEL, f->fd, NULL);
	close(f->fd);
	f->dead = 1;
}

/* Frees the relays and flows that ended during a batch of events. */
static void router_reap(struct router *r)
{
	for (struct router_relay **p = &r->relays; *p;) {
		struct router_relay *x = *p;
		if (!x->dead) {
			p = &x->next;
			continue;
		}
		*p = x->next;
		free(x);
	}
	for (struct router_flow **p = &r->flows; *p;) {
		struct router_flow *f = *p;
		if (!f->dead) {
			p = &f->next;
			continue;
		}
		*p = f->next;
		free(f);
	}
}

/* Marks (or opens) the listener for ip:port/protocol; 1 when one is open. */
static int router_keep_listener(struct router *r, uint32_t ip, int port, int protocol)
{
	for (struct router_listener *l = r->listeners; l; l = l->next)
		if (l->public_ip == ip && l->port == port && l->protocol == protocol) {
			l->keep = 1;
			return 1;
		}
	int fd = router_host_socket(r, AF_INET, protocol == 6 ? SOCK_STREAM : SOCK_DGRAM);
	struct sockaddr_in sa = { .sin_family = AF_INET, .sin_port = htons((uint16_t)port),
				  .sin_addr.s_addr = htonl(ip) };
	if (fd < 0 || (protocol == 6 ? router_listen_tcp(fd, ip, port) :
				       bind(fd, (struct sockaddr *)&sa, sizeof sa)) < 0) {
		char text[16];
		network_ip_text(ip, text);
		log_warn("router %s: cannot listen on %s:%d/%s: %s", r->opt->vpc_id, text, port,
			 protocol == 6 ? "tcp" : "udp", strerror(errno));
		if (fd >= 0)
			close(fd);
		return 0;
	}
	struct router_listener *l = xcalloc(1, sizeof *l);
	*l = (struct router_listener){ { K_PUBLIC, NULL }, ip, port, protocol, fd, 1, r->listeners };
	r->listeners = l;
	router_watch(r, fd, &l->h, EPOLLIN);
	return 1;
}

/* Whether a rule opens port/protocol to some caller on the host (127.0.0.0/8). */
static int router_rule_opens(const struct network_rule *rule, int port, int protocol)
{
	uint32_t common = rule->mask & 0xff000000u;
	if (rule->egress || (rule->net & common) != (0x7f000000u & common))
		return 0;
	if (rule->protocol == -1)
		return 1;
	return rule->protocol == protocol &&
	       (rule->from_port < 0 || (port >= rule->from_port && port <= rule->to_port));
}

/*
 * Listeners for every TCP and UDP port a port's ingress rules open to a
 * caller on the host, up to the cap per protocol; the others close (with
 * their UDP flows).
 */
static void router_reconcile_listeners(struct router *r)
{
	static const int protocols[] = { 6, 17 };
	for (struct router_listener *l = r->listeners; l; l = l->next)
		l->keep = 0;
	for (size_t i = 0; i < r->nports; i++) {
		const struct network_port *p = &r->ports[i];
		if (!p->public_ip)
			continue;
		for (size_t k = 0; k < 2; k++) {
			int opened = 0;
			for (int port = 1; port <= 65535; port++) {
				int open = 0;
				for (size_t j = 0; j < p->nrules && !open; j++)
					open = router_rule_opens(&p->rules[j], port, protocols[k]);
				if (!open)
					continue;
				if (opened == r->opt->max_public_ports) {
					log_warn("router %s: %s opens more than %d %s ports; the first %d "
						 "are forwarded", r->opt->vpc_id, p->instance_id, opened,
						 protocols[k] == 6 ? "TCP" : "UDP", opened);
					break;
				}
				opened += router_keep_listener(r, p->public_ip, port, protocols[k]);
			}
		}
	}
	for (struct router_listener **lp = &r->listeners; *lp;) {
		struct router_listener *l = *lp;
		if (l->keep) {
			lp = &l->next;
			continue;
		}
		for (struct router_flow *f = r->flows; f; f = f->next)
			if (f->listener == l)
				router_flow_free(r, f);
		*lp = l->next;
		epoll_ctl(r->epoll, EPOLL_CTL_DEL, l->fd, NULL);
		close(l->fd);
		free(l);
	}
}

/* ---- reload ---------------------------------------------------------------- */

static int router_reload(struct router *r, struct err *e)
{
	struct network_port *ports = NULL;
	size_t n = 0;
	if (r->opt->source.ports(r->opt->source.ctx, r->opt->vpc_id, &ports, &n, e) < 0)
		return -1;
	network_ports_free(r->ports, r->nports);
	r->ports = ports;
	r->nports = n;
	int ret = 0;
	for (size_t i = 0; i < n; i++)
		if (router_configure_tap(r, &ports[i], e) < 0)
			ret = -1;
	if (router_apply_rules(r, e) < 0)
		ret = -1;
	router_reconcile_listeners(r);
	if (n == 0)
		r->quit = 1;
	return ret;
}

/* ---- the control socket ----------------------------------------------------- */

static int router_make_tap(struct router *r, const char *eni, int *fd, struct err *e)
{
	char name[16];
	router_tap_name(eni, name);
	if (!router_port_by_eni(r, eni))
		return err_set(e, 404, "InvalidNetworkInterfaceID.NotFound",
			       "The network interface %s is not in %s.", eni, r->opt->vpc_id);
	int t = open("/dev/net/tun", O_RDWR | O_CLOEXEC);
	if (t < 0)
		return err_internal(e, "opening /dev/net/tun: %s", strerror(errno));
	struct ifreq ifr;
	memset(&ifr, 0, sizeof ifr);
	ifr.ifr_flags = IFF_TAP | IFF_NO_PI;
	snprintf(ifr.ifr_name, sizeof ifr.ifr_name, "%s", name);
	if (ioctl(t, TUNSETIFF, &ifr) < 0) {
		close(t);
		return err_internal(e, "creating tap %s: %s", name, strerror(errno));
	}
	*fd = t;
	return router_configure_tap(r, router_port_by_eni(r, eni), e);
}

/* Answers line, passing fd along when it is not -1. */
static void router_answer(int conn, const char *line, int fd)
{
	struct iovec iov = { (void *)line, strlen(line) };
	union {
		char buf[CMSG_SPACE(sizeof(int))];
		struct cmsghdr align;
	} control;
	struct msghdr msg = { .msg_iov = &iov, .msg_iovlen = 1 };
	if (fd >= 0) {
		memset(&control, 0, sizeof control);
		msg.msg_control = control.buf;
		msg.msg_controllen = sizeof control.buf;
		struct cmsghdr *c = CMSG_FIRSTHDR(&msg);
		c->cmsg_level = SOL_SOCKET;
		c->cmsg_type = SCM_RIGHTS;
		c->cmsg_len = CMSG_LEN(sizeof(int));
		memcpy(CMSG_DATA(c), &fd, sizeof fd);
	}
	if (sendmsg(conn, &msg, MSG_NOSIGNAL) < 0)
		log_warn("router: answering a request: %s", strerror(errno));
}

static void router_on_control(struct router *r)
{
	int conn = accept4(r->control_fd, NULL, NULL, SOCK_CLOEXEC);
	if (conn < 0)
		return;
	char line[256];
	size_t n = 0;
	/* One short line; the client writes it at once. */
	struct pollfd p = { conn, POLLIN, 0 };
	while (n + 1 < sizeof line && poll(&p, 1, 2000) > 0) {
		ssize_t got = read(conn, line + n, sizeof line - 1 - n);
		if (got <= 0)
			break;
		n += (size_t)got;
		if (memchr(line, '\n', n))
			break;
	}
	line[n] = '\0';
	line[strcspn(line, "\r\n")] = '\0';
	struct err e = ERR_INIT;
	int fd = -1;
	int rc;
	if (!strncmp(line, "tap ", 4)) {
		rc = router_reload(r, &e);
		if (rc == 0)
			rc = router_make_tap(r, line + 4, &fd, &e);
		if (rc == 0)
			r->quit = 0; /* an interface is about to come up */
	} else if (!strcmp(line, "reload")) {
		rc = router_reload(r, &e);
	} else {
		rc = err_set(&e, 400, "InvalidRequest", "unknown router command");
	}
	struct buf answer = BUF_INIT;
	if (rc == 0)
		buf_append_str(&answer, "ok\n");
	else
		buf_printf(&answer, "error %s\n", e.message);
	router_answer(conn, answer.data, rc == 0 ? fd : -1);
	buf_release(&answer);
	if (fd >= 0)
		close(fd); /* the tap lives as long as QEMU holds it */
	close(conn);
}

/* ---- DHCP ------------------------------------------------------------------ */

static void router_on_dhcp(struct router *r)
{
	unsigned char packet[DHCP_MAX_PACKET], reply[DHCP_MAX_PACKET];
	union {
		char buf[CMSG_SPACE(sizeof(struct in_pktinfo))];
		struct cmsghdr align;
	} control;
	struct sockaddr_in from;
	struct iovec iov = { packet, sizeof packet };
	struct msghdr msg = { .msg_name = &from, .msg_namelen = sizeof from, .msg_iov = &iov,
			      .msg_iovlen = 1, .msg_control = control.buf,
			      .msg_controllen = sizeof control.buf };
	ssize_t len = recvmsg(r->dhcp_fd, &msg, 0);
	if (len <= 0)
		return;
	int ifindex = 0;
	for (struct cmsghdr *c = CMSG_FIRSTHDR(&msg); c; c = CMSG_NXTHDR(&msg, c))
		if (c->cmsg_level == IPPROTO_IP && c->cmsg_type == IP_PKTINFO)
			ifindex = ((struct in_pktinfo *)CMSG_DATA(c))->ipi_ifindex;
	struct dhcp_request req;
	if (dhcp_parse(packet, (size_t)len, &req) < 0)
		return;
	/* The interface is the one whose tap it came in on and whose MAC it is. */
	const struct network_port *p = NULL;
	for (size_t i = 0; i < r->nports && !p; i++) {
		char tap[16];
		router_tap_name(r->ports[i].eni_id, tap);
		if ((int)if_nametoindex(tap) == ifindex && !memcmp(r->ports[i].mac, req.chaddr, 6))
			p = &r->ports[i];
	}
	if (!p)
		return;
	struct dhcp_lease lease = {
		.ip = p->ip,
		.netmask = p->prefix_len ? 0xffffffffu << (32 - p->prefix_len) : 0,
		.router = p->gateway,
		.mtu = 1500,
	};
	snprintf(lease.hostname, sizeof lease.hostname, "%s", p->hostname);
	snprintf(lease.domain, sizeof lease.domain, "%s",
		 strcmp(r->opt->region, "us-east-1") ? "compute.internal" : "ec2.internal");
	size_t out = dhcp_reply(&req, &lease, reply);
	if (!out)
		return;
	struct sockaddr_in to = { .sin_family = AF_INET, .sin_port = htons(68),
				  .sin_addr.s_addr = htonl(INADDR_BROADCAST) };
	struct in_pktinfo info = { .ipi_ifindex = ifindex, .ipi_spec_dst.s_addr = htonl(p->gateway) };
	memset(&control, 0, sizeof control);
	struct iovec oiov = { reply, out };
	struct msghdr omsg = { .msg_name = &to, .msg_namelen = sizeof to, .msg_iov = &oiov,
			       .msg_iovlen = 1, .msg_control = control.buf,
			       .msg_controllen = sizeof control.buf };
	struct cmsghdr *c = CMSG_FIRSTHDR(&omsg);
	c->cmsg_level = IPPROTO_IP;
	c->cmsg_type = IP_PKTINFO;
	c->cmsg_len = CMSG_LEN(sizeof info);
	memcpy(CMSG_DATA(c), &info, sizeof info);
	if (sendmsg(r->dhcp_fd, &omsg, 0) < 0)
		log_warn("router %s: DHCP reply to %s: %s", r->opt->vpc_id, p->instance_id,
			 strerror(errno));
}

/* ---- the metadata service --------------------------------------------------- */

static void router_on_imds(struct router *r)
{
	struct sockaddr_in from;
	socklen_t len = sizeof from;
	int conn = accept4(r->imds_fd, (struct sockaddr *)&from, &len, SOCK_CLOEXEC);
	if (conn < 0)
		return;
	const struct network_port *p = router_port_by_ip(r, ntohl(from.sin_addr.s_addr));
	if (!p) {
		close(conn);
		return;
	}
	/* One `amibox imds` per connection, as QEMU's guestfwd ran it. */
	char *argv[] = { (char *)r->opt->exe, "imds", "--data", (char *)r->opt->data_dir,
			 "--instance", (char *)p->instance_id, "--region",
			 (char *)r->opt->region, NULL };
	posix_spawn_file_actions_t fa;
	posix_spawn_file_actions_init(&fa);
	posix_spawn_file_actions_adddup2(&fa, conn, 0);
	posix_spawn_file_actions_adddup2(&fa, conn, 1);
	pid_t pid;
	int rc = posix_spawn(&pid, argv[0], &fa, NULL, argv, environ);
	posix_spawn_file_actions_destroy(&fa);
	if (rc != 0)
		log_warn("router %s: cannot run the metadata service: %s", r->opt->vpc_id,
			 strerror(rc));
	close(conn);
}

/* ---- relays ---------------------------------------------------------------- */

static void router_relay_events(struct router *r, struct router_relay *x)
{
	for (int i = 0; i < 2; i++) {
		uint32_t ev = 0;
		/* Read from i while what it sent last is written out (back-pressure). */
		if (!x->eof[i] && x->pending[i].len < ROUTER_RELAY_BUF && !(i == 1 && x->connecting))
			ev |= EPOLLIN;
		if (x->pending[1 - i].len || (i == 1 && x->connecting))
			ev |= EPOLLOUT;
		struct epoll_event e = { .events = ev, .data.ptr = i ? &x->hb : &x->ha };
		epoll_ctl(r->epoll, EPOLL_CTL_MOD, x->fd[i], &e);
	}
}

/*
 * Ends a relay: its sockets close now; its memory goes in router_reap,
 * after the batch of events, which may still name it.
 */
static void router_relay_free(struct router *r, struct router_relay *x)
{
	(void)r;
	if (x->dead)
		return;
	for (int i = 0; i < 2; i++) {
		epoll_ctl(r->epoll, EPOLL_CTL_DEL, x->fd[i], NULL);
		close(x->fd[i]);
		buf_release(&x->pending[i]);
	}
	x->dead = 1;
}

/* Starts relaying between a (accepted) and b (connecting). */
static void router_relay_start(struct router *r, int a, int b)
{
	struct router_relay *x = xcalloc(1, sizeof *x);
	x->ha = (struct router_handle){ K_RELAY_A, x };
	x->hb = (struct router_handle){ K_RELAY_B, x };
	x->fd[0] = a;
	x->fd[1] = b;
	x->connecting = 1;
	x->next = r->relays;
	r->relays = x;
	router_watch(r, a, &x->ha, 0);
	router_watch(r, b, &x->hb, 0);
	router_relay_events(r, x);
}

static void router_on_relay(struct router *r, struct router_relay *x, int side, uint32_t events)
{
	if (x->dead)
		return;
	int other = 1 - side;
	if (side == 1 && x->connecting && (events & (EPOLLOUT | EPOLLERR | EPOLLHUP))) {
		int err = 0;
		socklen_t len = sizeof err;
		getsockopt(x->fd[1], SOL_SOCKET, SO_ERROR, &err, &len);
		if (err) {
			router_relay_free(r, x);
			return;
		}
		x->connecting = 0;
	}
	if (events & (EPOLLIN | EPOLLHUP | EPOLLERR)) {
		char chunk[16384];
		ssize_t n = read(x->fd[side], chunk, sizeof chunk);
		if (n > 0)
			buf_append(&x->pending[side], chunk, (size_t)n);
		else if (n == 0 || (errno != EAGAIN && errno != EINTR))
			x->eof[side] = 1;
	}
	/* Write what the other side sent to this one, and this side's to the other. */
	for (int from = 0; from < 2; from++) {
		int to = 1 - from;
		if (!x->pending[from].len || (to == 1 && x->connecting))
			continue;
		ssize_t n = send(x->fd[to], x->pending[from].data, x->pending[from].len,
				 MSG_NOSIGNAL | MSG_DONTWAIT);
		if (n > 0) {
			memmove(x->pending[from].data, x->pending[from].data + n,
				x->pending[from].len - (size_t)n);
			x->pending[from].len -= (size_t)n;
		} else if (n < 0 && errno != EAGAIN && errno != EINTR) {
			router_relay_free(r, x);
			return;
		}
	}
	for (int i = 0; i < 2; i++)
		if (x->eof[i] && !x->pending[i].len && !(i == 0 && x->connecting))
			shutdown(x->fd[1 - i], SHUT_WR);
	if ((x->eof[0] && x->eof[1]) ||
	    ((x->eof[side] || x->eof[other]) && (events & EPOLLERR))) {
		router_relay_free(r, x);
		return;
	}
	router_relay_events(r, x);
}

/* Connects fd (non-blocking) to ip:port; 0 when under way. */
static int router_connect(int fd, uint32_t ip, int port)
{
	struct sockaddr_in sa = { .sin_family = AF_INET, .sin_port = htons((uint16_t)port),
				  .sin_addr.s_addr = htonl(ip) };
	if (connect(fd, (struct sockaddr *)&sa, sizeof sa) < 0 && errno != EINPROGRESS)
		return -1;
	return 0;
}

/* A datagram for a public UDP port: relayed when the caller is allowed. */
static void router_on_public_udp(struct router *r, struct router_listener *l)
{
	char packet[65536];
	struct sockaddr_in from;
	socklen_t len = sizeof from;
	ssize_t n = recvfrom(l->fd, packet, sizeof packet, MSG_DONTWAIT, (struct sockaddr *)&from, &len);
	if (n < 0)
		return;
	const struct network_port *p = router_port_by_public_ip(r, l->public_ip);
	if (!p || !network_allows(p, 0, ntohl(from.sin_addr.s_addr), 17, l->port))
		return;
	struct router_flow *f = r->flows;
	while (f && (f->dead || !(f->listener == l &&
				  f->client.sin_addr.s_addr == from.sin_addr.s_addr &&
				  f->client.sin_port == from.sin_port)))
		f = f->next;
	if (!f) {
		int fd = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
		if (fd < 0 || router_connect(fd, p->ip, l->port) < 0) {
			if (fd >= 0)
				close(fd);
			return;
		}
		f = xcalloc(1, sizeof *f);
		*f = (struct router_flow){ .h = { K_FLOW, NULL }, .listener = l, .client = from,
					   .fd = fd, .next = r->flows };
		r->flows = f;
		router_watch(r, fd, &f->h, EPOLLIN);
	}
	f->last_ms = router_now_ms();
	if (send(f->fd, packet, (size_t)n, MSG_DONTWAIT) < 0 && errno != EAGAIN)
		router_flow_free(r, f);
}

/* The instance's answer on a UDP flow: back to the caller, from the public port. */
static void router_on_flow(struct router *r, struct router_flow *f)
{
	if (f->dead)
		return;
	char packet[65536];
	ssize_t n = recv(f->fd, packet, sizeof packet, MSG_DONTWAIT);
	if (n < 0) {
		if (errno != EAGAIN && errno != EINTR)
			router_flow_free(r, f); /* the instance refused it (ICMP) */
		return;
	}
	f->last_ms = router_now_ms();
	sendto(f->listener->fd, packet, (size_t)n, MSG_DONTWAIT, (struct sockaddr *)&f->client,
	       sizeof f->client);
}

static void router_expire_flows(struct router *r)
{
	long long now = router_now_ms();
	for (struct router_flow *f = r->flows; f; f = f->next)
		if (now - f->last_ms > ROUTER_FLOW_IDLE_MS)
			router_flow_free(r, f);
}

static void router_on_public(struct router *r, struct router_listener *l)
{
	if (l->protocol == 17) {
		router_on_public_udp(r, l);
		return;
	}
	struct sockaddr_in from;
	socklen_t len = sizeof from;
	int conn = accept4(l->fd, (struct sockaddr *)&from, &len, SOCK_CLOEXEC | SOCK_NONBLOCK);
	if (conn < 0)
		return;
	const struct network_port *p = router_port_by_public_ip(r, l->public_ip);
	uint32_t caller = ntohl(from.sin_addr.s_addr);
	/* Invariant 2: the caller must be let in by a rule, now. */
	if (!p || !network_allows(p, 0, caller, 6, l->port)) {
		close(conn);
		return;
	}
	int to = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
	if (to < 0 || router_connect(to, p->ip, l->port) < 0) {
		close(conn);
		if (to >= 0)
			close(to);
		return;
	}
	router_relay_start(r, conn, to);
}

/* A guest's connection to amibox's API: relayed to the daemon's address. */
static void router_on_api(struct router *r)
{
	int conn = accept4(r->api_fd, NULL, NULL, SOCK_CLOEXEC | SOCK_NONBLOCK);
	if (conn < 0)
		return;
	uint32_t ip = 0;
	int port = 0;
	char host[64];
	const char *colon = strrchr(r->opt->api_addr, ':');
	if (colon && (size_t)(colon - r->opt->api_addr) < sizeof host) {
		memcpy(host, r->opt->api_addr, (size_t)(colon - r->opt->api_addr));
		host[colon - r->opt->api_addr] = '\0';
		port = atoi(colon + 1);
		if (network_parse_ip(host, &ip) < 0 || ip == 0)
			ip = 0x7f000001; /* a daemon on 0.0.0.0 answers on loopback */
	}
	int to = router_host_socket(r, AF_INET, SOCK_STREAM);
	if (to < 0 || port <= 0 || router_connect(to, ip, port) < 0) {
		close(conn);
		if (to >= 0)
			close(to);
		return;
	}
	router_relay_start(r, conn, to);
}

/* ---- start and the loop ----------------------------------------------------- */

static int router_open_sockets(struct router *r, struct err *e)
{
	struct buf sock = BUF_INIT;
	int one = 1;
	r->dhcp_fd = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	struct sockaddr_in any = { .sin_family = AF_INET, .sin_port = htons(67) };
	if (r->dhcp_fd < 0 ||
	    setsockopt(r->dhcp_fd, SOL_SOCKET, SO_BROADCAST, &one, sizeof one) < 0 ||
	    setsockopt(r->dhcp_fd, IPPROTO_IP, IP_PKTINFO, &one, sizeof one) < 0 ||
	    bind(r->dhcp_fd, (struct sockaddr *)&any, sizeof any) < 0)
		return err_internal(e, "the DHCP socket: %s", strerror(errno));
	r->imds_fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
	r->api_fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (r->imds_fd < 0 || router_listen_tcp(r->imds_fd, ROUTER_METADATA_IP, 80) < 0 ||
	    r->api_fd < 0 || router_listen_tcp(r->api_fd, ROUTER_METADATA_IP, ROUTER_API_PORT) < 0)
		return err_internal(e, "the metadata service's sockets: %s", strerror(errno));
	router_paths(r->opt->data_dir, r->opt->vpc_id, &sock, NULL);
	struct sockaddr_un un = { .sun_family = AF_UNIX };
	if (sock.len >= sizeof un.sun_path) {
		buf_release(&sock);
		return err_internal(e, "the data directory's path is too long for a socket");
	}
	memcpy(un.sun_path, sock.data, sock.len + 1);
	unlink(sock.data);
	r->control_fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	int rc = r->control_fd < 0 || bind(r->control_fd, (struct sockaddr *)&un, sizeof un) < 0 ||
		 listen(r->control_fd, 16) < 0;
	buf_release(&sock);
	if (rc)
		return err_internal(e, "the control socket: %s", strerror(errno));
	r->h_control = (struct router_handle){ K_CONTROL, NULL };
	r->h_dhcp = (struct router_handle){ K_DHCP, NULL };
	r->h_imds = (struct router_handle){ K_IMDS, NULL };
	r->h_api = (struct router_handle){ K_API, NULL };
	router_watch(r, r->control_fd, &r->h_control, EPOLLIN);
	router_watch(r, r->dhcp_fd, &r->h_dhcp, EPOLLIN);
	router_watch(r, r->imds_fd, &r->h_imds, EPOLLIN);
	router_watch(r, r->api_fd, &r->h_api, EPOLLIN);
	return 0;
}

/* The namespace: a new one, with lo up and the metadata address on it. */
static int router_make_namespace(struct router *r, struct err *e)
{
	r->host_ns = open("/proc/self/ns/net", O_RDONLY | O_CLOEXEC);
	if (r->host_ns < 0)
		return err_internal(e, "opening the host's network namespace: %s", strerror(errno));
	if (unshare(CLONE_NEWNET) < 0)
		return err_internal(e, "making a network namespace: %s", strerror(errno));
	r->vpc_ns = open("/proc/self/ns/net", O_RDONLY | O_CLOEXEC);
	if (r->vpc_ns < 0)
		return err_internal(e, "opening the VPC's network namespace: %s", strerror(errno));
	char *argv[] = { "ip", "-batch", "-", NULL };
	if (router_command(argv, "link set lo up\naddress add 169.254.169.254/32 dev lo\n", e) < 0)
		return -1;
	router_sysctl("/proc/sys/net/ipv4/ip_forward", "1");
	return 0;
}

static void router_release(struct router *r)
{
	for (struct router_relay *x = r->relays; x; x = x->next)
		router_relay_free(r, x);
	for (struct router_flow *f = r->flows; f; f = f->next)
		router_flow_free(r, f);
	router_reap(r);
	while (r->listeners) {
		struct router_listener *l = r->listeners;
		r->listeners = l->next;
		close(l->fd);
		free(l);
	}
	network_ports_free(r->ports, r->nports);
	buf_release(&r->ruleset);
	int fds[] = { r->control_fd, r->dhcp_fd, r->imds_fd, r->api_fd, r->epoll, r->host_ns,
		      r->vpc_ns };
	for (size_t i = 0; i < sizeof fds / sizeof *fds; i++)
		if (fds[i] >= 0)
			close(fds[i]);
}

int router_run(const struct router_options *opt, struct err *e)
{
	struct router r = { .opt = opt, .host_ns = -1, .vpc_ns = -1, .epoll = -1,
			    .control_fd = -1, .dhcp_fd = -1, .imds_fd = -1, .api_fd = -1 };
	struct buf pidfile = BUF_INIT, sock = BUF_INIT;
	int ret = -1;
	struct sigaction sa = { .sa_handler = router_on_signal };
	sigaction(SIGTERM, &sa, NULL);
	sigaction(SIGINT, &sa, NULL);
	signal(SIGPIPE, SIG_IGN);
	signal(SIGCHLD, SIG_IGN); /* the metadata service's processes reap themselves */
	router_paths(opt->data_dir, opt->vpc_id, &sock, &pidfile);
	r.epoll = epoll_create1(EPOLL_CLOEXEC);
	if (r.epoll < 0 || router_make_namespace(&r, e) < 0 || router_open_sockets(&r, e) < 0 ||
	    router_reload(&r, e) < 0)
		goto out;
	FILE *f = fopen(pidfile.data, "w");
	if (f) {
		fprintf(f, "%d\n", (int)getpid());
		fclose(f);
	}
	log_info("router %s: up with %zu interface%s", opt->vpc_id, r.nports,
		 r.nports == 1 ? "" : "s");
	r.quit = 0; /* started for an interface that is about to be asked for */
	while (!router_signalled && !r.quit) {
		struct epoll_event events[32];
		int n = epoll_wait(r.epoll, events, 32, 1000);
		for (int i = 0; i < n; i++) {
			struct router_handle *h = events[i].data.ptr;
			switch (h->kind) {
			case K_CONTROL: router_on_control(&r); break;
			case K_DHCP: router_on_dhcp(&r); break;
			case K_IMDS: router_on_imds(&r); break;
			case K_API: router_on_api(&r); break;
			case K_PUBLIC:
				/* h is a listener's first member. */
				router_on_public(&r, (struct router_listener *)h);
				break;
			case K_RELAY_A: router_on_relay(&r, h->ptr, 0, events[i].events); break;
			case K_RELAY_B: router_on_relay(&r, h->ptr, 1, events[i].events); break;
			case K_FLOW: router_on_flow(&r, (struct router_flow *)h); break;
			}
			/* A reload may have closed listeners: the batch is stale. */
			if (h->kind == K_CONTROL)
				break;
		}
		router_expire_flows(&r);
		router_reap(&r);
	}
	log_info("router %s: %s", opt->vpc_id, router_signalled ? "stopped" : "no interface left");
	ret = 0;
out:
	unlink(sock.data);
	unlink(pidfile.data);
	router_release(&r);
	buf_release(&pidfile);
	buf_release(&sock);
	return ret;
}

/* ---- the client side --------------------------------------------------------- */

int router_request(const char *data_dir, const char *vpc_id, const char *command, int *fd,
		   struct err *e)
{
	struct buf sock = BUF_INIT;
	struct sockaddr_un un = { .sun_family = AF_UNIX };
	int ret = -1;
	router_paths(data_dir, vpc_id, &sock, NULL);
	int s = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (s < 0 || sock.len >= sizeof un.sun_path) {
		err_internal(e, "cannot reach the router of %s", vpc_id);
		goto out;
	}
	memcpy(un.sun_path, sock.data, sock.len + 1);
	if (connect(s, (struct sockaddr *)&un, sizeof un) < 0) {
		err_internal(e, "the router of %s does not answer: %s", vpc_id, strerror(errno));
		goto out;
	}
	struct buf line = BUF_INIT;
	buf_printf(&line, "%s\n", command);
	ssize_t w = write(s, line.data, line.len);
	buf_release(&line);
	if (w < 0) {
		err_internal(e, "writing to the router of %s: %s", vpc_id, strerror(errno));
		goto out;
	}
	char answer[512];
	union {
		char buf[CMSG_SPACE(sizeof(int))];
		struct cmsghdr align;
	} control;
	struct iovec iov = { answer, sizeof answer - 1 };
	struct msghdr msg = { .msg_iov = &iov, .msg_iovlen = 1, .msg_control = control.buf,
			      .msg_controllen = sizeof control.buf };
	struct pollfd p = { s, POLLIN, 0 };
	ssize_t n = poll(&p, 1, 30000) > 0 ? recvmsg(s, &msg, MSG_CMSG_CLOEXEC) : -1;
	if (n <= 0) {
		err_internal(e, "the router of %s did not answer", vpc_id);
		goto out;
	}
	answer[n] = '\0';
	answer[strcspn(answer, "\n")] = '\0';
	int got = -1;
	for (struct cmsghdr *c = CMSG_FIRSTHDR(&msg); c; c = CMSG_NXTHDR(&msg, c))
		if (c->cmsg_level == SOL_SOCKET && c->cmsg_type == SCM_RIGHTS)
			memcpy(&got, CMSG_DATA(c), sizeof got);
	if (strcmp(answer, "ok") != 0) {
		if (got >= 0)
			close(got);
		err_internal(e, "router of %s: %s", vpc_id,
			     strncmp(answer, "error ", 6) ? answer : answer + 6);
		goto out;
	}
	if (fd)
		*fd = got;
	else if (got >= 0)
		close(got);
	ret = 0;
out:
	if (s >= 0)
		close(s);
	buf_release(&sock);
	return ret;
}
