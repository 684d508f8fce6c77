// SPDX-License-Identifier: GPL-2.0-only
/*
 * cfg_notify.c - the `notify` section of tollgate.yaml: the exec hook and the user it runs
 * as, the webhook URL, the timeout and the retry backoff (notify.h in the daemon delivers).
 */
#include <ctype.h>
#include <errno.h>
#include <grp.h>
#include <pwd.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>
#include <arpa/inet.h>
#include <sys/socket.h>
#include <sys/stat.h>

#include "config_int.h"

/*
 * A webhook URL: http:// or https://, a host (name, IPv4 or [IPv6]), an optional port
 * 1..65535, then an optional path and query. Checked by hand rather than with libcurl's
 * URL API so that config.c stays free of libcurl (the fuzz targets link it with libyaml
 * only). NULL if it is good, else what is wrong.
 */
const char *webhook_problem(const char *s)
{
	const char *p, *host, *end;
	size_t hl;

	if (!strncasecmp(s, "http://", 7))
		p = s + 7;
	else if (!strncasecmp(s, "https://", 8))
		p = s + 8;
	else
		return "want an http:// or https:// URL (e.g. http://127.0.0.1:9000/hook)";
	end = p + strcspn(p, "/?#");
	if (memchr(p, '@', (size_t)(end - p)))
		return "user:password@ in the URL is not supported (it would show in logs)";
	host = p;
	if (*p == '[') {
		char a6[INET6_ADDRSTRLEN];
		unsigned char bin[16];
		const char *rb = memchr(p, ']', (size_t)(end - p));

		if (!rb || (size_t)(rb - p - 1) >= sizeof(a6))
			return "an IPv6 address must be in brackets, e.g. http://[::1]:9000/hook";
		memcpy(a6, p + 1, (size_t)(rb - p - 1));
		a6[rb - p - 1] = '\0';
		if (inet_pton(AF_INET6, a6, bin) != 1)
			return "the IPv6 address in brackets is not valid";
		p = rb + 1;
	} else {
		while (p < end &&
		       (isalnum((unsigned char)*p) || *p == '-' || *p == '.' || *p == '_'))
			p++;
		hl = (size_t)(p - host);
		if (!hl)
			return "no host name";
		if (hl > 253 || *host == '-' || *host == '.')
			return "the host is not a valid name or address";
	}
	if (p < end && *p == ':') {
		unsigned long port = 0;

		p++;
		if (p == end || (size_t)(end - p) > 5)
			return "the port must be a number from 1 to 65535";
		for (; p < end; p++) {
			if (!isdigit((unsigned char)*p))
				return "the port must be a number from 1 to 65535";
			port = port * 10 + (unsigned long)(*p - '0');
		}
		if (!port || port > 65535)
			return "the port must be a number from 1 to 65535";
	}
	if (p != end)
		return "the host is not a valid name or address";
	for (; *p; p++) {
		unsigned char u = (unsigned char)*p;

		if (u == '#')
			return "a #fragment is never sent: leave it out";
		if (u <= ' ' || u >= 0x7f)
			return "spaces, control and non-ASCII characters must be percent-encoded";
	}
	return NULL;
}

/* A duration in [lo_ms, hi_ms], in whole milliseconds. */
void parse_ms(struct ctx *c, const yaml_node_t *n, const char *what, uint32_t lo_ms, uint32_t hi_ms,
	      const char *range, uint32_t *out)
{
	const char *s = nonempty(c, n, what);
	uint64_t ns;

	if (!s)
		return;
	if (tg_parse_duration_ns(s, &ns)) {
		yerr(c, n, "%s '%s': not a duration (e.g. 500ms, 5s, 5m)", what, s);
		return;
	}
	if (ns < (uint64_t)lo_ms * 1000000u || ns > (uint64_t)hi_ms * 1000000u) {
		yerr(c, n, "%s '%s': out of range (%s)", what, s, range);
		return;
	}
	*out = (uint32_t)(ns / 1000000u);
}

enum { NT_EXEC, NT_WEBHOOK, NT_TIMEOUT, NT_RETRY, NT_EXEC_USER, NT_NR };
static const char *const nt_keys[NT_NR] = {"exec", "webhook", "timeout", "retry", "exec_user"};

/*
 * notify.exec_user: the user the exec hook runs as (default "nobody": a hook needs no
 * privilege to pass an event on, and one that has none cannot be turned against the box).
 * Looked up now, so check-config says when it does not exist. "root" keeps the daemon's
 * user (the hook still gets no_new_privs).
 */
