/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * config.h - tollgate.yaml and the customers CSV, parsed and validated into one
 * struct tg_cfg. Nothing here touches BPF: the map sync (sync.c) turns a validated
 * config into map contents. Every error names file, line (and column or field) and what
 * is wrong; all errors are collected, not only the first.
 *
 * The struct is tg_cfg, not tg_config: struct tg_config is the BPF map value in
 * tollgate_kern_user.h, which this header includes.
 *
 * The door of user/config/. Included by: every room above it (state, datapath, cluster,
 * daemon, cli), config's own files, the tests and the fuzzers. Includes: lib, rules.h, the
 * ABI header.
 */
#ifndef TG_CONFIG_H
#define TG_CONFIG_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <net/if.h>

#include "lib/lib.h"
#include "rules.h"
#include "tollgate_kern_user.h"

#define TG_CONFIG_DEFAULT "/etc/tollgate/tollgate.yaml"
#define TG_NAME_MAX 64 /* plan names */
#define TG_STATE_DEFAULT "/var/lib/tollgate/state.db"
#define TG_METRICS_LISTEN_DEFAULT "127.0.0.1:9477"
#define TG_METRICS_PER_CUSTOMER_DEFAULT "top 1000"
#define TG_MAX_CUSTOMERS_DEFAULT 1024u	/* capacity.max_customers */
#define TG_CAP_CUSTOMERS_MAX (1u << 24) /* upper bound of capacity.max_customers */
#define TG_CAP_PREFIXES_MAX (1u << 26)	/* upper bound of capacity.max_prefixes */
#define TG_BURST_MIN_BYTES 1500u	/* one MTU: a smaller burst could never pass a full frame */
/*
 * What the policers hold exactly (tollgate_kern_user.h, policer arithmetic): the interval
 * per byte is ceil(8e9 * 2^16 / rate) in 2^-16 ns, so above 8e9 * 2^16 / 1000 bit/s
 * (524.288 Gbit/s) its rounding up would cost more than 0.1 % of the rate (at 100 Tbit/s,
 * 13 %); the packet interval likewise, ceil(1e9 * 2^8 / pps) in 2^-8 ns. Below 1 kbit/s a
 * packet's cost in time nears the 64-bit range. A rate must also be one the interval tells
 * apart from its neighbours, so that `customer show` gives it back (tg_rate_held). A burst
 * is bounded by TG_GCRA_TOL_MAX_FNS: tg_burst_max_bytes. Outside these a value is an error,
 * never clamped.
 */
#define TG_RATE_MIN_BPS 1000ull
#define TG_RATE_MAX_BPS 500000000000ull /* 500 Gbit/s: an interval of 1049 x 2^-16 ns */
#define TG_PPS_MAX 256000000ull		/* 256 Mpps: an interval of 1000 x 2^-8 ns */
#define TG_PREFIX_MIN_LEN4 8u		/* shorter customer prefixes need allow_short_prefixes */
#define TG_PREFIX_MIN_LEN6 16u

/* A collected list of error messages, each "file:line[:col]: what is wrong". */
struct tg_errs {
	char **msg;
	size_t n, cap;
};

