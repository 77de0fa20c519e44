/*
 * connector-x12: orders to a distributor in ANSI X12 (004010) over folders.
 *
 * send("order", order JSON) writes an 850 purchase order into the partner's
 * outbound folder inside an ISA/GS/ST envelope whose control number comes
 * from the plugin's store (never repeats, survives restarts).  read_feed
 * checks an inbound interchange (855, 810 or 997) whole: envelope, control
 * numbers, segment counts, qualifiers and ids; a bad one gets a rejecting 997
 * in the outbound folder and a clear error, and no record; a good one's
 * records go to the sink, with a "group" record {fid, group} for each
 * group renewd answers with send("functional_ack", {fid, group, accepted})
 * (a 997 accepting or rejecting it) once it has applied the file, or not:
 *   kind "order_ack" {"order", "ack"}                 855 BAK03, BAK02
 *   kind "order_invoice" {"order", "invoice", "amount"} 810 BIG04, BIG02, TDS01
 *   kind "functional_ack" {"group", "status"}         997 AK102, AK901
 * Mappings and settings: docs/connectors.md, "connector-x12".
 */
#include <ctype.h>
#include <errno.h>
#include <inttypes.h>
#include <jansson.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "../builtin.h"

static const struct rd_host_api *host;
static pthread_mutex_t ctl_mu = PTHREAD_MUTEX_INITIALIZER;

static int init(rd_plugin_ctx *ctx, const struct rd_host_api *h)
{
	(void)ctx;
	host = h;
	return 0;
}

struct settings {
	char sender_qual[3], sender_id[16], receiver_qual[3], receiver_id[16];
	char outbound[512], inbound[512];
	char el, seg, comp, usage;
};

static const char *const qualifiers[] = { "01", "02", "08", "09", "12", "14", "20", "27", "28",
					  "29", "30", "33", "ZZ", NULL };

static int known_qualifier(const char *q)
{
	for (int i = 0; qualifiers[i]; i++)
		if (!strcmp(q, qualifiers[i]))
			return 1;
	return 0;
}

static int good_id(const char *s)
{
	size_t n = strlen(s);
	if (n == 0 || n > 15)
		return 0;
	for (size_t i = 0; i < n; i++)
		if (!isalnum((unsigned char)s[i]) && s[i] != '-' && s[i] != '.' && s[i] != ' ')
			return 0;
	return 1;
}

static int one_char(json_t *v, char *out)
{
	const char *s = json_string_value(v);
	if (!s || strlen(s) != 1 || isalnum((unsigned char)s[0]) || s[0] == ' ' || (unsigned char)s[0] > 126)
		return 0;
	*out = s[0];
	return 1;
}

#define BAD(field, ...)                                          \
	do {                                                     \
		bad = 1;                                         \
		if (report)                                      \
			host->field_error(ctx, field, __VA_ARGS__); \
	} while (0)

