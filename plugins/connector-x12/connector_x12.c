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
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "../builtin.h"
#include "edi_kit.h"

static const struct rd_host_api *host;

static int init(rd_plugin_ctx *ctx, const struct rd_host_api *h)
{
	(void)ctx;
	host = h;
	return 0;
}

struct settings {
	struct edikit_common c;
	char el, seg, comp, usage;
};

static const char *const qualifiers[] = { "01", "02", "08", "09", "12", "14", "20", "27", "28",
					  "29", "30", "33", "ZZ", NULL };

static int one_char(json_t *v, char *out)
{
	const char *s = json_string_value(v);
	if (!s || strlen(s) != 1 || isalnum((unsigned char)s[0]) || s[0] == ' ' || (unsigned char)s[0] > 126)
		return 0;
	*out = s[0];
	return 1;
}

static int extra(void *settings, const char *key, json_t *v, const char **why)
{
	struct settings *s = settings;
	const char *str = json_string_value(v);
	*why = NULL;
	if (!strcmp(key, "element_separator") || !strcmp(key, "segment_terminator") || !strcmp(key, "component_separator")) {
		if (!one_char(v, key[0] == 'e' ? &s->el : key[1] == 'e' ? &s->seg : &s->comp))
			*why = "must be one punctuation character";
	} else if (!strcmp(key, "usage")) {
		if (!str || (strcmp(str, "P") && strcmp(str, "T")))
			*why = "must be P (production) or T (test)";
		else
			s->usage = str[0];
	} else {
		return 0;
	}
	return 1;
}

static const struct edikit_format format = {
	.name = "connector-x12",
	.qualifiers = qualifiers,
	.qualifier_rule = "must be an X12 interchange id qualifier (01, 02, 08, 09, 12, 14, 20, 27, 28, 29, 30, 33, ZZ)",
	.id_max = 15,
	.id_rule = "must be 1 to 15 letters, digits, '-', '.' or spaces",
	.keys = "sender_qualifier, sender_id, receiver_qualifier, receiver_id, outbound_dir, inbound_dir, "
		"element_separator, segment_terminator, component_separator, usage",
	.extra = extra,
	.what_sent = "orders and functional acknowledgements",
};

static int settings(rd_plugin_ctx *ctx, const char *text, void *out, int report)
{
	struct settings *s = out;
	memset(s, 0, sizeof *s);
	s->el = '*';
	s->seg = '~';
	s->comp = '>';
	s->usage = 'P';
	int rc = edikit_settings(host, ctx, &format, text, &s->c, s, report);
	if (s->el == s->seg || s->el == s->comp || s->seg == s->comp) {
		if (report)
			host->field_error(ctx, "segment_terminator",
					  "the element separator, segment terminator and component separator must differ");
		rc = RD_EINVAL;
	}
	return rc;
}

static int configure(rd_plugin_ctx *ctx, const char *config)
{
	struct settings s;
	return settings(ctx, config, &s, 1);
}

/* ---- writing ---------------------------------------------------------------------------- */

struct out {
	struct edikit_out k;
	const struct settings *s;
};

static void put(struct out *o, const char *text, size_t n)
{
	edikit_put(&o->k, text, n);
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
	o->k.segs++;
}

static void padded(char *out, const char *v, size_t width)
{
	snprintf(out, width + 1, "%-*.*s", (int)width, (int)width, v);
}

