// SPDX-License-Identifier: GPL-2.0-only
/*
 * util.c - small helpers more than one part of userspace needs (util.h).
 */
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <string.h>
#include <time.h>
#include <sys/stat.h>

#include "util.h"

int tg_mkdir_parent(const char *path, mode_t mode)
{
	char dir[PATH_MAX], *slash;

	snprintf(dir, sizeof(dir), "%s", path);
	slash = strrchr(dir, '/');
	if (!slash || slash == dir)
		return 0;
	*slash = '\0';
	if (mkdir(dir, mode) == 0)
		return 1;
	return errno == EEXIST ? 0 : -errno;
}

/* Length of the valid UTF-8 sequence at s (1-4), 0 if invalid, overlong or a C1 control. */
static size_t utf8_len(const unsigned char *s)
{
	uint32_t cp;
	size_t n, i;

	if (s[0] < 0x80)
		return 1;
	if (s[0] >= 0xc2 && s[0] <= 0xdf)
		n = 2, cp = s[0] & 0x1f;
	else if (s[0] >= 0xe0 && s[0] <= 0xef)
		n = 3, cp = s[0] & 0x0f;
	else if (s[0] >= 0xf0 && s[0] <= 0xf4)
		n = 4, cp = s[0] & 0x07;
	else
		return 0;
	for (i = 1; i < n; i++) {
		if ((s[i] & 0xc0) != 0x80)
			return 0;
		cp = cp << 6 | (s[i] & 0x3f);
	}
	if ((n == 3 && cp < 0x800) || (n == 4 && (cp < 0x10000 || cp > 0x10ffff)) ||
	    (cp >= 0xd800 && cp <= 0xdfff) || (cp >= 0x80 && cp <= 0x9f))
		return 0;
	return n;
}

size_t tg_esc_to(const char *s, char *out, size_t n)
{
	static const char hex[] = "0123456789abcdef";
	const unsigned char *p = (const unsigned char *)s;
	size_t o = 0, k;

	if (!n)
		return 0;
	while (p && *p) {
		k = *p >= 0x20 && *p != 0x7f && *p != '\\' ? utf8_len(p) : 0;
		if (k) {
			if (o + k >= n)
				break;
			memcpy(out + o, p, k);
			o += k;
			p += k;
			continue;
		}
		if (o + 4 >= n)
			break;
		out[o++] = '\\';
		if (*p == '\\') {
			out[o++] = '\\';
		} else {
			out[o++] = 'x';
			out[o++] = hex[*p >> 4];
			out[o++] = hex[*p & 15];
		}
		p++;
	}
	out[o] = '\0';
	return o;
}

const char *tg_esc(const char *s)
{
	static __thread char bufs[TG_ESC_SLOTS][TG_ESC_LEN];
	static __thread unsigned next;
	char *b;

	if (!s)
		return NULL;
	b = bufs[next++ % TG_ESC_SLOTS];
	tg_esc_to(s, b, TG_ESC_LEN);
	return b;
}
