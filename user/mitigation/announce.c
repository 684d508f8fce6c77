// SPDX-License-Identifier: GPL-2.0-only
/*
 * announce.c - an announcement: key, parsing, the safety policy, the difference between
 * what should be announced and what is, and reconciling a speaker (mitigation.h).
 */
#include <arpa/inet.h>
#include <errno.h>
#include <netdb.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "mitigation.h"

static const char *const kind_names[TG_MIT_KIND_NR] = {
	[TG_MIT_BLACKHOLE] = "blackhole",
	[TG_MIT_FLOWSPEC] = "flowspec",
};

const char *tg_mit_kind_name(unsigned kind)
{
	return kind < TG_MIT_KIND_NR ? kind_names[kind] : NULL;
}

int tg_mit_kind_parse(const char *name)
{
	for (unsigned k = 0; k < TG_MIT_KIND_NR; k++)
		if (name && !strcmp(name, kind_names[k]))
			return (int)k;
	return -EINVAL;
}

static int cmp_u16(const void *a, const void *b)
{
	return (int)*(const uint16_t *)a - (int)*(const uint16_t *)b;
}

void tg_mit_normalise(struct tg_mit *m)
{
	unsigned n = 0;

	if (m->nsport > TG_MIT_PORTS)
		m->nsport = TG_MIT_PORTS;
	qsort(m->sport, m->nsport, sizeof(m->sport[0]), cmp_u16);
	for (unsigned i = 0; i < m->nsport; i++)
		if (!n || m->sport[n - 1] != m->sport[i])
			m->sport[n++] = m->sport[i];
	for (unsigned i = n; i < TG_MIT_PORTS; i++)
		m->sport[i] = 0;
	m->nsport = (uint8_t)n;
	if (m->rate_bps) {
		/* FlowSpec carries bytes/s as a 32-bit float: keep a rate it represents exactly,
		 * so a rule read back from the speaker has the key it was announced with */
		float bytes = (float)(m->rate_bps / 8);

		m->rate_bps = (uint64_t)bytes * 8;
		if (!m->rate_bps)
			m->rate_bps = 8;
	}
	if (m->kind != TG_MIT_FLOWSPEC) {
		m->proto = 0;
		m->nsport = 0;
		m->rate_bps = 0;
		memset(m->sport, 0, sizeof(m->sport));
	}
}

char *tg_mit_prefix(const struct tg_mit *m, char *buf)
{
	char a[INET6_ADDRSTRLEN] = "?";

	inet_ntop(m->family == AF_INET6 ? AF_INET6 : AF_INET, m->addr, a, sizeof(a));
	snprintf(buf, 64, "%s/%u", a, m->plen);
	return buf;
}

char *tg_mit_key(const struct tg_mit *m, char *buf)
{
	char p[64];
	int n;

	n = snprintf(buf, TG_MIT_KEY_LEN, "%s %s", kind_names[m->kind % TG_MIT_KIND_NR],
		     tg_mit_prefix(m, p));
	if (m->kind != TG_MIT_FLOWSPEC)
		return buf;
	if (m->proto)
		n += snprintf(buf + n, TG_MIT_KEY_LEN - n, " proto %u", m->proto);
	for (unsigned i = 0; i < m->nsport && n < TG_MIT_KEY_LEN; i++)
		n += snprintf(buf + n, TG_MIT_KEY_LEN - n, "%s%u", i ? "," : " sport ",
			      m->sport[i]);
	if (n < TG_MIT_KEY_LEN) {
		if (m->rate_bps)
			snprintf(buf + n, TG_MIT_KEY_LEN - n, " rate %llu",
				 (unsigned long long)m->rate_bps);
		else
			snprintf(buf + n, TG_MIT_KEY_LEN - n, " discard");
	}
	return buf;
}

/* Zero the bits past plen. */
static void mask(struct tg_mit *m)
{
	unsigned bytes = m->family == AF_INET6 ? 16 : 4;

	for (unsigned i = 0; i < 16; i++) {
		int keep = (int)m->plen - (int)i * 8;

		if (i >= bytes || keep <= 0)
			m->addr[i] = 0;
		else if (keep < 8)
			m->addr[i] &= (uint8_t)(0xff << (8 - keep));
	}
}

