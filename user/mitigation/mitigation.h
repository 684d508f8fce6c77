/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * mitigation.h - the door of user/mitigation/: upstream mitigation over BGP, when a
 * flood toward a customer is bigger than the edge. Tollgate never speaks BGP itself: a
 * real BGP daemon does (GoBGP by default, through its own client `gobgp`), and this room
 * says what to announce, checks that it is safe, and keeps the daemon's RIB equal to
 * what should be announced.
 *
 *   announce.c  an announcement (struct tg_mit): its canonical key and text, parsing,
 *               the safety policy (inside the customers' own space, never shorter than
 *               configured, a cap on how many at once, always an expiry), and the
 *               difference between what should be announced and what is;
 *   gobgp.c     the GoBGP adapter behind struct tg_bgp_ops: announce, withdraw, list
 *               what is announced, the sessions' state. Another speaker (ExaBGP, BIRD)
 *               is another tg_bgp_ops.
 *
 * Two kinds (RFC 7999, RFC 8955):
 *   blackhole  the attacked host's route (IPv4 /32, IPv6 /128 or a configured length
 *              longer than /64) with the BLACKHOLE community 65535:666, the configured
 *              communities and next hop;
 *   flowspec   a FlowSpec rule: destination the attacked host, optionally a protocol and
 *              the source ports seen in the evidence, then discard or a rate limit.
 *
 * Included by: daemon, cli and the tests. Includes: lib.
 */
#ifndef TG_MITIGATION_H
#define TG_MITIGATION_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "lib/lib.h"

enum tg_mit_kind {
	TG_MIT_BLACKHOLE = 0,
	TG_MIT_FLOWSPEC = 1,
	TG_MIT_KIND_NR,
};

#define TG_MIT_PORTS 8			  /* source ports in one FlowSpec rule */
#define TG_MIT_COMMS 8			  /* configured communities added to a blackhole */
#define TG_MIT_KEY_LEN 160		  /* a canonical key, NUL included */
#define TG_MIT_BLACKHOLE_COMM "65535:666" /* RFC 7999 */

/* One announcement: what the BGP daemon is asked to carry. */
struct tg_mit {
	uint8_t kind;		      /* enum tg_mit_kind */
	uint8_t family;		      /* AF_INET or AF_INET6 */
	uint8_t plen;		      /* prefix length of addr */
	uint8_t proto;		      /* flowspec: IPPROTO_*, 0 any */
	uint8_t addr[16];	      /* network order; the bits past plen are zero */
	uint16_t sport[TG_MIT_PORTS]; /* flowspec: source ports, sorted, unique */
	uint8_t nsport;
	uint64_t rate_bps; /* flowspec: 0 discard, else the rate limit in bit/s */
};

/* The policy every announcement is checked against (tollgate.yaml's mitigation:). */
struct tg_mit_policy {
	bool monitor;		      /* record what would be announced, announce nothing */
	uint8_t v4_len;		      /* the length announced for an IPv4 host: 32 */
	uint8_t v6_len;		      /* for an IPv6 host: 128, or a configured 65..128 */
	uint32_t max_active;	      /* announcements at once; more are refused */
	int64_t max_duration_ms;      /* no announcement lives longer */
	char comms[TG_MIT_COMMS][24]; /* "ASN:VALUE", added to every blackhole */
	unsigned ncomms;
	char next_hop4[48]; /* blackhole next hop (e.g. a discard address of the transit) */
	char next_hop6[48];
};

/* The canonical key ("blackhole 198.51.100.7/32", "flowspec 198.51.100.7/32 proto 17
 * sport 53,123 discard" or "... rate 10000000"): two announcements are the same exactly
 * when their keys are. buf is TG_MIT_KEY_LEN bytes; returns buf. */
char *tg_mit_key(const struct tg_mit *m, char *buf);

/* "198.51.100.7/32" (the prefix alone) into buf of 64 bytes; returns buf. */
char *tg_mit_prefix(const struct tg_mit *m, char *buf);