void tg_errs_add(struct tg_errs *e, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
void tg_errs_free(struct tg_errs *e);

struct tg_iface_cfg {
	char name[IFNAMSIZ];
	int role;	    /* enum tg_role */
	int mode;	    /* enum tg_xdp_mode */
	int antispoof;	    /* enum tg_antispoof; TG_AS_OFF for the upstream role */
	bool monitor;	    /* count "would drop", never drop */
	uint8_t vlan_proto; /* outer TPID: TG_IFF_VLAN_Q, TG_IFF_VLAN_AD or 0 (any) */
	/* customer role: packet-rate limit of each access port's exceptions (`exceptions`);
	 * 0: none. Burst in packets, 0: one second's worth */
	uint64_t exc_pps, exc_burst;
	bool force; /* tollgated takes the interface back from a foreign XDP program, and
			     * attaches despite rx VLAN offload (linkwatch.h) */
	int line;
};
#define TG_EXC_PPS_DEFAULT 200u /* exceptions per access port per second, unless configured */

/* One direction's policer. rate 0 = unlimited (the plan leaves it out). */
struct tg_rate_cfg {
	uint64_t rate_bps;
	uint64_t burst_bytes;
	uint64_t peak_rate_bps; /* 0: single-rate */
	uint64_t peak_burst_bytes;
};

/* yellow_dscp when a plan with a peak rate names none: CS1, "lower than best effort" in
 * the classes of RFC 4594 (scavenger) */
#define TG_YELLOW_DSCP_DEFAULT 8u

struct tg_flood_cfg {
	/* by class (enum tg_fclass, TG_FCLASSES): the keys of flood: (TG_FC_PLAN_LIST); the
	 * SMTP class is the plan's smtp: (tg_plan.smtp), 0 here */
	uint64_t pps[TG_FC_NR];	  /* 0: no limit */
	uint64_t burst[TG_FC_NR]; /* packets; 0: one second's worth at the rate */
	uint64_t block_ns;	  /* blocked this long when over pps[TG_FC_SRC] (default 60 s) */
};
#define TG_BLOCK_TIME_DEFAULT_NS (60ull * 1000000000ull)
#define TG_BLOCK_TIME_MAX_NS (86400ull * 1000000000ull)

enum tg_smtp_mode {
	TG_SMTP_ALLOW = 0,
	TG_SMTP_BLOCK = 1,
	TG_SMTP_LIMIT = 2, /* smtp_limit new connections (TCP SYN to port 25) per second */
};

/*
 * A plan's volume quota (quota.c): bytes per direction and period; the daemon keeps each
 * customer's usage in the state database (user/daemon/quota.h) and rules read it as
 * quota_used_pct. Periods are calendar periods in UTC: a day from 00:00, a week from its
 * reset weekday, a month from its reset day (the month's last day when it is shorter).
 */
enum tg_quota_period { TG_QP_DAY = 0, TG_QP_WEEK = 1, TG_QP_MONTH = 2 };
struct tg_quota_cfg {
	uint64_t bytes[TG_DIR_NR]; /* 0: no quota in that direction; both 0: no quota */
	int period;		   /* enum tg_quota_period; default month */
	int reset;		   /* month: day 1..31 (default 1); week: 0 Monday..6 Sunday */
};
#define TG_QUOTA_ON(q) ((q)->bytes[TG_DIR_UP] || (q)->bytes[TG_DIR_DOWN])

/* The start (and end: the next start) of the period holding wall_ms, unix ms, UTC. */
int64_t tg_quota_period_start(const struct tg_quota_cfg *q, int64_t wall_ms);
int64_t tg_quota_period_end(const struct tg_quota_cfg *q, int64_t wall_ms);
const char *tg_quota_period_name(int period);
/* "day", "week", "month" or -1; a reset for that period ("1".."31"; "monday"/"mon"...) or -1 */
int tg_quota_parse_period(const char *s);
int tg_quota_parse_reset(int period, const char *s);
/* The reset as written back ("1", "monday", "00:00"); buf of 16 bytes. */
const char *tg_quota_reset_name(const struct tg_quota_cfg *q, char *buf, size_t len);
/* A volume: bytes, decimal k/m/g/t/p (10^3..: "2TB" is 2e12 bytes, as ISPs bill) or binary
 * KiB..PiB, case-insensitive, up to 6 decimals ("1.5TB"); 0 and overflow rejected */
int tg_parse_volume_bytes(const char *s, uint64_t *bytes);

struct tg_plan {
	char name[TG_NAME_MAX];
	struct tg_rate_cfg dir[TG_DIR_NR]; /* TG_DIR_UP = upload, TG_DIR_DOWN = download */
	struct tg_flood_cfg flood;
	int smtp;	     /* enum tg_smtp_mode */
	uint32_t smtp_limit; /* connections/s when TG_SMTP_LIMIT */
	uint8_t yellow_dscp; /* DSCP of packets over the rate within the peak (two-rate) */
	struct tg_quota_cfg quota;
	int line;
};

struct tg_prefix {
	int family; /* AF_INET or AF_INET6 */
	uint8_t plen;
	uint8_t addr[16]; /* network order; IPv4 in the first 4 bytes; host bits zero */
};

/* A customer's prefix as the duplicate check keys it (customers.c). */
struct tg_pkey {
	uint8_t family;
	uint8_t plen;
	uint8_t addr[16];
	uint16_t pad;  /* zero: hashed and compared with the rest */
	uint32_t cust; /* index into tg_cfg.customers */
};

struct tg_customer {
	char id[TG_ID_LEN];    /* external id */
	char *name;	       /* free text, may be NULL; in tg_cfg.name_pool */
	int plan;	       /* index into tg_cfg.plans; -1 if the row named an unknown plan */
	struct tg_prefix *pfx; /* in tg_cfg.pfx_pool */
	size_t npfx;
	char iface[IFNAMSIZ];		   /* binding, "" = unbound (spoof where strict) */
	uint16_t vlan;			   /* outer (or only) VLAN, TG_VLAN_UNTAGGED, _ANY */
	uint16_t ivlan;			   /* inner VLAN (QinQ "100.200"), as vlan */
	struct tg_rate_cfg dir[TG_DIR_NR]; /* effective limits: plan, then overrides */
	uint32_t flood_pps[TG_FC_OWN_NR];  /* by class, set for this customer (0: the plan's) */
	int line;			   /* CSV line */
};

/* notify: where enforcement events go (notify.h delivers them). Both targets optional. */
#define TG_NOTIFY_EXEC_USER_DEFAULT "nobody"
#define TG_NOTIFY_TIMEOUT_DEFAULT_MS 5000u
#define TG_NOTIFY_TIMEOUT_MIN_MS 1000u
#define TG_NOTIFY_TIMEOUT_MAX_MS 60000u
#define TG_NOTIFY_RETRY_MIN_DEFAULT_MS 1000u
#define TG_NOTIFY_RETRY_MAX_DEFAULT_MS 300000u
#define TG_NOTIFY_RETRY_FLOOR_MS 100u	  /* lowest retry.min and retry.max */
#define TG_NOTIFY_RETRY_CEIL_MS 86400000u /* highest retry.min and retry.max: 1 day */

struct tg_notify_cfg {
	char *exec; /* absolute path of the hook, or NULL */
	/* notify.exec_user: who the hook runs as (default TG_NOTIFY_EXEC_USER_DEFAULT), its
	 * uid and primary gid looked up at load; NULL or uid 0: as the daemon (root) */
	char *exec_user;
	uint32_t exec_uid, exec_gid;
	char *webhook;	       /* http:// or https:// URL, or NULL */
	uint32_t timeout_ms;   /* per attempt, both targets */
	uint32_t retry_min_ms; /* backoff after the first failed attempt ... */
	uint32_t retry_max_ms; /* ... doubling per attempt up to this */
};

/*
 * mitigation: upstream mitigation over BGP (user/mitigation/). Absent: rules cannot use
 * the blackhole and flowspec actions and tollgated talks to no BGP daemon.
 */
#define TG_MIT_COMMS_MAX 8
struct tg_mitigation_cfg {
	bool enabled;		  /* the section is there */
	char *speaker;		  /* "gobgp" (the only adapter today) */
	char *gobgp;		  /* the gobgp client; default "gobgp" from PATH */
	char *target;		  /* gobgpd's API: unix:///PATH or HOST:PORT */
	uint32_t timeout_ms;	  /* one call to the speaker; default 5000 */
	bool monitor;		  /* record what would be announced, announce nothing */
	uint8_t ipv6_length;	  /* announced for an IPv6 host: 65..128, default 128 */
	uint32_t max_active;	  /* announcements at once (default 32); more are refused */
	uint64_t max_duration_ns; /* no announcement lives longer (default 1 h, <= 7 d) */
	char communities[TG_MIT_COMMS_MAX][24]; /* "ASN:VALUE", added to every blackhole */
	unsigned ncommunities;
	char next_hop4[48], next_hop6[48]; /* blackhole next hops */
};

/*
 * cluster: the etcd cluster this node shares its enforcement state with (docs/cluster.md).
 * Absent: enabled false, and the node decides alone, as before.
 */
#define TG_CLUSTER_PREFIX_DEFAULT "/tollgate/"
#define TG_CLUSTER_TIMEOUT_DEFAULT_MS 2000u   /* per etcd call and endpoint */
#define TG_CLUSTER_HEARTBEAT_DEFAULT_MS 2000u /* registration lease: 3 heartbeats */
#define TG_CLUSTER_START_DEFAULT_MS 30000u    /* a start waits this long for the state */
#define TG_CLUSTER_NODE_MAX 63		      /* characters of a node name */
#define TG_CLUSTER_ENDPOINTS_MAX 16

struct tg_cluster_cfg {
	bool enabled;
	char **endpoints; /* "http://127.0.0.1:2379" (loopback only), "https://10.0.0.1:2379" */
	size_t nendpoints;
	char *node;		   /* this node's name; default: the host name */
	char *prefix;		   /* every key's; starts and ends with '/' */
	char *ca, *cert, *key;	   /* PEM files (cert and key together), or NULL */
	uint32_t timeout_ms;	   /* per etcd call and endpoint */
	uint32_t heartbeat_ms;	   /* how often the registration is renewed */
	uint32_t start_timeout_ms; /* how long a start waits to read the cluster state */
};

/* capture: the evidence sample (cfg_capture.c, docs/enforcement.md "Evidence"). */
#define TG_CAPTURE_PACKETS_DEFAULT 20u
#define TG_CAPTURE_PER_DAY_DEFAULT 1000u
struct tg_capture_cfg {
	bool enabled;	  /* false: never armed (default true) */
	uint32_t packets; /* of one capture, 1..TG_CAP_MAX_PACKETS */
	uint32_t per_day; /* stored per UTC day, every capture together */
};

struct tg_cfg {
	char *path; /* the YAML file */
	struct tg_iface_cfg *ifaces;
	size_t nifaces;
	struct tg_plan *plans;
	size_t nplans;
	char *customers_path;	   /* resolved relative to the YAML file's directory */
	int customers_line;	   /* of the customers key in the YAML file */
	bool allow_short_prefixes; /* customer prefixes shorter than TG_PREFIX_MIN_LEN4/6 */
	struct tg_customer *customers;
	size_t ncustomers;
	struct tg_hset ids;	    /* customers by id: tg_config_customer */
	struct tg_prefix *pfx_pool; /* the customers' pfx arrays */
	size_t npfx_pool;
	char *name_pool; /* the customers' names */
	size_t name_pool_len;
	struct tg_prefix *walled_garden;
	size_t nwalled;
	/* per_source_exempt: sources per_source never blocks (resolvers, speed-test servers,
	 * monitoring); the walled garden is never blocked either. With the walled garden at
	 * most TG_WALLED_MAX prefixes (one trie holds both). */
	struct tg_prefix *src_exempt;
	size_t nsrc_exempt;
	uint16_t *refl_ports; /* UDP source ports of reflection/amplification (reflection_ports) */
	size_t nrefl_ports;
	uint32_t max_customers;	    /* capacity; default 1024 */
	uint32_t max_prefixes;	    /* default 2 * max_customers */
	char *metrics_listen;	    /* default 127.0.0.1:9477 */
	char *metrics_per_customer; /* "all" | "top N" | "off"; default "top 1000" */
	char **metrics_hosts;	    /* metrics.hosts: more names the Host header may carry */
	size_t nmetrics_hosts;
	char *metrics_token_file; /* metrics.token_file (resolved), or NULL: no token */
	/* metrics.alert_token_file (resolved): the Alertmanager webhook's bearer token, or
	 * NULL: the webhook (/api/v1/alertmanager) refuses every request (401) */
	char *metrics_alert_token_file;
	char *state_path;    /* default TG_STATE_DEFAULT; relative resolves like customers_path */
	char *pin_dir;	     /* default TG_PIN_DIR_DEFAULT; TOLLGATE_PIN_DIR overrides */
	char *control_group; /* control.group: may use the control socket; NULL: root only */
	struct tg_enforce_cfg enforcement; /* rules.h */
	struct tg_notify_cfg notify;
	struct tg_mitigation_cfg mitigation;
	struct tg_cluster_cfg cluster;
	struct tg_capture_cfg capture;
};

/*
 * Load tollgate.yaml at path and the customers CSV it names; validate everything.
 * Returns 0 and *out, or -EINVAL with every problem in errs (and *out NULL), or another
 * -errno if a file cannot be read (also described in errs).
 */
int tg_config_load(const char *path, struct tg_cfg **out, struct tg_errs *errs);
void tg_config_free(struct tg_cfg *cfg);

/*
 * The reload cache: what one load keeps beside its configuration so that the next load can
 * take the CSV rows whose bytes did not change without parsing them again, and what that
 * next load took. struct tg_cfg holds none of it. Owned by whoever keeps the configuration
 * it describes (tollgated's snapshot, tg_applied); freed with tg_load_cache_free.
 */
struct tg_load_row {
	size_t off;    /* the row's bytes: csv_raw + off ... */
	uint32_t len;  /* ... len long; 0: never reused (a record libcsv read as several) */
	uint32_t prev; /* the row of reused_from it is a copy of, or UINT32_MAX */
};

struct tg_load_cache {
	const struct tg_cfg *cfg; /* the configuration it describes (not owned) */
	char *yaml_raw, *csv_raw; /* both files' bytes */
	size_t yaml_len, csv_len;
	size_t csv_hdr_off, csv_hdr_len; /* the header record */
	struct tg_load_row *row;	 /* per customer of cfg */
	struct tg_hset raw_ix;		 /* rows by their bytes: tg_config_index_rows */
	struct tg_pkey *pk;		 /* every prefix */
	size_t npk;
	struct tg_hset pks; /* pk by value; with cfg->ids, built by tg_config_index_rows
			     * after a load that reused rows */
	size_t rows_reused; /* rows taken from the previous load */
	const struct tg_cfg *reused_from; /* that load's configuration (compared, never
					   * followed) */
};

void tg_load_cache_free(struct tg_load_cache *lc);

/*
 * tg_config_load for a daemon that reloads. With cache, the load also gives *cache (NULL
 * on error), its reload cache. Given prev (the cache of a valid configuration, still
 * alive, indexed by tg_config_index_rows) and a tollgate.yaml whose bytes are unchanged, a
 * CSV row whose bytes are those of a row of prev->cfg becomes a copy of that customer
 * without being parsed again; everything else (new and changed rows, lines, capacity,
 * duplicates) is checked as in a first load. The configuration is the same as
 * tg_config_load's, field for field.
 */
int tg_config_load_from(const char *path, const struct tg_load_cache *prev,
			struct tg_load_cache **cache, struct tg_cfg **out, struct tg_errs *errs);
/* Index a configuration for the next load: its ids, and in lc (may be NULL) its rows by
 * their bytes and its prefixes. 0 or -ENOMEM. */
int tg_config_index_rows(struct tg_cfg *cfg, struct tg_load_cache *lc);

const struct tg_iface_cfg *tg_config_iface(const struct tg_cfg *cfg, const char *name);
/* The position in cfg->customers of the customer with this id, or -1. */
long tg_config_customer(const struct tg_cfg *cfg, const char *id);

/*
 * Advice on a valid configuration (not errors): plans, and a count of customer overrides,
 * whose burst is below what TCP needs to reach the rate. Up to max malloc'd messages.
 */
size_t tg_config_advice(const struct tg_cfg *cfg, char **msgs, size_t max);

/* The pin_dir of a tollgate.yaml (or TG_PIN_DIR_DEFAULT) without loading the rest: for the
 * read-only commands. 0 or -errno (-EINVAL: not YAML). */
int tg_config_pin_dir(const char *path, char *buf, size_t len);
/* The same for `state` (default TG_STATE_DEFAULT; relative to the YAML file's directory). */
int tg_config_state_path(const char *path, char *buf, size_t len);

/*
 * Read the customers CSV at path into cfg->customers (which must be empty), checked against
 * cfg's plans, interfaces and capacity. tg_config_load calls it; errors are
 * "path:line: field 'name': what is wrong", in line order. Returns 0, -EINVAL with every
 * problem in errs, or another -errno if the file cannot be read. On error cfg->customers
 * may hold partial rows: the caller frees cfg. prev: as tg_config_load_from's (may be
 * NULL); lc (may be NULL): the cache being made, which gets the file's bytes, its rows
 * and prefixes, and what was reused.
 */
int tg_customers_load(struct tg_cfg *cfg, const char *path, const struct tg_load_cache *prev,
		      struct tg_load_cache *lc, struct tg_errs *errs);

/*
 * Open path for reading if it is a regular file: *fd and *size, or -errno. A FIFO, device,
 * socket or directory is refused without waiting or acting (-EINVAL, *kind says what it
 * is, e.g. "a FIFO (named pipe)"); otherwise *kind is NULL.
 */
int tg_open_regular(const char *path, int *fd, size_t *size, const char **kind);

/*
 * Units a network engineer writes. Return 0 or -EINVAL (garbage, overflow, and zero where
 * noted). Suffixes are case-insensitive except for durations; a fraction ("2.5g") is exact
 * and the result is truncated to a whole unit.
 */
/* bit/s, k/m/g/t = 10^3..10^12, optional "bit" or "bps" (bits, not bytes); 0 rejected */
int tg_parse_rate_bps(const char *s, uint64_t *bps); /* 100mbit, 1gbit, 2.5g, 64kbit, 1000000 */
/* bytes, k/m/g = 2^10..2^30, optional "b", "kb", "kib"; 0 accepted (callers check a floor) */
int tg_parse_size_bytes(const char *s, uint64_t *bytes); /* 64k, 1m, 1500, 2kb (1024-based) */
/* packets/s, k/m = 10^3, 10^6, optional "pps"; 0 rejected */
int tg_parse_pps(const char *s, uint64_t *pps); /* 500pps, 20kpps, 1000 */
/* ns us ms s m h d, lower case, a unit required, components largest first; 0 accepted */
int tg_parse_duration_ns(const char *s, uint64_t *ns); /* 30s, 1h, 500ms, 2d, 1h30m */
/* "198.51.100.0/24", "2001:db8::/48", a bare address is a host route. Host bits set is an
 * error (message in err, which holds at least 128 bytes). */
int tg_parse_prefix(const char *s, struct tg_prefix *p, char *err, size_t errlen);
/* "100mbit", "2.5gbit", "1500bit": the largest unit with at most 3 exact decimals */
void tg_format_rate(uint64_t bps, char *buf, size_t len);
/* "198.51.100.0/24", "2001:db8::/48"; len >= INET6_ADDRSTRLEN + 4 */
void tg_format_prefix(const struct tg_prefix *p, char *buf, size_t len);
/*
 * A parsed prefix no customer may hold: one overlapping a bogon of the data plane
 * (TG_BOGON4_LIST, TG_BOGON6_LIST) or link-local space (169.254.0.0/16, fe80::/10), or,
 * unless allow_short, one shorter than TG_PREFIX_MIN_LEN4 / _LEN6. -EINVAL with the reason
 * in err (256 bytes are enough), else 0.
 */
int tg_prefix_refused(const struct tg_prefix *p, bool allow_short, char *err, size_t errlen);

/*
 * The policers' arithmetic, shared by the config checks, the map sync and `customer show`:
 * interval per byte (2^-16 ns) of a rate and per packet (2^-8 ns) of a packet rate, rounded
 * up (never faster than configured); 0 for 0 (no limit).
 */
uint64_t tg_gcra_ipb_fns16(uint64_t rate_bps);
uint64_t tg_gcra_ipp_fns(uint64_t pps);
/* The largest burst a policer at this rate holds: bytes, or packets at this packet rate. */
uint64_t tg_burst_max_bytes(uint64_t rate_bps);
uint64_t tg_pkt_burst_max(uint64_t pps);
/*
 * Back from the data plane's parameters to what was configured: the rate with the fewest
 * significant digits among those giving this interval (rates within TG_RATE_MAX_BPS that
 * differ by less than the interval's resolution are enforced identically), and the burst,
 * exact while the interval is above 2^8 (every rate up to TG_RATE_MAX_BPS).
 */
uint64_t tg_gcra_rate_bps(uint64_t ipb_fns16);
uint64_t tg_gcra_burst_bytes(uint64_t ipb_fns16, uint64_t tol_fns);
/* The rate `customer show` gives back for a configured rate: a rate is held exactly when it
 * is its own. Up to 22.9 Mbit/s every rate is; above, rates with fewer digits. */
uint64_t tg_rate_held(uint64_t bps);
/*
 * A rate the policers cannot hold (below TG_RATE_MIN_BPS, above TG_RATE_MAX_BPS, or not
 * held exactly): -ERANGE and why, naming the value to write instead; else 0. s is the rate
 * as written, quoted in the message.
 */
int tg_check_rate(const char *s, uint64_t bps, char *err, size_t errlen);

#endif /* TG_CONFIG_H */