static int parse_proto(const char *s, uint8_t *out)
{
	static const struct {
		const char *name;
		uint8_t nr;
	} known[] = {{"tcp", IPPROTO_TCP},	 {"udp", IPPROTO_UDP}, {"icmp", IPPROTO_ICMP},
		     {"icmpv6", IPPROTO_ICMPV6}, {"gre", IPPROTO_GRE}, {"esp", IPPROTO_ESP}};
	char *end;
	unsigned long v;

	for (size_t i = 0; i < sizeof(known) / sizeof(known[0]); i++)
		if (!strcmp(s, known[i].name)) {
			*out = known[i].nr;
			return 0;
		}
	errno = 0;
	v = strtoul(s, &end, 10);
	if (errno || end == s || *end || v == 0 || v > 255)
		return -EINVAL;
	*out = (uint8_t)v;
	return 0;
}

int tg_mit_parse(struct tg_mit *m, const char *kind, const char *addr, const char *proto,
		 const char *sports, uint64_t rate_bps, const struct tg_mit_policy *pol, char *err,
		 size_t errlen)
{
	char a[INET6_ADDRSTRLEN + 8], *slash;
	int k = tg_mit_kind_parse(kind);
	unsigned long plen;

	memset(m, 0, sizeof(*m));
	if (k < 0) {
		snprintf(err, errlen, "kind '%s': blackhole or flowspec", kind ? kind : "");
		return -EINVAL;
	}
	m->kind = (uint8_t)k;
	if (!addr || strlen(addr) >= sizeof(a)) {
		snprintf(err, errlen, "an address (198.51.100.7 or 2001:db8::7) is needed");
		return -EINVAL;
	}
	strcpy(a, addr);
	slash = strchr(a, '/');
	if (slash)
		*slash++ = '\0';
	if (inet_pton(AF_INET, a, m->addr) == 1) {
		m->family = AF_INET;
		m->plen = pol ? pol->v4_len : 32;
	} else if (inet_pton(AF_INET6, a, m->addr) == 1) {
		m->family = AF_INET6;
		m->plen = pol ? pol->v6_len : 128;
	} else {
		snprintf(err, errlen, "'%s' is not an IPv4 or IPv6 address", addr);
		return -EINVAL;
	}
	if (slash) {
		char *end;

		errno = 0;
		plen = strtoul(slash, &end, 10);
		if (errno || end == slash || *end || plen > (m->family == AF_INET ? 32u : 128u)) {
			snprintf(err, errlen, "'%s': the prefix length must be 0..%u", addr,
				 m->family == AF_INET ? 32u : 128u);
			return -EINVAL;
		}
		m->plen = (uint8_t)plen;
	}
	mask(m);
	if (m->kind == TG_MIT_BLACKHOLE) {
		if (proto || sports || rate_bps) {
			snprintf(err, errlen,
				 "a blackhole takes the whole host: protocol, ports and rate are "
				 "for flowspec");
			return -EINVAL;
		}
		return 0;
	}
	if (proto && parse_proto(proto, &m->proto)) {
		snprintf(err, errlen, "protocol '%s': tcp, udp, icmp, icmpv6, gre, esp or 1..255",
			 proto);
		return -EINVAL;
	}
	if (sports && *sports) {
		const char *s = sports;

		if (m->proto != IPPROTO_TCP && m->proto != IPPROTO_UDP) {
			snprintf(err, errlen, "source ports need protocol tcp or udp");
			return -EINVAL;
		}
		while (*s) {
			char *end;
			unsigned long v;

			errno = 0;
			v = strtoul(s, &end, 10);
			if (errno || end == s || v == 0 || v > 65535 || (*end && *end != ',')) {
				snprintf(err, errlen,
					 "source ports '%s': numbers 1..65535, comma-separated",
					 sports);
				return -EINVAL;
			}
			if (m->nsport == TG_MIT_PORTS) {
				snprintf(err, errlen, "source ports '%s': at most %d", sports,
					 TG_MIT_PORTS);
				return -EINVAL;
			}
			m->sport[m->nsport++] = (uint16_t)v;
			s = *end ? end + 1 : end;
		}
	}
	m->rate_bps = rate_bps;
	tg_mit_normalise(m);
	return 0;
}