/* The kind's name ("blackhole", "flowspec"), or NULL; and the kind of a name, or -EINVAL. */
const char *tg_mit_kind_name(unsigned kind);
int tg_mit_kind_parse(const char *name);

/*
 * Fill m from the operator's words: kind, an address or prefix ("198.51.100.7",
 * "2001:db8::7/128"), and for flowspec the protocol ("udp", "tcp", "icmp", a number or
 * NULL for any), source ports ("123,53" or NULL) and a rate in bit/s (0: discard). A host
 * address gets the policy's length. 0 or -EINVAL with the reason in err.
 */
int tg_mit_parse(struct tg_mit *m, const char *kind, const char *addr, const char *proto,
		 const char *sports, uint64_t rate_bps, const struct tg_mit_policy *pol, char *err,
		 size_t errlen);

/* Sort and de-duplicate m's source ports (every constructor calls it). */
void tg_mit_normalise(struct tg_mit *m);

/*
 * The safety policy, for one announcement: the prefix is not shorter than the policy's
 * length for its family, and lies inside one of the customer's own prefixes
 * (inside(ctx, m) says so: the caller looks it up in the loaded customers). 0, or
 * -EPERM / -EINVAL with the reason in err.
 */
int tg_mit_check(const struct tg_mit *m, const struct tg_mit_policy *pol,
		 bool (*inside)(void *ctx, const struct tg_mit *m), void *ctx, char *err,
		 size_t errlen);

/*
 * What to do to make `have` (what the daemon carries) equal `want` (what should be
 * announced): for each entry of have not in want, withdraw[i] = true; for each entry of
 * want not in have, announce[i] = true. Either output may be NULL. Pure.
 */
void tg_mit_diff(const struct tg_mit *want, size_t nwant, const struct tg_mit *have, size_t nhave,
		 bool *announce, bool *withdraw);

/* ---- the BGP speaker ---- */

struct tg_bgp_peer {
	char addr[48];
	uint32_t asn;
	bool up; /* the session is established */
};

/* A BGP speaker Tollgate drives. Every call returns 0 or -errno with the reason in err. */
struct tg_bgp_ops {
	const char *name;
	int (*announce)(void *ctx, const struct tg_mit *m, const struct tg_mit_policy *pol,
			char *err, size_t errlen);
	int (*withdraw)(void *ctx, const struct tg_mit *m, const struct tg_mit_policy *pol,
			char *err, size_t errlen);
	/* What it carries that is Tollgate's: blackholes (routes with 65535:666) and every
	 * FlowSpec rule of its global RIB. *out is malloc()ed. */
	int (*list)(void *ctx, struct tg_mit **out, size_t *n, char *err, size_t errlen);
	/* Its neighbours and whether each session is established. *out is malloc()ed. */
	int (*peers)(void *ctx, struct tg_bgp_peer **out, size_t *n, char *err, size_t errlen);
	void (*close)(void *ctx);
};

struct tg_bgp {
	const struct tg_bgp_ops *ops;
	void *ctx;
};

/*
 * The GoBGP adapter: `gobgp` (path, or "gobgp" from PATH) with --target target
 * ("unix:///run/gobgpd/gobgp.sock" or "127.0.0.1:50051"); each call waits at most
 * timeout_ms. The gobgpd it talks to is Tollgate's own speaker: every FlowSpec rule and
 * every BLACKHOLE route in its global RIB is taken as Tollgate's (reconciled away if it
 * should not be there).
 */
int tg_bgp_gobgp(struct tg_bgp *b, const char *path, const char *target, int timeout_ms);

/*
 * Reconcile: make the speaker carry exactly want[] (already checked against the policy).
 * Withdraws first (frees room on a peer's limit), then announces. *nann / *nwd (may be
 * NULL) count what was done. 0, or the first error with the reason in err (the rest is
 * still tried).
 */
int tg_mit_reconcile(struct tg_bgp *b, const struct tg_mit_policy *pol, const struct tg_mit *want,
		     size_t nwant, unsigned *nann, unsigned *nwd, char *err, size_t errlen);

#endif /* TG_MITIGATION_H */