static int settings(rd_plugin_ctx *ctx, const char *text, struct settings *s, int report)
{
	json_t *j = json_loads(text ? text : "", 0, NULL);
	memset(s, 0, sizeof *s);
	s->el = '*';
	s->seg = '~';
	s->comp = '>';
	s->usage = 'P';
	if (!json_is_object(j)) {
		if (report)
			host->field_error(ctx, "", "the configuration must be a JSON object");
		json_decref(j);
		return RD_EINVAL;
	}
	int bad = 0;
	const char *key;
	json_t *v;
	json_object_foreach(j, key, v) {
		const char *str = json_string_value(v);
		if (!strcmp(key, "sender_qualifier") || !strcmp(key, "receiver_qualifier")) {
			if (!str || !known_qualifier(str))
				BAD(key, "must be an X12 interchange id qualifier (01, 02, 08, 09, 12, 14, 20, 27, 28, 29, 30, 33, ZZ)");
			else
				snprintf(key[0] == 's' ? s->sender_qual : s->receiver_qual, 3, "%s", str);
		} else if (!strcmp(key, "sender_id") || !strcmp(key, "receiver_id")) {
			if (!str || !good_id(str))
				BAD(key, "must be 1 to 15 letters, digits, '-', '.' or spaces");
			else
				snprintf(key[0] == 's' ? s->sender_id : s->receiver_id, 16, "%s", str);
		} else if (!strcmp(key, "outbound_dir") || !strcmp(key, "inbound_dir")) {
			if (!str || str[0] != '/' || strlen(str) > 400)
				BAD(key, "must be an absolute folder path");
			else
				snprintf(key[0] == 'o' ? s->outbound : s->inbound, 512, "%s", str);
		} else if (!strcmp(key, "element_separator")) {
			if (!one_char(v, &s->el))
				BAD(key, "must be one punctuation character");
		} else if (!strcmp(key, "segment_terminator")) {
			if (!one_char(v, &s->seg))
				BAD(key, "must be one punctuation character");
		} else if (!strcmp(key, "component_separator")) {
			if (!one_char(v, &s->comp))
				BAD(key, "must be one punctuation character");
		} else if (!strcmp(key, "usage")) {
			if (!str || (strcmp(str, "P") && strcmp(str, "T")))
				BAD(key, "must be P (production) or T (test)");
			else
				s->usage = str[0];
		} else {
			BAD(key, "unknown setting (sender_qualifier, sender_id, receiver_qualifier, receiver_id, "
				 "outbound_dir, inbound_dir, element_separator, segment_terminator, component_separator, usage)");
		}
	}
	static const char *const required[] = { "sender_qualifier", "sender_id", "receiver_qualifier", "receiver_id",
						"outbound_dir", "inbound_dir", NULL };
	for (int i = 0; required[i]; i++)
		if (!json_object_get(j, required[i]))
			BAD(required[i], "is required");
	if (s->el == s->seg || s->el == s->comp || s->seg == s->comp)
		BAD("segment_terminator", "the element separator, segment terminator and component separator must differ");
	json_decref(j);
	return bad ? RD_EINVAL : 0;
}

static int configure(rd_plugin_ctx *ctx, const char *config)
{
	struct settings s;
	return settings(ctx, config, &s, 1);
}

/* ---- writing ---------------------------------------------------------------------------- */

struct out {
	char *buf;
	size_t len, cap;
	unsigned segs; /* segments since ST */
	const struct settings *s;
};

static void put(struct out *o, const char *text, size_t n)
{
	if (o->len + n + 1 > o->cap) {
		o->cap = (o->len + n + 1) * 2;
		o->buf = realloc(o->buf, o->cap);
		if (!o->buf)
			abort();
	}
	memcpy(o->buf + o->len, text, n);
	o->len += n;
	o->buf[o->len] = 0;
}

/* An element value: separators (and control characters) become spaces. */
static void element(struct out *o, const char *v)
{
	char el[2] = { o->s->el, 0 };
	put(o, el, 1);
	for (; *v; v++) {
		char c = *v;
		if (c == o->s->el || c == o->s->seg || c == o->s->comp || (unsigned char)c < 32)
			c = ' ';
		put(o, &c, 1);
	}
}

/* One segment: id then elements (NULL-terminated). */
static void segment(struct out *o, const char *id, ...)
{
	va_list ap;
	va_start(ap, id);
	put(o, id, strlen(id));
	const char *v;
	while ((v = va_arg(ap, const char *)))
		element(o, v);
	va_end(ap);
	put(o, &o->s->seg, 1);
	o->segs++;
}

static void padded(char *out, const char *v, size_t width)
{
	snprintf(out, width + 1, "%-*s", (int)width, v);
}

/* The next control number of this vendor's interchanges (1..999999999). */
static int next_control(rd_plugin_ctx *ctx, uint64_t *out)
{
	pthread_mutex_lock(&ctl_mu);
	char buf[32] = { 0 };
	size_t len = 0;
	uint64_t n = 0;
	int rc = host->kv_get(ctx, "isa_control", buf, sizeof buf - 1, &len);
	if (rc == 0) {
		buf[len < sizeof buf ? len : sizeof buf - 1] = 0;
		n = strtoull(buf, NULL, 10);
	} else if (rc != RD_ENOTFOUND) {
		pthread_mutex_unlock(&ctl_mu);
		return rc;
	}
	n = n % 999999999 + 1;
	int l = snprintf(buf, sizeof buf, "%" PRIu64, n);
	rc = host->kv_put(ctx, "isa_control", buf, (size_t)l);
	pthread_mutex_unlock(&ctl_mu);
	*out = n;
	return rc;
}