/* Interchange control numbers: 1..999999999, one counter per vendor. */
static const struct edikit_file file_850 = { "isa_control", "850", "x12", 999999999, 9 };
static const struct edikit_file file_997 = { "isa_control", "997", "x12", 999999999, 9 };

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
	padded(sid, s->c.sender_id, 15);
	padded(rid, s->c.receiver_id, 15);
	/* ISA16 is the component separator itself: written raw */
	char isa[200];
	snprintf(isa, sizeof isa, "ISA%c00%c          %c00%c          %c%s%c%s%c%s%c%s%c%s%c%s%cU%c00401%c%s%c0%c%s%c%s%c",
		 s->el, s->el, s->el, s->el, s->el, s->c.sender_qual, s->el, sid, s->el, s->c.receiver_qual, s->el, rid,
		 s->el, yymmdd, s->el, hhmm, s->el, s->el, s->el, ctl9, s->el, s->el, usage, s->el, sep, s->seg);
	put(o, isa, strlen(isa));
	segment(o, "GS", fid, s->c.sender_id, s->c.receiver_id, ccyymmdd, hhmm, ctln, "X", "004010", NULL);
	o->k.segs = 0;
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

struct build {
	rd_plugin_ctx *ctx;
	const struct settings *s;
	json_t *j;
	const char *fid, *group;
	int accepted;
};

/* An 850 for the order (JSON: number, po_number, currency, total, date
 * YYYYMMDD, lines [{sku, name, quantity, unit_price}]). */
static void build_850(void *arg, uint64_t ctl, struct edikit_out *k)
{
	struct build *b = arg;
	json_t *j = b->j, *lines = json_object_get(j, "lines");
	struct out o = { .s = b->s };
	envelope_open(&o, b->ctx, ctl, "PO");
	char st02[16];
	snprintf(st02, sizeof st02, "%04" PRIu64, ctl);
	segment(&o, "ST", "850", st02, NULL);
	segment(&o, "BEG", "00", "SA", edikit_text(j, "number"), "", edikit_text(j, "date"), NULL);
	if (edikit_text(j, "po_number")[0])
		segment(&o, "REF", "PO", edikit_text(j, "po_number"), NULL);
	segment(&o, "CUR", "BY", edikit_text(j, "currency"), NULL);
	size_t i;
	json_t *line;
	json_array_foreach(lines, i, line) {
		char n[24], qty[24], price[32];
		snprintf(n, sizeof n, "%zu", i + 1);
		snprintf(qty, sizeof qty, "%lld", (long long)json_integer_value(json_object_get(line, "quantity")));
		edikit_money(price, sizeof price, line, "unit_price");
		segment(&o, "PO1", n, qty, "EA", price, "", "VP", edikit_text(line, "sku"), NULL);
		if (edikit_text(line, "name")[0])
			segment(&o, "PID", "F", "", "", "", edikit_text(line, "name"), NULL);
	}
	char nl[24], total[32];
	snprintf(nl, sizeof nl, "%zu", json_array_size(lines));
	edikit_money(total, sizeof total, j, "total");
	segment(&o, "CTT", nl, NULL);
	segment(&o, "AMT", "TT", total, NULL);
	char se01[16];
	snprintf(se01, sizeof se01, "%u", o.k.segs + 1);
	segment(&o, "SE", se01, st02, NULL);
	envelope_close(&o, ctl, 1);
	*k = o.k;
}

static int send_order(rd_plugin_ctx *ctx, const void *settings, json_t *j, char *reference, size_t ref_cap)
{
	json_t *lines = json_object_get(j, "lines");
	if (!edikit_text(j, "number")[0] || !edikit_text(j, "currency")[0] || !edikit_text(j, "date")[0] ||
	    !json_is_array(lines) || json_array_size(lines) == 0) {
		host->error(ctx, "an order needs number, currency, date and lines");
		return RD_EINVAL;
	}
	const struct settings *s = settings;
	struct build b = { .ctx = ctx, .s = s, .j = j };
	uint64_t ctl;
	int rc = edikit_write(host, ctx, s->c.outbound, &file_850, build_850, &b, &ctl);
	if (rc == 0)
		snprintf(reference, ref_cap, "%" PRIu64, ctl);
	return rc;
}