int tg_mit_check(const struct tg_mit *m, const struct tg_mit_policy *pol,
		 bool (*inside)(void *ctx, const struct tg_mit *m), void *ctx, char *err,
		 size_t errlen)
{
	char p[64];
	unsigned min = m->family == AF_INET6 ? pol->v6_len : pol->v4_len;

	if (m->kind >= TG_MIT_KIND_NR || (m->family != AF_INET && m->family != AF_INET6)) {
		snprintf(err, errlen, "not an announcement Tollgate makes");
		return -EINVAL;
	}
	if (m->plen < min) {
		snprintf(err, errlen,
			 "%s is shorter than /%u (mitigation.%s_length): Tollgate announces "
			 "the attacked hosts, never more",
			 tg_mit_prefix(m, p), min, m->family == AF_INET6 ? "ipv6" : "ipv4");
		return -EPERM;
	}
	if (!inside || !inside(ctx, m)) {
		snprintf(err, errlen, "%s is outside the customers' own space: refused",
			 tg_mit_prefix(m, p));
		return -EPERM;
	}
	if (m->kind == TG_MIT_BLACKHOLE &&
	    !*(m->family == AF_INET6 ? pol->next_hop6 : pol->next_hop4)) {
		snprintf(err, errlen, "no blackhole next hop for %s (mitigation.next_hop_%s)",
			 m->family == AF_INET6 ? "IPv6" : "IPv4",
			 m->family == AF_INET6 ? "ipv6" : "ipv4");
		return -EINVAL;
	}
	return 0;
}

void tg_mit_diff(const struct tg_mit *want, size_t nwant, const struct tg_mit *have, size_t nhave,
		 bool *announce, bool *withdraw)
{
	char *wk = malloc(nwant * TG_MIT_KEY_LEN + 1), *hk = malloc(nhave * TG_MIT_KEY_LEN + 1);

	for (size_t i = 0; wk && i < nwant; i++)
		tg_mit_key(&want[i], wk + i * TG_MIT_KEY_LEN);
	for (size_t i = 0; hk && i < nhave; i++)
		tg_mit_key(&have[i], hk + i * TG_MIT_KEY_LEN);
	/* O(n*m) on keys: the cap (max_active) keeps both sides small */
	for (size_t i = 0; announce && i < nwant; i++) {
		announce[i] = true;
		for (size_t j = 0; wk && hk && j < nhave; j++)
			if (!strcmp(wk + i * TG_MIT_KEY_LEN, hk + j * TG_MIT_KEY_LEN))
				announce[i] = false;
	}
	for (size_t j = 0; withdraw && j < nhave; j++) {
		withdraw[j] = true;
		for (size_t i = 0; wk && hk && i < nwant; i++)
			if (!strcmp(wk + i * TG_MIT_KEY_LEN, hk + j * TG_MIT_KEY_LEN))
				withdraw[j] = false;
	}
	free(wk);
	free(hk);
}

int tg_mit_reconcile(struct tg_bgp *b, const struct tg_mit_policy *pol, const struct tg_mit *want,
		     size_t nwant, unsigned *nann, unsigned *nwd, char *err, size_t errlen)
{
	struct tg_mit *have = NULL;
	bool *ann = NULL, *wd = NULL;
	size_t nhave = 0;
	int first = 0, rc;
	char e[512];

	if (nann)
		*nann = 0;
	if (nwd)
		*nwd = 0;
	rc = b->ops->list(b->ctx, &have, &nhave, err, errlen);
	if (rc)
		return rc;
	ann = calloc(nwant + 1, sizeof(*ann));
	wd = calloc(nhave + 1, sizeof(*wd));
	if (!ann || !wd) {
		snprintf(err, errlen, "out of memory");
		first = -ENOMEM;
		goto out;
	}
	tg_mit_diff(want, nwant, have, nhave, ann, wd);
	for (size_t j = 0; j < nhave; j++) {
		if (!wd[j])
			continue;
		rc = b->ops->withdraw(b->ctx, &have[j], pol, e, sizeof(e));
		if (rc && !first) {
			first = rc;
			snprintf(err, errlen, "%s", e);
		} else if (!rc && nwd) {
			(*nwd)++;
		}
	}
	for (size_t i = 0; i < nwant; i++) {
		if (!ann[i])
			continue;
		rc = b->ops->announce(b->ctx, &want[i], pol, e, sizeof(e));
		if (rc && !first) {
			first = rc;
			snprintf(err, errlen, "%s", e);
		} else if (!rc && nann) {
			(*nann)++;
		}
	}
out:
	free(ann);
	free(wd);
	free(have);
	return first;
}
