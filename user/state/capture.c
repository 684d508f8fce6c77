// SPDX-License-Identifier: GPL-2.0-only
/*
 * capture.c - the evidence samples in the state database: the table capture, one row per
 * packet (the event it belongs to, its number in the capture, when it was seen, its
 * length on the wire and its first bytes), written by tollgated as the data plane hands
 * them up (user/daemon/capture.c), read back as a pcap file (`tollgate events show ID
 * --pcap`), and purged with the audit log (retention).
 *
 * The pcap file is written by hand, not with libpcap: the classic format (magic
 * 0xa1b2c3d4, microsecond timestamps, version 2.4, LINKTYPE_ETHERNET), a 24-byte file
 * header and a 16-byte header per packet, in this machine's byte order, as libpcap writes.
 */
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <sqlite3.h>

#include "state.h"

static const char capture_schema[] = "CREATE TABLE IF NOT EXISTS capture ("
				     "  event_id TEXT NOT NULL,"
				     "  seq INTEGER NOT NULL,"
				     "  ts_us INTEGER NOT NULL," /* wall clock, unix microseconds */
				     "  wirelen INTEGER NOT NULL,"
				     "  data BLOB NOT NULL," /* at most TG_CAP_SNAPLEN bytes */
				     "  PRIMARY KEY (event_id, seq));"
				     "CREATE INDEX IF NOT EXISTS capture_ts ON capture (ts_us);";

static int ensure_schema(sqlite3 *db)
{
	return sqlite3_exec(db, capture_schema, NULL, NULL, NULL) == SQLITE_OK ? 0 : -EIO;
}

int tg_state_capture_add(struct tg_statedb *st, const char *event_id, uint32_t seq, int64_t ts_us,
			 uint32_t wirelen, const void *data, size_t caplen)
{
	sqlite3 *db = tg_state_sqlite(st);
	sqlite3_stmt *q = NULL;
	int err;

	if (!event_id || caplen > TG_CAP_SNAPLEN || caplen > wirelen)
		return -EINVAL;
	if ((err = ensure_schema(db)))
		return err;
	if (sqlite3_prepare_v2(
		    db,
		    "INSERT OR IGNORE INTO capture (event_id, seq, ts_us, wirelen, data) "
		    "VALUES (?1, ?2, ?3, ?4, ?5)",
		    -1, &q, NULL) != SQLITE_OK)
		return -EIO;
	sqlite3_bind_text(q, 1, event_id, -1, SQLITE_STATIC);
	sqlite3_bind_int64(q, 2, seq);
	sqlite3_bind_int64(q, 3, ts_us);
	sqlite3_bind_int64(q, 4, wirelen);
	sqlite3_bind_blob(q, 5, caplen ? data : "", (int)caplen, SQLITE_STATIC);
	err = sqlite3_step(q) == SQLITE_DONE ? 0 : -EIO;
	sqlite3_finalize(q);
	return err;
}

/* One integer from sql with one optional text (?1) or integer (?2) parameter; -EIO. */
static long count_of(sqlite3 *db, const char *sql, const char *text, int64_t num)
{
	sqlite3_stmt *q = NULL;
	long n;

	if (ensure_schema(db) || sqlite3_prepare_v2(db, sql, -1, &q, NULL) != SQLITE_OK)
		return -EIO;
	if (text)
		sqlite3_bind_text(q, 1, text, -1, SQLITE_STATIC);
	else
		sqlite3_bind_int64(q, 1, num);
	n = sqlite3_step(q) == SQLITE_ROW ? (long)sqlite3_column_int64(q, 0) : -EIO;
	sqlite3_finalize(q);
	return n;
}

long tg_state_capture_count(struct tg_statedb *st, int64_t since_us)
{
	return count_of(tg_state_sqlite(st), "SELECT count(*) FROM capture WHERE ts_us >= ?1", NULL,
			since_us);
}

long tg_state_capture_packets(struct tg_statedb *st, const char *event_id)
{
	return count_of(tg_state_sqlite(st), "SELECT count(*) FROM capture WHERE event_id = ?1",
			event_id, 0);
}

struct pcap_file_hdr {
	uint32_t magic;
	uint16_t major, minor;
	int32_t thiszone;
	uint32_t sigfigs, snaplen, linktype;
};
struct pcap_rec_hdr {
	uint32_t ts_sec, ts_usec, incl_len, orig_len;
};
_Static_assert(sizeof(struct pcap_file_hdr) == 24 && sizeof(struct pcap_rec_hdr) == 16,
	       "the pcap headers are 24 and 16 bytes");

long tg_state_capture_pcap(struct tg_statedb *st, const char *event_id, FILE *f)
{
	const struct pcap_file_hdr fh = {.magic = 0xa1b2c3d4u,
					 .major = 2,
					 .minor = 4,
					 .snaplen = TG_CAP_SNAPLEN,
					 .linktype = 1 /* LINKTYPE_ETHERNET */};
	sqlite3 *db = tg_state_sqlite(st);
	sqlite3_stmt *q = NULL;
	long n = 0;
	int rc;

	if (ensure_schema(db) ||
	    sqlite3_prepare_v2(db,
			       "SELECT ts_us, wirelen, data FROM capture WHERE event_id = ?1 "
			       "ORDER BY seq",
			       -1, &q, NULL) != SQLITE_OK)
		return -EIO;
	sqlite3_bind_text(q, 1, event_id, -1, SQLITE_STATIC);
	while ((rc = sqlite3_step(q)) == SQLITE_ROW) {
		int64_t ts = sqlite3_column_int64(q, 0);
		const void *data = sqlite3_column_blob(q, 2);
		int len = sqlite3_column_bytes(q, 2);
		struct pcap_rec_hdr rh = {.ts_sec = (uint32_t)(ts / 1000000),
					  .ts_usec = (uint32_t)(ts % 1000000),
					  .incl_len = (uint32_t)len,
					  .orig_len = (uint32_t)sqlite3_column_int64(q, 1)};

		if (!n && fwrite(&fh, sizeof(fh), 1, f) != 1)
			break;
		if (fwrite(&rh, sizeof(rh), 1, f) != 1 || (len && fwrite(data, len, 1, f) != 1))
			break;
		n++;
	}
	sqlite3_finalize(q);
	if (rc != SQLITE_DONE)
		return -EIO;
	return n ? n : -ENOENT;
}

long tg_state_capture_purge(struct tg_statedb *st, int64_t before_ms)
{
	sqlite3 *db = tg_state_sqlite(st);

	if (ensure_schema(db))
		return -EIO;
	/* older than the window, or of an event the purge of the audit log took */
	return tg_state_delete(db,
			       "DELETE FROM capture WHERE ts_us < ?1 OR event_id NOT IN "
			       "(SELECT event_id FROM audit WHERE event_id IS NOT NULL)",
			       before_ms * 1000);
}