/* ISA and GS for a group of functional id fid. */
static void envelope_open(struct out *o, rd_plugin_ctx *ctx, uint64_t ctl, const char *fid)
{
	const struct settings *s = o->s;
	time_t now = (time_t)host->now(ctx);
	struct tm tm;
	gmtime_r(&now, &tm);
	char yymmdd[16], ccyymmdd[16], hhmm[8], ctl9[16], ctln[24], sid[16], rid[16], sep[2] = { s->comp, 0 },
		usage[2] = { s->usage, 0 };
	strftime(yymmdd, sizeof yymmdd, "%y%m%d", &tm);
	strftime(ccyymmdd, sizeof ccyymmdd, "%Y%m%d", &tm);
	strftime(hhmm, sizeof hhmm, "%H%M", &tm);
	snprintf(ctl9, sizeof ctl9, "%09" PRIu64, ctl);
	snprintf(ctln, sizeof ctln, "%" PRIu64, ctl);
	padded(sid, s->sender_id, 15);
	padded(rid, s->receiver_id, 15);
	/* ISA16 is the component separator itself: written raw */
	char isa[200];
	snprintf(isa, sizeof isa, "ISA%c00%c          %c00%c          %c%s%c%s%c%s%c%s%c%s%c%s%cU%c00401%c%s%c0%c%s%c%s%c",
		 s->el, s->el, s->el, s->el, s->el, s->sender_qual, s->el, sid, s->el, s->receiver_qual, s->el, rid,
		 s->el, yymmdd, s->el, hhmm, s->el, s->el, s->el, ctl9, s->el, s->el, usage, s->el, sep, s->seg);
	put(o, isa, strlen(isa));
	segment(o, "GS", fid, s->sender_id, s->receiver_id, ccyymmdd, hhmm, ctln, "X", "004010", NULL);
}

static void envelope_close(struct out *o, uint64_t ctl, unsigned sets)
{
	char ctl9[16], ctln[24], n[16];
	snprintf(ctl9, sizeof ctl9, "%09" PRIu64, ctl);
	snprintf(ctln, sizeof ctln, "%" PRIu64, ctl);
	snprintf(n, sizeof n, "%u", sets);
	segment(o, "GE", n, ctln, NULL);
	segment(o, "IEA", "1", ctl9, NULL);
}

/* Writes the interchange into the outbound folder (a temporary name, then
 * renamed: a reader never sees half a file). */
static int deliver(rd_plugin_ctx *ctx, const struct settings *s, const char *prefix, uint64_t ctl, const struct out *o,
		   char *name, size_t cap)
{
	char path[1100], tmp[1100];
	snprintf(name, cap, "%s-%09" PRIu64 ".x12", prefix, ctl);
	snprintf(path, sizeof path, "%s/%s", s->outbound, name);
	snprintf(tmp, sizeof tmp, "%s/.%s.tmp", s->outbound, name);
	FILE *f = fopen(tmp, "wbx");
	if (!f) {
		host->error(ctx, "cannot write into the outbound folder %s: %s", s->outbound, strerror(errno));
		return -EIO;
	}
	int ok = fwrite(o->buf, 1, o->len, f) == o->len;
	ok = (fflush(f) == 0) && ok;
	ok = (fclose(f) == 0) && ok;
	if (!ok || rename(tmp, path) != 0) {
		remove(tmp);
		host->error(ctx, "cannot write %s into the outbound folder: %s", name, strerror(errno));
		return -EIO;
	}
	return 0;
}

/* An amount of the order JSON: renewd's decimal in the currency's own
 * exponent (KEY_decimal: JPY "5000", KWD "24.690") when it sends one, else
 * the minor units with two decimals (an older renewd). */
static void money(char *out, size_t cap, json_t *obj, const char *key)
{
	char dk[48];
	snprintf(dk, sizeof dk, "%s_decimal", key);
	const char *dec = json_string_value(json_object_get(obj, dk));
	if (dec && *dec && strlen(dec) < cap && strspn(dec, "-0123456789.") == strlen(dec)) {
		snprintf(out, cap, "%s", dec);
		return;
	}
	json_int_t minor = json_integer_value(json_object_get(obj, key));
	snprintf(out, cap, "%s%lld.%02lld", minor < 0 ? "-" : "", (long long)(minor < 0 ? -minor : minor) / 100,
		 (long long)(minor < 0 ? -minor : minor) % 100);
}

