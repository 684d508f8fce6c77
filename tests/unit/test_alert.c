// SPDX-License-Identifier: GPL-2.0-only
/*
 * test_alert.c - the Alertmanager webhook's checks on the HTTP thread (alert.h): what is
 * 400 and queues nothing, what is queued (the eventfd wakes the loop), what a batch with
 * bad alerts in it queues and refuses, what is counted and ignored. The end to end path (Prometheus, Alertmanager, two nodes) is
 * tests/integration/test_alert.sh.
 */
#include <poll.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "daemon/daemon.h"
#include "testlib.h"

static unsigned int post(struct tg_alertq *q, const char *body, json_t **reply)
{
	return tg_alertq_post(q, body, strlen(body), reply);
}

/* Was the loop woken? Reads (resets) the eventfd. */
static int woken(struct tg_alertq *q)
{
	struct pollfd p = {.fd = tg_alertq_fd(q), .events = POLLIN};
	uint64_t n;

	if (poll(&p, 1, 0) != 1)
		return 0;
	return read(p.fd, &n, sizeof(n)) == sizeof(n);
}

#define ALERT(st, labels)                                                                          \
	"{\"status\":\"" st "\",\"labels\":{" labels "},\"annotations\":{\"summary\":\"s\"},"      \
	"\"startsAt\":\"2026-12-07T00:00:00Z\",\"fingerprint\":\"f1\"}"
#define DOC(alerts) "{\"version\":\"4\",\"receiver\":\"r\",\"alerts\":[" alerts "]}"
#define SUSP "\"alertname\":\"A\",\"customer\":\"c1\",\"action\":\"suspend\""

int main(void)
{
	struct tg_alertq *q = NULL;
	json_t *r = NULL;
	static const char *const bad400[] = {
		"{not json",
		"[1, 2]",
		"{\"version\":\"4\"}",
		"{\"version\":\"3\",\"alerts\":[]}",
		DOC("5"),
		DOC("{\"status\":\"firing\"}"),
		DOC(ALERT("pending", SUSP)),
		DOC(ALERT("firing", "\"customer\":\"c1\",\"action\":\"suspend\"")),
		DOC(ALERT("firing",
			  "\"alertname\":\"A\",\"customer\":\"c1\",\"action\":\"explode\"")),
		DOC(ALERT("firing",
			  "\"alertname\":\"A\",\"customer\":\"c1\",\"action\":\"throttle\"")),
		DOC(ALERT("firing",
			  "\"alertname\":\"A\",\"customer\":\"c1\",\"action\":\"throttle\","
			  "\"rate\":\"fast\"")),
		DOC(ALERT("firing",
			  "\"alertname\":\"A\",\"customer\":\"\",\"action\":\"suspend\"")),
		/* every alert for the receiver bad */
		DOC(ALERT("firing", "\"customer\":\"c1\",\"action\":\"suspend\"") "," ALERT(
			"firing",
			"\"alertname\":\"B\",\"customer\":\"c2\",\"action\":\"explode\"")),
	};

	TEST_BEGIN("a queue and its eventfd");
	CHECK(!tg_alertq_new(&q) && q && tg_alertq_fd(q) >= 0);
	if (!q)
		return test_summary();

	TEST_BEGIN("bad requests: 400 with an error, nothing queued");
	for (size_t i = 0; i < sizeof(bad400) / sizeof(bad400[0]); i++) {
		unsigned int st = post(q, bad400[i], &r);

		if (st != 400)
			fprintf(stderr, "request %zu: %u, want 400\n", i, st);
		CHECK(st == 400);
		CHECK(json_is_string(json_object_get(r, "error")));
		json_decref(r);
		CHECK(!woken(q));
	}

	TEST_BEGIN("firing suspend and throttle with a rate: queued, the loop woken");
	CHECK(post(q,
		   DOC(ALERT("firing", SUSP) "," ALERT(
			   "firing", "\"alertname\":\"B\",\"customer\":\"c2\",\"action\":"
				     "\"throttle\",\"rate\":\"10mbit\"")),
		   &r) == 200);
	CHECK_EQ_U64(json_integer_value(json_object_get(r, "queued")), 2);
	json_decref(r);
	CHECK(woken(q));

	TEST_BEGIN("a batch with bad alerts in it: the good ones queued (200), each bad one "
		   "refused by its index");
	CHECK(post(q,
		   DOC(ALERT(
			   "firing",
			   "\"alertname\":\"B\",\"customer\":\"c2\",\"action\":"
			   "\"explode\"") "," ALERT("firing",
						    SUSP) ","
							  "5"
							  "," ALERT(
								  "firing",
								  "\"alertname\":\"N\","
								  "\"customer\":\"c3\",\"action\":"
								  "\"notify\"")),
		   &r) == 200);
	CHECK_EQ_U64(json_integer_value(json_object_get(r, "queued")), 2);
	CHECK_EQ_U64(json_array_size(json_object_get(r, "refused")), 2);
	CHECK(strstr(json_string_value(json_array_get(json_object_get(r, "refused"), 0)) ?: "",
		     "alerts[0] B: action 'explode'") != NULL);
	CHECK(strstr(json_string_value(json_array_get(json_object_get(r, "refused"), 1)) ?: "",
		     "alerts[2]") != NULL);
	CHECK(!json_object_get(r, "error"));
	json_decref(r);
	CHECK(woken(q));

	TEST_BEGIN("resolved alerts and alerts without customer or action: counted, not queued");
	CHECK(post(q, DOC(ALERT("resolved", SUSP) "," ALERT("firing", "\"alertname\":\"Other\"")),
		   &r) == 200);
	CHECK_EQ_U64(json_integer_value(json_object_get(r, "queued")), 0);
	CHECK_EQ_U64(json_integer_value(json_object_get(r, "resolved")), 1);
	CHECK_EQ_U64(json_integer_value(json_object_get(r, "ignored")), 1);
	json_decref(r);
	CHECK(!woken(q));

	tg_alertq_free(q);
	return test_summary();
}