/* A 997 answering group (fid, group): accepted (A) or rejected (R). */
static void build_997(void *arg, uint64_t ctl, struct edikit_out *k)
{
	struct build *b = arg;
	struct out o = { .s = b->s };
	envelope_open(&o, b->ctx, ctl, "FA");
	char st02[16];
	snprintf(st02, sizeof st02, "%04" PRIu64, ctl);
	segment(&o, "ST", "997", st02, NULL);
	segment(&o, "AK1", b->fid[0] ? b->fid : "PR", b->group[0] ? b->group : "0", NULL);
	segment(&o, "AK9", b->accepted ? "A" : "R", "1", "1", b->accepted ? "1" : "0", NULL);
	char se01[16];
	snprintf(se01, sizeof se01, "%u", o.k.segs + 1);
	segment(&o, "SE", se01, st02, NULL);
	envelope_close(&o, ctl, 1);
	*k = o.k;
}

static int answer_997(rd_plugin_ctx *ctx, const struct settings *s, const char *fid, const char *group, int accepted)
{
	struct build b = { .ctx = ctx, .s = s, .fid = fid, .group = group, .accepted = accepted };
	uint64_t ctl;
	return edikit_write(host, ctx, s->c.outbound, &file_997, build_997, &b, &ctl);
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

#define all_digits edikit_all_digits

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

/* CCYYMMDD into YYYY-MM-DD (the calendar is the feed's to check). */
static int x12_date(const char *v, char *out)
{
	if (strlen(v) != 8 || !all_digits(v))
		return 0;
	snprintf(out, 11, "%.4s-%.2s-%.2s", v, v + 4, v + 6);
	return 1;
}

#define REFUSE(...)                                   \
	do {                                          \
		snprintf(why, cap, __VA_ARGS__);      \
		json_decref(out);                     \
		return NULL;                          \
	} while (0)

/* An 867 product transfer and resale report (docs/connectors.md): BPT, then
 * a PTD*SS loop per contract (REF*CT, DTM*007/036, N1*EN and N1*BY, LIN*VP,
 * QTY*39), then CTT (the LIN count and the quantities' hash total).  Reads
 * the set's body (up to its SE) at *i; its contract records, or NULL with
 * why. */
static json_t *read_867(struct inbound *in, int *i, const char *st02, char *why, size_t cap)
{
	json_t *out = json_array(), *cur = NULL;
	int bpt = 0, ctt = 0, lins = 0, ptd = 0;
	long long hash = 0;
	char report[64] = "";
	while (*i < in->n && strcmp(in->segs[*i].el[0], "SE") && strcmp(in->segs[*i].el[0], "ST") &&
	       strcmp(in->segs[*i].el[0], "GE") && strcmp(in->segs[*i].el[0], "IEA")) {
		struct seg *b = &in->segs[(*i)++];
		const char *id = b->el[0];
		char d[16];
		if (ctt)
			REFUSE("ST %s: %s after the CTT", st02, id);
		if (!strcmp(id, "BPT")) {
			if (bpt++)
				REFUSE("ST %s: a second BPT", st02);
			if (strcmp(el(b, 1), "00") && strcmp(el(b, 1), "05"))
				REFUSE("BPT01: unknown transaction set purpose \"%s\" (00 original, 05 replace)", el(b, 1));
			if (!el(b, 2)[0] || strlen(el(b, 2)) > 30)
				REFUSE("BPT02: the report needs its reference (1 to 30 characters)");
			if (!x12_date(el(b, 3), d))
				REFUSE("BPT03: the report date \"%s\" is not CCYYMMDD", el(b, 3));
			snprintf(report, sizeof report, "%s", el(b, 2));
		} else if (!bpt) {
			REFUSE("ST %s: the 867 must begin with BPT, not %s", st02, id);
		} else if (!strcmp(id, "PTD")) {
			if (strcmp(el(b, 1), "SS"))
				REFUSE("PTD01: unknown product transfer type \"%s\" (SS: a sale to the end customer)", el(b, 1));
			cur = json_pack("{s:s, s:s, s:s, s:i}", "kind", "contract", "report", report, "set", st02, "ptd", ++ptd);
			json_array_append_new(out, cur);
		} else if (!strcmp(id, "DTM")) {
			const char *q = el(b, 1);
			if (!cur) {
				if (strcmp(q, "090") && strcmp(q, "091"))
					REFUSE("DTM01: unknown date qualifier \"%s\" before the first PTD (090, 091)", q);
				if (!x12_date(el(b, 2), d))
					REFUSE("DTM02: the date \"%s\" is not CCYYMMDD", el(b, 2));
				continue;
			}
			if (strcmp(q, "007") && strcmp(q, "036"))
				REFUSE("PTD %d DTM01: unknown date qualifier \"%s\" (007 start, 036 end)", ptd, q);
			if (!x12_date(el(b, 2), d))
				REFUSE("PTD %d DTM02: the date \"%s\" is not CCYYMMDD", ptd, el(b, 2));
			json_object_set_new(cur, !strcmp(q, "007") ? "start" : "end", json_string(d));
		} else if (!cur) {
			REFUSE("ST %s: %s before the first PTD", st02, id);
		} else if (!strcmp(id, "REF")) {
			if (strcmp(el(b, 1), "CT"))
				REFUSE("PTD %d REF01: unknown reference qualifier \"%s\" (CT: the contract)", ptd, el(b, 1));
			if (!el(b, 2)[0] || strlen(el(b, 2)) > 63)
				REFUSE("PTD %d REF02: the contract reference must be 1 to 63 characters", ptd);
			json_object_set_new(cur, "external_id", json_string(el(b, 2)));
		} else if (!strcmp(id, "N1")) {
			const char *role = el(b, 1);
			if (strcmp(role, "EN") && strcmp(role, "BY"))
				REFUSE("PTD %d N101: unknown party \"%s\" (EN: the end customer, BY: the reseller)", ptd, role);
			if (strcmp(el(b, 3), "91") && strcmp(el(b, 3), "92"))
				REFUSE("PTD %d N103: unknown id qualifier \"%s\" (91, 92)", ptd, el(b, 3));
			if (!el(b, 4)[0] || strlen(el(b, 4)) > 63)
				REFUSE("PTD %d N104: the %s's id must be 1 to 63 characters", ptd,
				       !strcmp(role, "EN") ? "end customer" : "reseller");
			json_object_set_new(cur, !strcmp(role, "EN") ? "customer_external_id" : "reseller_external_id",
					    json_string(el(b, 4)));
		} else if (!strcmp(id, "LIN")) {
			if (strcmp(el(b, 2), "VP"))
				REFUSE("PTD %d LIN02: unknown product id qualifier \"%s\" (VP: the vendor's SKU)", ptd, el(b, 2));
			if (!el(b, 3)[0] || strlen(el(b, 3)) > 63)
				REFUSE("PTD %d LIN03: the SKU must be 1 to 63 characters", ptd);
			if (json_object_get(cur, "product_sku"))
				REFUSE("PTD %d: one LIN per PTD (one contract each)", ptd);
			lins++;
			json_object_set_new(cur, "product_sku", json_string(el(b, 3)));
		} else if (!strcmp(id, "QTY")) {
			if (strcmp(el(b, 1), "39"))
				REFUSE("PTD %d QTY01: unknown quantity qualifier \"%s\" (39: shipped)", ptd, el(b, 1));
			if (!all_digits(el(b, 2)) || strlen(el(b, 2)) > 9 || atoll(el(b, 2)) < 1)
				REFUSE("PTD %d QTY02: \"%s\" is not a whole number of seats", ptd, el(b, 2));
			hash += atoll(el(b, 2));
			json_object_set_new(cur, "quantity", json_string(el(b, 2)));
		} else if (!strcmp(id, "CTT")) {
			ctt = 1;
			if (!all_digits(el(b, 1)) || atoi(el(b, 1)) != lins)
				REFUSE("CTT01: the report says %s line items, it has %d", el(b, 1), lins);
			if (el(b, 2)[0] && (!all_digits(el(b, 2)) || atoll(el(b, 2)) != hash))
				REFUSE("CTT02: the hash total says %s, the quantities add up to %lld", el(b, 2), hash);
		} else if (strcmp(id, "N2") && strcmp(id, "N3") && strcmp(id, "N4") && strcmp(id, "PER") && strcmp(id, "PID") &&
			   strcmp(id, "UIT")) {
			REFUSE("PTD %d: segment %s is not read in an 867", ptd, id);
		}
	}
	if (!bpt)
		REFUSE("ST %s: the 867 lacks its BPT", st02);
	if (!ptd)
		REFUSE("ST %s: the 867 reports no PTD*SS", st02);
	if (!ctt)
		REFUSE("ST %s: the 867 lacks its CTT", st02);
	size_t k;
	json_t *r;
	json_array_foreach(out, k, r) {
		if (!json_object_get(r, "product_sku") || !json_object_get(r, "quantity") ||
		    !json_object_get(r, "customer_external_id"))
			REFUSE("PTD %zu: it needs the end customer (N1*EN), the product (LIN*VP) and the quantity (QTY*39)", k + 1);
	}
	return out;
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
	if (!edikit_known(qualifiers, q5)) {
		snprintf(why, cap, "ISA05: unknown interchange id qualifier \"%s\"", q5);
		return RD_EINVAL;
	}
	if (!edikit_known(qualifiers, q7)) {
		snprintf(why, cap, "ISA07: unknown interchange id qualifier \"%s\"", q7);
		return RD_EINVAL;
	}
	if (strcmp(q5, s->c.receiver_qual) || strcmp(id6, s->c.receiver_id)) {
		snprintf(why, cap, "ISA05/ISA06: the sender %s/%s is not this partner (%s/%s)", q5, id6, s->c.receiver_qual,
			 s->c.receiver_id);
		return RD_EINVAL;
	}
	if (strcmp(q7, s->c.sender_qual) || strcmp(id8, s->c.sender_id)) {
		snprintf(why, cap, "ISA07/ISA08: the receiver %s/%s is not us (%s/%s)", q7, id8, s->c.sender_qual, s->c.sender_id);
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
		if (strcmp(el(gs, 2), s->c.receiver_id) || strcmp(el(gs, 3), s->c.sender_id)) {
			snprintf(why, cap, "GS02/GS03: %s to %s is not this partner to us", el(gs, 2), el(gs, 3));
			return RD_EINVAL;
		}
		int sets = 0;
		while (i < in->n && !strcmp(in->segs[i].el[0], "ST")) {
			struct seg *st = &in->segs[i];
			int start = i++;
			sets++;
			const char *type = el(st, 1);
			const char *want = !strcmp(type, "855") ? "PR" : !strcmp(type, "810") ? "IN" : !strcmp(type, "997") ? "FA"
					   : !strcmp(type, "867") ? "PT" : NULL;
			if (!want) {
				snprintf(why, cap, "ST01: transaction set %s is not one renewd reads (855, 810, 867, 997)", type);
				return RD_EINVAL;
			}
			if (strcmp(want, fid)) {
				snprintf(why, cap, "GS01: a %s belongs in a %s group, not %s", type, want, fid);
				return RD_EINVAL;
			}
			json_t *rec = NULL, *resale = NULL;
			if (!strcmp(type, "867") && !(resale = read_867(in, &i, el(st, 2), why, cap)))
				return RD_EINVAL;
			while (i < in->n && strcmp(in->segs[i].el[0], "SE") && strcmp(in->segs[i].el[0], "ST") &&
			       strcmp(in->segs[i].el[0], "GE") && strcmp(in->segs[i].el[0], "IEA")) {
				struct seg *b = &in->segs[i++];
				const char *id = b->el[0];
				if (!strcmp(type, "855") && !strcmp(id, "BAK")) {
					const char *code = el(b, 2);
					if (strcmp(code, "AC") && strcmp(code, "AD") && strcmp(code, "AE") && strcmp(code, "AK") &&
					    strcmp(code, "RD") && strcmp(code, "RJ")) {
						snprintf(why, cap, "BAK02: unknown acknowledgment type \"%s\"", code);
						json_decref(rec);
						return RD_EINVAL;
					}
					json_decref(rec); /* a second BAK in the set: the last one counts */
					rec = json_pack("{s:s, s:s, s:s}", "kind", "order_ack", "order", el(b, 3), "ack", code);
				} else if (!strcmp(type, "810") && !strcmp(id, "BIG")) {
					json_decref(rec);
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
					json_decref(rec);
					rec = json_pack("{s:s, s:s, s:s}", "kind", "functional_ack", "group", el(b, 2), "status", "");
				} else if (!strcmp(type, "997") && !strcmp(id, "AK9") && rec) {
					json_object_set_new(rec, "status", json_string(el(b, 1)));
				}
			}
			if (i >= in->n || strcmp(in->segs[i].el[0], "SE")) {
				json_decref(rec);
				json_decref(resale);
				snprintf(why, cap, "ST %s: no SE closes the transaction set", el(st, 2));
				return RD_EINVAL;
			}
			struct seg *se = &in->segs[i++];
			int count = i - start;
			if (!all_digits(el(se, 1)) || atoi(el(se, 1)) != count) {
				json_decref(rec);
				json_decref(resale);
				snprintf(why, cap, "SE01: the segment count says %s, the transaction set has %d", el(se, 1), count);
				return RD_EINVAL;
			}
			if (strcmp(el(se, 2), el(st, 2))) {
				json_decref(rec);
				json_decref(resale);
				snprintf(why, cap, "SE02: control number %s does not match ST02 %s", el(se, 2), el(st, 2));
				return RD_EINVAL;
			}
			if (resale) { /* an 867: its contract records */
				json_array_extend(records, resale);
				json_decref(resale);
				continue;
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

/* The kit's check: the interchange whole; a refused one (unless a 997
 * itself) is answered with a rejecting 997. */
static int check_file(rd_plugin_ctx *ctx, const void *settings, const void *data, size_t len, json_t *records,
		      char *why, size_t cap)
{
	const struct settings *s = settings;
	struct inbound in = { 0 };
	char isa13[16] = "";
	struct group_info gi = { "", "" };
	int rc = split(&in, data, len, why, cap);
	if (rc == 0)
		rc = check(s, &in, records, &gi, isa13, why, cap);
	if (rc < 0) {
		json_array_clear(records);
		if (strcmp(gi.fid, "FA") != 0) /* answered with a rejecting 997; a 997 never is */
			json_array_append_new(records, json_pack("{s:s, s:s, s:s}", "kind", "group", "fid", gi.fid, "group", gi.ctl));
	}
	free(in.segs);
	free(in.text);
	return rc;
}

/* send("functional_ack", {fid, group, accepted}): a 997 */
static int send_ack(rd_plugin_ctx *ctx, const void *settings, json_t *j, char *reference, size_t ref_cap)
{
	(void)reference;
	(void)ref_cap;
	char fid[4], group[16];
	snprintf(fid, sizeof fid, "%s", edikit_text(j, "fid"));
	snprintf(group, sizeof group, "%s", edikit_text(j, "group"));
	return answer_997(ctx, settings, fid, group, json_is_true(json_object_get(j, "accepted")));
}

static const struct edikit_send sends[] = { { "order", send_order }, { "functional_ack", send_ack }, { NULL, NULL } };

static const struct edikit_plugin kit = {
	.format = &format,
	.settings_size = sizeof(struct settings),
	.settings = settings,
	.check = check_file,
	.sends = sends,
};

EDIKIT_CONNECTOR_OPS(ops, kit, "x12");

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