/* An 850 for the order (JSON: number, po_number, currency, total, date
 * YYYYMMDD, lines [{sku, name, quantity, unit_price}]). */
static int send_order(rd_plugin_ctx *ctx, const struct settings *s, json_t *j, char *reference, size_t ref_cap)
{
	const char *number = json_string_value(json_object_get(j, "number"));
	const char *po = json_string_value(json_object_get(j, "po_number"));
	const char *cur = json_string_value(json_object_get(j, "currency"));
	const char *date = json_string_value(json_object_get(j, "date"));
	json_t *lines = json_object_get(j, "lines");
	if (!number || !cur || !date || !json_is_array(lines) || json_array_size(lines) == 0) {
		host->error(ctx, "an order needs number, currency, date and lines");
		return RD_EINVAL;
	}
	uint64_t ctl;
	int rc = next_control(ctx, &ctl);
	if (rc < 0) {
		host->error(ctx, "cannot take a control number from the store");
		return rc;
	}
	struct out o = { .s = s };
	envelope_open(&o, ctx, ctl, "PO");
	char st02[16];
	snprintf(st02, sizeof st02, "%04" PRIu64, ctl);
	o.segs = 0;
	segment(&o, "ST", "850", st02, NULL);
	segment(&o, "BEG", "00", "SA", number, "", date, NULL);
	if (po && po[0])
		segment(&o, "REF", "PO", po, NULL);
	segment(&o, "CUR", "BY", cur, NULL);
	size_t i;
	json_t *line;
	json_array_foreach(lines, i, line) {
		char n[24], qty[24], price[32];
		snprintf(n, sizeof n, "%zu", i + 1);
		snprintf(qty, sizeof qty, "%lld", (long long)json_integer_value(json_object_get(line, "quantity")));
		money(price, sizeof price, line, "unit_price");
		const char *sku = json_string_value(json_object_get(line, "sku"));
		const char *name = json_string_value(json_object_get(line, "name"));
		segment(&o, "PO1", n, qty, "EA", price, "", "VP", sku ? sku : "", NULL);
		if (name && name[0])
			segment(&o, "PID", "F", "", "", "", name, NULL);
	}
	char nl[24], total[32];
	snprintf(nl, sizeof nl, "%zu", json_array_size(lines));
	money(total, sizeof total, j, "total");
	segment(&o, "CTT", nl, NULL);
	segment(&o, "AMT", "TT", total, NULL);
	char se01[16];
	snprintf(se01, sizeof se01, "%u", o.segs + 1);
	segment(&o, "SE", se01, st02, NULL);
	envelope_close(&o, ctl, 1);
	char name[64];
	rc = deliver(ctx, s, "850", ctl, &o, name, sizeof name);
	free(o.buf);
	if (rc == 0)
		snprintf(reference, ref_cap, "%" PRIu64, ctl);
	return rc;
}

/* ---- reading ---------------------------------------------------------------------------- */

#define MAX_EL 64

struct seg {
	char *el[MAX_EL]; /* el[0] is the segment id */
	int n;
};

struct inbound {
	char *text;
	struct seg *segs;
	int n;
	char el, term, comp;
};

static void trim(char **s)
{
	while (**s == '\r' || **s == '\n' || **s == ' ' || **s == '\t')
		(*s)++;
	char *e = *s + strlen(*s);
	while (e > *s && (e[-1] == '\r' || e[-1] == '\n'))
		*--e = 0;
}

