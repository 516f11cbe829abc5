// SPDX-License-Identifier: Apache-2.0
#include <errno.h>
#include <linux/inet_diag.h>
#include <linux/netlink.h>
#include <linux/sock_diag.h>
#include <netinet/in.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "htab.h"
#include "sockdiag.h"

/* TCP states as the kernel numbers them (include/net/tcp_states.h). */
enum { ST_ESTABLISHED = 1, ST_SYN_SENT = 2, ST_LISTEN = 10 };
#define TCPF(s) (1U << (s))

static int dump(int family, uint32_t states,
		int (*fn)(const struct inet_diag_msg *m, void *arg), void *arg)
{
	struct {
		struct nlmsghdr nlh;
		struct inet_diag_req_v2 req;
	} msg = {
		.nlh = { .nlmsg_len = sizeof(msg), .nlmsg_type = SOCK_DIAG_BY_FAMILY,
			 .nlmsg_flags = NLM_F_REQUEST | NLM_F_DUMP },
		.req = { .sdiag_family = (uint8_t)family, .sdiag_protocol = IPPROTO_TCP,
			 .idiag_states = states },
	};
	struct sockaddr_nl sa = { .nl_family = AF_NETLINK };
	size_t bufsz = 32768;
	char *buf = malloc(bufsz);
	int fd, ret = 0;
	bool done = false;

	if (!buf)
		return -ENOMEM;
	fd = socket(AF_NETLINK, SOCK_DGRAM | SOCK_CLOEXEC, NETLINK_SOCK_DIAG);
	if (fd < 0) {
		ret = -errno;
		goto out;
	}
	if (sendto(fd, &msg, sizeof(msg), 0, (struct sockaddr *)&sa, sizeof(sa)) < 0) {
		ret = -errno;
		goto out;
	}
	while (!done) {
		ssize_t n = recv(fd, buf, bufsz, 0);
		struct nlmsghdr *h;

		if (n < 0) {
			if (errno == EINTR)
				continue;
			ret = -errno;
			break;
		}
		if (n == 0)
			break;
		for (h = (struct nlmsghdr *)buf; NLMSG_OK(h, (size_t)n); h = NLMSG_NEXT(h, n)) {
			if (h->nlmsg_type == NLMSG_DONE) {
				done = true;
				break;
			}
			if (h->nlmsg_type == NLMSG_ERROR) {
				struct nlmsgerr *e = NLMSG_DATA(h);

				ret = e->error ? e->error : -EIO;
				done = true;
				break;
			}
			if (h->nlmsg_len < NLMSG_LENGTH(sizeof(struct inet_diag_msg)))
				continue;
			fn(NLMSG_DATA(h), arg);
		}
	}
out:
	if (fd >= 0)
		close(fd);
	free(buf);
	return ret;
}

static int collect_listen(const struct inet_diag_msg *m, void *arg)
{
	htab__put(arg, ntohs(m->id.idiag_sport), (void *)1);
	return 0;
}

struct outbound_ctx {
	struct htab *listening;
	void (*fn)(const struct sockdiag_conn *c, void *arg);
	void *arg;
};

static int collect_conn(const struct inet_diag_msg *m, void *arg)
{
	struct outbound_ctx *ctx = arg;
	struct sockdiag_conn c = { 0 };

	if (htab__get(ctx->listening, ntohs(m->id.idiag_sport)))
		return 0;
	c.cookie = (uint64_t)m->id.idiag_cookie[0] | ((uint64_t)m->id.idiag_cookie[1] << 32);
	c.inode = m->idiag_inode;
	c.family = m->idiag_family;
	c.dport = ntohs(m->id.idiag_dport);
	c.state = m->idiag_state;
	memcpy(c.daddr, m->id.idiag_dst, m->idiag_family == AF_INET ? 4 : 16);
	ctx->fn(&c, ctx->arg);
	return 0;
}

int sockdiag__outbound(void (*fn)(const struct sockdiag_conn *c, void *arg), void *arg)
{
	const int families[] = { AF_INET, AF_INET6 };
	struct outbound_ctx ctx = { .fn = fn, .arg = arg };
	int ret = 0;

	ctx.listening = htab__new();
	if (!ctx.listening)
		return -ENOMEM;
	for (unsigned i = 0; i < 2 && !ret; i++)
		ret = dump(families[i], TCPF(ST_LISTEN), collect_listen, ctx.listening);
	for (unsigned i = 0; i < 2 && !ret; i++)
		ret = dump(families[i], TCPF(ST_SYN_SENT) | TCPF(ST_ESTABLISHED), collect_conn,
			   &ctx);
	htab__free(ctx.listening);
	return ret;
}
