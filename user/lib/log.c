// SPDX-License-Identifier: GPL-2.0-only
/*
 * log.c - stderr messages, and libbpf's log routed through them.
 */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <bpf/libbpf.h>
#include <jansson.h>

#include "log.h"
#include "util.h"

bool tg_log_json;
int tg_log_verbose;

/* One line per message: what came from outside (a reason, a name) is escaped (util.h). */
static void vlog(const char *level, const char *fmt, va_list ap)
{
	char raw[4096], buf[4096];

	vsnprintf(raw, sizeof(raw), fmt, ap);
	tg_esc_to(raw, buf, sizeof(buf));
	if (tg_log_json) {
		json_t *o = json_pack("{ss}", level, buf);
		char *s = o ? json_dumps(o, JSON_COMPACT) : NULL;

		fprintf(stderr, "%s\n", s ? s : buf);
		free(s);
		json_decref(o);
		return;
	}
	if (level[0] == 'e')
		fprintf(stderr, "tollgate: %s\n", buf);
	else
		fprintf(stderr, "tollgate: %s: %s\n", level, buf);
}

#define DEFINE_LOG(fn, level)                                                                      \
	void fn(const char *fmt, ...)                                                              \
	{                                                                                          \
		va_list ap;                                                                        \
		va_start(ap, fmt);                                                                 \
		vlog(level, fmt, ap);                                                              \
		va_end(ap);                                                                        \
	}

DEFINE_LOG(tg_err, "error")
DEFINE_LOG(tg_warn, "warning")
DEFINE_LOG(tg_info, "info")

static int libbpf_print(enum libbpf_print_level level, const char *fmt, va_list ap)
{
	if (level != LIBBPF_WARN && !tg_log_verbose)
		return 0;
	return vfprintf(stderr, fmt, ap);
}

void tg_log_setup_libbpf(void)
{
	libbpf_set_print(libbpf_print);
}