/* Splits the interchange into segments and elements. */
static int split(struct inbound *in, const void *data, size_t len, char *why, size_t cap)
{
	in->text = malloc(len + 1);
	if (!in->text)
		return -ENOMEM;
	memcpy(in->text, data, len);
	in->text[len] = 0;
	if (strlen(in->text) != len) {
		snprintf(why, cap, "the file holds a NUL byte");
		return RD_EINVAL;
	}
	char *p = in->text;
	while (*p == ' ' || *p == '\r' || *p == '\n' || *p == '\t')
		p++;
	if (strncmp(p, "ISA", 3) != 0 || strlen(p) < 106) {
		snprintf(why, cap, "not an X12 interchange: it must begin with a 106-character ISA segment");
		return RD_EINVAL;
	}
	in->el = p[3];
	in->comp = p[104];
	in->term = p[105];
	if (isalnum((unsigned char)in->el) || isalnum((unsigned char)in->term) || in->el == in->term) {
		snprintf(why, cap, "ISA: the separators at positions 4 and 106 are not usable");
		return RD_EINVAL;
	}
	size_t cap_segs = 16;
	in->segs = calloc(cap_segs, sizeof *in->segs);
	char *save = NULL, term[2] = { in->term, 0 };
	for (char *s = strtok_r(p, term, &save); s; s = strtok_r(NULL, term, &save)) {
		trim(&s);
		if (!*s)
			continue;
		if ((size_t)in->n == cap_segs) {
			cap_segs *= 2;
			in->segs = realloc(in->segs, cap_segs * sizeof *in->segs);
		}
		struct seg *g = &in->segs[in->n++];
		g->n = 0;
		char *e = s;
		for (;;) {
			if (g->n == MAX_EL) {
				snprintf(why, cap, "segment %d (%.3s): more than %d elements", in->n, s, MAX_EL - 1);
				return RD_EINVAL;
			}
			g->el[g->n++] = e;
			char *next = strchr(e, in->el);
			if (!next)
				break;
			*next = 0;
			e = next + 1;
		}
	}
	return 0;
}

static const char *el(const struct seg *g, int i)
{
	return i < g->n ? g->el[i] : "";
}

static void rstrip(char *out, size_t cap, const char *v)
{
	snprintf(out, cap, "%s", v);
	size_t n = strlen(out);
	while (n && out[n - 1] == ' ')
		out[--n] = 0;
}

static int all_digits(const char *s)
{
	if (!*s)
		return 0;
	for (; *s; s++)
		if (!isdigit((unsigned char)*s))
			return 0;
	return 1;
}

/* An amount with an optional decimal point ("123.45") or implied two
 * decimals (TDS01: "12345") into minor units. */
static int amount(const char *v, int implied, long long *out)
{
	if (!*v || strlen(v) > 18)
		return 0;
	const char *dot = strchr(v, '.');
	char *end;
	if (implied && !dot) {
		if (!all_digits(v))
			return 0;
		*out = strtoll(v, &end, 10);
		return 1;
	}
	long long whole = strtoll(v, &end, 10);
	if (end == v && *end != '.')
		return 0;
	long long frac = 0;
	if (*end == '.') {
		const char *f = end + 1;
		if (!all_digits(f) || strlen(f) > 2)
			return 0;
		frac = strtoll(f, NULL, 10) * (strlen(f) == 1 ? 10 : 1);
	} else if (*end) {
		return 0;
	}
	*out = whole * 100 + (v[0] == '-' ? -frac : frac);
	return 1;
}

struct group_info {
	char fid[4], ctl[16];
};

/* Checks the interchange and collects its records (JSON array) or says why
 * not in why; group collects the first group's id for the 997. */