static void parse_exec_user(struct ctx *c, yaml_node_t *user, yaml_node_t *exec)
{
	struct tg_notify_cfg *nc = &c->cfg->notify;
	const char *s = user ? nonempty(c, user, "notify.exec_user") : NULL;
	struct passwd *pw;

	if (s) {
		free(nc->exec_user);
		nc->exec_user = xstrdup(c, s);
	}
	if (!nc->exec || !nc->exec_user)
		return;
	errno = 0;
	pw = getpwnam(nc->exec_user);
	if (!pw) {
		yerr(c, user ? user : exec,
		     "notify.exec_user '%s': no such user (create it, or name another: the hook "
		     "runs as it)",
		     nc->exec_user);
		return;
	}
	nc->exec_uid = (uint32_t)pw->pw_uid;
	nc->exec_gid = (uint32_t)pw->pw_gid;
}
enum { RY_MIN, RY_MAX, RY_NR };
static const char *const ry_keys[RY_NR] = {"min", "max"};

void parse_notify(struct ctx *c, yaml_node_t *n)
{
	struct tg_notify_cfg *nc = &c->cfg->notify;
	yaml_node_t *v[NT_NR], *r[RY_NR] = {NULL, NULL};
	const char *s, *why;
	struct stat st;

	if (is_null(n) || !want(c, n, YAML_MAPPING_NODE, "notify"))
		return;
	map_keys(c, n, "notify", nt_keys, NT_NR, v, NULL);
	if (v[NT_EXEC] && (s = nonempty(c, v[NT_EXEC], "notify.exec"))) {
		/* the daemon runs it from any directory, with a minimal environment: no PATH
		 * search, no relative path */
		if (s[0] != '/')
			yerr(c, v[NT_EXEC], "notify.exec '%s' must be an absolute path", s);
		else if (stat(s, &st))
			yerr(c, v[NT_EXEC], "notify.exec '%s': %s", s, strerror(errno));
		else if (!S_ISREG(st.st_mode))
			yerr(c, v[NT_EXEC], "notify.exec '%s' is not a regular file", s);
		else if (access(s, X_OK))
			yerr(c, v[NT_EXEC], "notify.exec '%s' is not executable (chmod +x it)", s);
		else
			nc->exec = xstrdup(c, s);
	}
	if (v[NT_WEBHOOK] && (s = nonempty(c, v[NT_WEBHOOK], "notify.webhook"))) {
		if ((why = webhook_problem(s)))
			yerr(c, v[NT_WEBHOOK], "notify.webhook '%s': %s", s, why);
		else
			nc->webhook = xstrdup(c, s);
	}
	if (v[NT_TIMEOUT])
		parse_ms(c, v[NT_TIMEOUT], "notify.timeout", TG_NOTIFY_TIMEOUT_MIN_MS,
			 TG_NOTIFY_TIMEOUT_MAX_MS, "1s to 60s", &nc->timeout_ms);
	if (v[NT_RETRY] && !is_null(v[NT_RETRY]) &&
	    want(c, v[NT_RETRY], YAML_MAPPING_NODE, "notify.retry")) {
		uint32_t lo = nc->retry_min_ms, hi = nc->retry_max_ms;
		int nerr = (int)c->nye;

		map_keys(c, v[NT_RETRY], "notify.retry", ry_keys, RY_NR, r, NULL);
		if (r[RY_MIN])
			parse_ms(c, r[RY_MIN], "notify.retry.min", TG_NOTIFY_RETRY_FLOOR_MS,
				 TG_NOTIFY_RETRY_CEIL_MS, "100ms to 1d", &lo);
		if (r[RY_MAX])
			parse_ms(c, r[RY_MAX], "notify.retry.max", TG_NOTIFY_RETRY_FLOOR_MS,
				 TG_NOTIFY_RETRY_CEIL_MS, "100ms to 1d", &hi);
		/* only when both read well: a bad value is its own error, not also this one */
		if ((int)c->nye == nerr && lo > hi)
			yerr(c, r[RY_MIN] ? r[RY_MIN] : v[NT_RETRY],
			     "notify.retry: min (%u ms) is above max (%u ms)", lo, hi);
		nc->retry_min_ms = lo;
		nc->retry_max_ms = hi;
	}
	parse_exec_user(c, v[NT_EXEC_USER], v[NT_EXEC]);
}
