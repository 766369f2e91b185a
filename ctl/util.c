// SPDX-License-Identifier: GPL-2.0
/* util.c - xadcctl output helpers and aligned tables (see ctl.h). */
#include <errno.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ctl.h"

void ctl_err(const char *fmt, ...)
{
	va_list ap;

	fputs("xadcctl: ", stderr);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
}

char *ctl_read_file(const char *path, size_t *len)
{
	FILE *f = strcmp(path, "-") ? fopen(path, "r") : stdin;
	size_t cap = 65536, n = 0, got;
	char *buf = NULL, *p;

	if (!f) {
		ctl_err("%s: %s", path, strerror(errno));
		return NULL;
	}
	for (;;) {
		p = realloc(buf, cap + 1);
		if (!p) {
			ctl_err("%s: out of memory", path);
			goto fail;
		}
		buf = p;
		got = fread(buf + n, 1, cap - n, f);
		n += got;
		if (n < cap)
			break;
		cap *= 2;
	}
	if (ferror(f)) {
		ctl_err("%s: read error: %s", path, strerror(errno));
		goto fail;
	}
	if (f != stdin)
		fclose(f);
	buf[n] = '\0';
	*len = n;
	return buf;
fail:
	if (f != stdin)
		fclose(f);
	free(buf);
	return NULL;
}

void ctl_print_json(json_t *j)
{
	size_t flags = JSON_ENCODE_ANY | (ctl.pretty ? JSON_INDENT(2) : JSON_COMPACT);

	json_dumpf(j, stdout, flags);
	fputc('\n', stdout);
}

const char *ctl_str(json_t *o, const char *key)
{
	const char *s = json_string_value(json_object_get(o, key));

	return s ? s : "";
}

long long ctl_int(json_t *o, const char *key)
{
	return json_integer_value(json_object_get(o, key));
}

char *ctl_human(uint64_t v, char *buf, size_t len)
{
	static const char units[] = "KMGTP";
	double d = v;
	unsigned u = 0;

	if (v < 10000) {
		snprintf(buf, len, "%" PRIu64, v);
		return buf;
	}
	d /= 1000;
	while (d >= 1000 && u < sizeof(units) - 2) {
		d /= 1000;
		u++;
	}
	snprintf(buf, len, "%.1f%c", d, units[u]);
	return buf;
}

/* ---------------------------------------------------------------------- */
/* Tables                                                                  */
/* ---------------------------------------------------------------------- */

struct ctl_table {
	unsigned ncols, nrows, cap;
	char **cells; /* nrows x ncols, row 0 is the header */
};

static void ctl_table_addv(struct ctl_table *t, va_list ap)
{
	unsigned i;

	if (t->nrows == t->cap) {
		char **p;

		t->cap = t->cap ? 2 * t->cap : 16;
		p = realloc(t->cells, (size_t)t->cap * t->ncols * sizeof(*p));
		if (!p) {
			ctl_err("out of memory");
			exit(CTL_ERR);
		}
		t->cells = p;
	}
	for (i = 0; i < t->ncols; i++) {
		const char *s = va_arg(ap, const char *);

		t->cells[t->nrows * t->ncols + i] = strdup(s ? s : "");
	}
	t->nrows++;
}

struct ctl_table *ctl_table_new(unsigned ncols, ...)
{
	struct ctl_table *t = calloc(1, sizeof(*t));
	va_list ap;

	if (!t) {
		ctl_err("out of memory");
		exit(CTL_ERR);
	}
	t->ncols = ncols;
	va_start(ap, ncols);
	ctl_table_addv(t, ap);
	va_end(ap);
	return t;
}

void ctl_table_row(struct ctl_table *t, ...)
{
	va_list ap;

	va_start(ap, t);
	ctl_table_addv(t, ap);
	va_end(ap);
}

void ctl_table_print(struct ctl_table *t)
{
	size_t *w = calloc(t->ncols, sizeof(*w));
	unsigned r, c;

	if (!w) {
		ctl_err("out of memory");
		exit(CTL_ERR);
	}
	for (r = 0; r < t->nrows; r++)
		for (c = 0; c < t->ncols; c++) {
			const char *s = t->cells[r * t->ncols + c];
			size_t n = s ? strlen(s) : 0;

			if (n > w[c])
				w[c] = n;
		}
	for (r = 0; r < t->nrows; r++) {
		unsigned last = 0;

		/* Pad only up to the last non-empty cell: no trailing blanks. */
		for (c = 0; c < t->ncols; c++)
			if (t->cells[r * t->ncols + c] && t->cells[r * t->ncols + c][0])
				last = c;
		for (c = 0; c < t->ncols; c++) {
			const char *s = t->cells[r * t->ncols + c];

			if (c < last)
				printf("%-*s  ", (int)w[c], s ? s : "");
			else if (c == last)
				fputs(s ? s : "", stdout);
			free(t->cells[r * t->ncols + c]);
		}
		putchar('\n');
	}
	free(t->cells);
	free(w);
	free(t);
}