static int check(const struct settings *s, struct inbound *in, json_t *records, struct group_info *gi, char *isa13,
		 char *why, size_t cap)
{
	struct seg *g = &in->segs[0];
	if (g->n != 17) {
		snprintf(why, cap, "ISA: %d elements, an ISA has 16", g->n - 1);
		return RD_EINVAL;
	}
	char q5[8], id6[32], q7[8], id8[32];
	rstrip(q5, sizeof q5, el(g, 5));
	rstrip(id6, sizeof id6, el(g, 6));
	rstrip(q7, sizeof q7, el(g, 7));
	rstrip(id8, sizeof id8, el(g, 8));
	if (!known_qualifier(q5)) {
		snprintf(why, cap, "ISA05: unknown interchange id qualifier \"%s\"", q5);
		return RD_EINVAL;
	}
	if (!known_qualifier(q7)) {
		snprintf(why, cap, "ISA07: unknown interchange id qualifier \"%s\"", q7);
		return RD_EINVAL;
	}
	if (strcmp(q5, s->receiver_qual) || strcmp(id6, s->receiver_id)) {
		snprintf(why, cap, "ISA05/ISA06: the sender %s/%s is not this partner (%s/%s)", q5, id6, s->receiver_qual,
			 s->receiver_id);
		return RD_EINVAL;
	}
	if (strcmp(q7, s->sender_qual) || strcmp(id8, s->sender_id)) {
		snprintf(why, cap, "ISA07/ISA08: the receiver %s/%s is not us (%s/%s)", q7, id8, s->sender_qual, s->sender_id);
		return RD_EINVAL;
	}
	snprintf(isa13, 16, "%s", el(g, 13));
	if (strlen(isa13) != 9 || !all_digits(isa13)) {
		snprintf(why, cap, "ISA13: the control number \"%s\" must be 9 digits", isa13);
		return RD_EINVAL;
	}
	int i = 1, groups = 0;
	while (i < in->n && !strcmp(in->segs[i].el[0], "GS")) {
		struct seg *gs = &in->segs[i++];
		groups++;
		const char *fid = el(gs, 1), *gctl = el(gs, 6);
		if (groups == 1) {
			snprintf(gi->fid, sizeof gi->fid, "%s", fid);
			snprintf(gi->ctl, sizeof gi->ctl, "%s", gctl);
		}
		if (!all_digits(gctl)) {
			snprintf(why, cap, "GS06: the group control number \"%s\" is not a number", gctl);
			return RD_EINVAL;
		}
		if (strcmp(el(gs, 2), s->receiver_id) || strcmp(el(gs, 3), s->sender_id)) {
			snprintf(why, cap, "GS02/GS03: %s to %s is not this partner to us", el(gs, 2), el(gs, 3));
			return RD_EINVAL;
		}
		int sets = 0;
		while (i < in->n && !strcmp(in->segs[i].el[0], "ST")) {
			struct seg *st = &in->segs[i];
			int start = i++;
			sets++;
			const char *type = el(st, 1);
			const char *want = !strcmp(type, "855") ? "PR" : !strcmp(type, "810") ? "IN" : !strcmp(type, "997") ? "FA" : NULL;
			if (!want) {
				snprintf(why, cap, "ST01: transaction set %s is not one renewd reads (855, 810, 997)", type);
				return RD_EINVAL;
			}
			if (strcmp(want, fid)) {
				snprintf(why, cap, "GS01: a %s belongs in a %s group, not %s", type, want, fid);
				return RD_EINVAL;
			}
			json_t *rec = NULL;
			while (i < in->n && strcmp(in->segs[i].el[0], "SE") && strcmp(in->segs[i].el[0], "ST") &&
			       strcmp(in->segs[i].el[0], "GE") && strcmp(in->segs[i].el[0], "IEA")) {
				struct seg *b = &in->segs[i++];
				const char *id = b->el[0];
				if (!strcmp(type, "855") && !strcmp(id, "BAK")) {
					const char *code = el(b, 2);
					if (strcmp(code, "AC") && strcmp(code, "AD") && strcmp(code, "AE") && strcmp(code, "AK") &&
					    strcmp(code, "RD") && strcmp(code, "RJ")) {
						snprintf(why, cap, "BAK02: unknown acknowledgment type \"%s\"", code);
						return RD_EINVAL;
					}
					rec = json_pack("{s:s, s:s, s:s}", "kind", "order_ack", "order", el(b, 3), "ack", code);
				} else if (!strcmp(type, "810") && !strcmp(id, "BIG")) {
					rec = json_pack("{s:s, s:s, s:s}", "kind", "order_invoice", "order", el(b, 4), "invoice", el(b, 2));
				} else if (!strcmp(type, "810") && !strcmp(id, "TDS") && rec) {
					long long a;
					if (!amount(el(b, 1), 1, &a)) {
						snprintf(why, cap, "TDS01: \"%s\" is not an amount", el(b, 1));
						json_decref(rec);
						return RD_EINVAL;
					}
					json_object_set_new(rec, "amount", json_integer(a));
					/* TDS01 is N2 (two implied decimals) whatever the currency:
					 * the decimal lets renewd read it in the order's own */
					char dec[32];
					long long m = a < 0 ? -a : a;
					snprintf(dec, sizeof dec, "%s%lld.%02lld", a < 0 ? "-" : "", m / 100, m % 100);
					json_object_set_new(rec, "amount_decimal", json_string(dec));
				} else if (!strcmp(type, "997") && !strcmp(id, "AK1")) {
					rec = json_pack("{s:s, s:s, s:s}", "kind", "functional_ack", "group", el(b, 2), "status", "");
				} else if (!strcmp(type, "997") && !strcmp(id, "AK9") && rec) {
					json_object_set_new(rec, "status", json_string(el(b, 1)));
				}
			}
			if (i >= in->n || strcmp(in->segs[i].el[0], "SE")) {
				json_decref(rec);
				snprintf(why, cap, "ST %s: no SE closes the transaction set", el(st, 2));
				return RD_EINVAL;
			}
			struct seg *se = &in->segs[i++];
			int count = i - start;
			if (!all_digits(el(se, 1)) || atoi(el(se, 1)) != count) {
				json_decref(rec);
				snprintf(why, cap, "SE01: the segment count says %s, the transaction set has %d", el(se, 1), count);
				return RD_EINVAL;
			}
			if (strcmp(el(se, 2), el(st, 2))) {
				json_decref(rec);
				snprintf(why, cap, "SE02: control number %s does not match ST02 %s", el(se, 2), el(st, 2));
				return RD_EINVAL;
			}
			if (!rec || (strcmp(type, "997") && !json_string_value(json_object_get(rec, "order"))[0])) {
				json_decref(rec);
				snprintf(why, cap, "ST %s: the %s lacks its %s segment", el(st, 2), type,
					 !strcmp(type, "855") ? "BAK" : !strcmp(type, "810") ? "BIG" : "AK1");
				return RD_EINVAL;
			}
			if (!strcmp(type, "810") && !json_object_get(rec, "amount")) {
				json_decref(rec);
				snprintf(why, cap, "ST %s: the 810 lacks its TDS total", el(st, 2));
				return RD_EINVAL;
			}
			if (!strcmp(type, "997") && !json_string_value(json_object_get(rec, "status"))[0]) {
				json_decref(rec);
				snprintf(why, cap, "ST %s: the 997 lacks its AK9", el(st, 2));
				return RD_EINVAL;
			}
			json_object_set_new(rec, "interchange", json_string(isa13));
			json_array_append_new(records, rec);
		}
		if (i >= in->n || strcmp(in->segs[i].el[0], "GE")) {
			snprintf(why, cap, "GS %s: no GE closes the group (found %s)", gctl, i < in->n ? in->segs[i].el[0] : "the end");
			return RD_EINVAL;
		}
		struct seg *ge = &in->segs[i++];
		if (!all_digits(el(ge, 1)) || atoi(el(ge, 1)) != sets) {
			snprintf(why, cap, "GE01: the group says %s transaction sets, it has %d", el(ge, 1), sets);
			return RD_EINVAL;
		}
		if (strcmp(el(ge, 2), gctl)) {
			snprintf(why, cap, "GE02: control number %s does not match GS06 %s", el(ge, 2), gctl);
			return RD_EINVAL;
		}
		if (strcmp(fid, "FA")) /* renewd answers it with a 997 once the file is applied, or not */
			json_array_append_new(records, json_pack("{s:s, s:s, s:s}", "kind", "group", "fid", fid, "group", gctl));
	}
	if (groups == 0) {
		snprintf(why, cap, "no GS group follows the ISA");
		return RD_EINVAL;
	}
	if (i >= in->n || strcmp(in->segs[i].el[0], "IEA")) {
		snprintf(why, cap, "no IEA closes the interchange (found %s)", i < in->n ? in->segs[i].el[0] : "the end");
		return RD_EINVAL;
	}
	struct seg *iea = &in->segs[i++];
	if (!all_digits(el(iea, 1)) || atoi(el(iea, 1)) != groups) {
		snprintf(why, cap, "IEA01: the interchange says %s groups, it has %d", el(iea, 1), groups);
		return RD_EINVAL;
	}
	if (strcmp(el(iea, 2), isa13)) {
		snprintf(why, cap, "IEA02: control number %s does not match ISA13 %s", el(iea, 2), isa13);
		return RD_EINVAL;
	}
	if (i != in->n) {
		snprintf(why, cap, "segments after the IEA (%s)", in->segs[i].el[0]);
		return RD_EINVAL;
	}
	return 0;
}

/* A 997 answering group gi: accepted (A) or rejected (R). */
static int answer_997(rd_plugin_ctx *ctx, const struct settings *s, const struct group_info *gi, int accepted)
{
	uint64_t ctl;
	if (next_control(ctx, &ctl) < 0)
		return -EIO;
	struct out o = { .s = s };
	envelope_open(&o, ctx, ctl, "FA");
	char st02[16];
	snprintf(st02, sizeof st02, "%04" PRIu64, ctl);
	o.segs = 0;
	segment(&o, "ST", "997", st02, NULL);
	segment(&o, "AK1", gi->fid[0] ? gi->fid : "PR", gi->ctl[0] ? gi->ctl : "0", NULL);
	segment(&o, "AK9", accepted ? "A" : "R", "1", accepted ? "1" : "1", accepted ? "1" : "0", NULL);
	char se01[16];
	snprintf(se01, sizeof se01, "%u", o.segs + 1);
	segment(&o, "SE", se01, st02, NULL);
	envelope_close(&o, ctl, 1);
	char name[64];
	int rc = deliver(ctx, s, "997", ctl, &o, name, sizeof name);
	free(o.buf);
	return rc;
}

static int read_feed(rd_plugin_ctx *ctx, const void *data, size_t len, rd_feed_sink sink, void *sink_ctx)
{
	struct settings s;
	if (settings(ctx, host->config(ctx), &s, 0) < 0) {
		host->error(ctx, "the enablement's configuration is not valid");
		return RD_EINVAL;
	}
	struct inbound in = { 0 };
	char why[400] = "", isa13[16] = "";
	struct group_info gi = { "", "" };
	json_t *records = json_array();
	int rc = split(&in, data, len, why, sizeof why);
	if (rc == 0)
		rc = check(&s, &in, records, &gi, isa13, why, sizeof why);
	if (rc < 0 && strcmp(gi.fid, "FA") != 0) /* a 997 is never answered with a 997 */
		answer_997(ctx, &s, &gi, 0);
	if (rc == 0) {
		size_t i;
		json_t *r;
		json_array_foreach(records, i, r) {
			char *text = json_dumps(r, JSON_COMPACT);
			rc = sink(sink_ctx, json_string_value(json_object_get(r, "kind")), text);
			free(text);
			if (rc < 0)
				break;
		}
	} else if (why[0]) {
		host->error(ctx, "%s", why);
	}
	json_decref(records);
	free(in.segs);
	free(in.text);
	return rc;
}

static const char *text_of(json_t *j, const char *key)
{
	const char *v = json_string_value(json_object_get(j, key));
	return v ? v : "";
}

static int send(rd_plugin_ctx *ctx, const char *what, const char *json, char *reference, size_t ref_cap)
{
	struct settings s;
	if (settings(ctx, host->config(ctx), &s, 0) < 0) {
		host->error(ctx, "the enablement's configuration is not valid");
		return RD_EINVAL;
	}
	json_t *j = json_loads(json, 0, NULL);
	if (!json_is_object(j)) {
		json_decref(j);
		host->error(ctx, "the %s is not a JSON object", what);
		return RD_EINVAL;
	}
	int rc;
	if (!strcmp(what, "order")) {
		rc = send_order(ctx, &s, j, reference, ref_cap);
	} else if (!strcmp(what, "functional_ack")) { /* {fid, group, accepted}: a 997 */
		struct group_info gi = { "", "" };
		snprintf(gi.fid, sizeof gi.fid, "%s", text_of(j, "fid"));
		snprintf(gi.ctl, sizeof gi.ctl, "%s", text_of(j, "group"));
		rc = answer_997(ctx, &s, &gi, json_is_true(json_object_get(j, "accepted")));
	} else {
		host->error(ctx, "connector-x12 sends orders and functional acknowledgements, not \"%s\"", what);
		rc = RD_EINVAL;
	}
	json_decref(j);
	return rc;
}

static const struct rd_connector_ops ops = {
	.version = RD_CONNECTOR_OPS_V2,
	.read_feed = read_feed,
	.send = send,
	.order_format = "x12",
};

static const struct rd_plugin desc = {
	.abi = RENEWD_PLUGIN_ABI,
	.size = sizeof(struct rd_plugin),
	.name = "connector-x12",
	.version = "1.0.0",
	.kind = RD_PLUGIN_CONNECTOR,
	.description = "Orders to a distributor in ANSI X12 (850 out; 855, 810 and 997 in) through folders",
	.init = init,
	.configure = configure,
	.ops = &ops,
};

RD_PLUGIN_ENTRY_DEFINE(rd_builtin_connector_x12)
{
	return &desc;
}
