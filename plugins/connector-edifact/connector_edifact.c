/*
 * connector-edifact: orders to a distributor in UN/EDIFACT D97A over folders.
 *
 * send("order", order JSON) writes an ORDERS message into the partner's
 * outbound folder inside UNA/UNB/UNH ... UNT/UNZ, with an interchange
 * control reference from the plugin's store (never repeats, survives
 * restarts).  read_feed checks an inbound interchange (ORDRSP, INVOIC or
 * CONTRL) whole: service string advice, syntax identifier, sender and
 * recipient, control references, segment and message counts; a bad one
 * gets a rejecting CONTRL in the outbound folder and a clear error, and no
 * record; a good one's records go to the sink:
 *   kind "order_ack" {"order", "ack"}                   ORDRSP RFF+ON, BGM 1225
 *   kind "order_invoice" {"order", "invoice", "amount"} INVOIC RFF+ON, BGM 1004, MOA+77 (or 86)
 *   kind "functional_ack" {"group", "status"}           CONTRL UCI 0020, UCI 0083
 *   kind "group" {"fid", "group"}                       each ORDRSP/INVOIC interchange, answered
 *                                                       with send("functional_ack") (a CONTRL)
 * Mappings and settings: docs/connectors.md, "connector-edifact".
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
	char syntax[5];
};

/* Partner identification code qualifiers (0007) renewd takes. */
static const char *const qualifiers[] = { "1", "4", "5", "8", "9", "12", "14", "ZZ", "ZZZ", NULL };

static int extra(void *settings, const char *key, json_t *v, const char **why)
{
	struct settings *s = settings;
	const char *str = json_string_value(v);
	*why = NULL;
	if (strcmp(key, "syntax"))
		return 0;
	if (!str || (strcmp(str, "UNOA") && strcmp(str, "UNOB") && strcmp(str, "UNOC")))
		*why = "must be UNOA, UNOB or UNOC";
	else
		snprintf(s->syntax, sizeof s->syntax, "%s", str);
	return 1;
}

static const struct edikit_format format = {
	.name = "connector-edifact",
	.qualifiers = qualifiers,
	.qualifier_rule = "must be a partner identification code qualifier (1, 4, 5, 8, 9, 12, 14, ZZ, ZZZ)",
	.id_max = 35,
	.id_rule = "must be 1 to 35 letters, digits, '-', '.' or spaces",
	.keys = "sender_qualifier, sender_id, receiver_qualifier, receiver_id, outbound_dir, inbound_dir, syntax",
	.extra = extra,
	.what_sent = "orders and CONTRL acknowledgements",
};

static int settings(rd_plugin_ctx *ctx, const char *text, void *out, int report)
{
	struct settings *s = out;
	memset(s, 0, sizeof *s);
	snprintf(s->syntax, sizeof s->syntax, "UNOC");
	return edikit_settings(host, ctx, &format, text, &s->c, s, report);
}

static int configure(rd_plugin_ctx *ctx, const char *config)
{
	struct settings s;
	return settings(ctx, config, &s, 1);
}

/* ---- writing (UNA:+.? ') ------------------------------------------------------------ */

#define out edikit_out

static void put(struct out *o, const char *text, size_t n)
{
	edikit_put(o, text, n);
}

/* A component value: the service characters are escaped with '?', control
 * characters become spaces. */
static void value(struct out *o, const char *v)
{
	for (; *v; v++) {
		char c = *v;
		if (c == '+' || c == ':' || c == '\'' || c == '?')
			put(o, "?", 1);
		if ((unsigned char)c < 32)
			c = ' ';
		put(o, &c, 1);
	}
}

/* One segment: id then elements; an element is components separated by
 * "\x1f" in the argument (a unit separator, never data). */
static void segment(struct out *o, const char *id, ...)
{
	va_list ap;
	va_start(ap, id);
	put(o, id, strlen(id));
	const char *v;
	while ((v = va_arg(ap, const char *))) {
		put(o, "+", 1);
		char *copy = strdup(v);
		int first = 1;
		for (char *c = copy; c;) {
			char *us = strchr(c, '\x1f');
			if (us)
				*us = 0;
			if (!first)
				put(o, ":", 1);
			value(o, c);
			first = 0;
			c = us ? us + 1 : NULL;
		}
		free(copy);
	}
	va_end(ap);
	put(o, "'", 1);
	o->segs++;
}

/* Interchange control references: 1..99999999999999, one counter per vendor. */
static const struct edikit_file file_orders = { "unb_control", "ORDERS", "edi", 99999999999999ULL, 14 };
static const struct edikit_file file_contrl = { "unb_control", "CONTRL", "edi", 99999999999999ULL, 14 };

static void envelope_open(struct out *o, rd_plugin_ctx *ctx, const struct settings *s, const char *ref)
{
	time_t now = (time_t)host->now(ctx);
	struct tm tm;
	gmtime_r(&now, &tm);
	char yymmdd[16], hhmm[8], syn[16], snd[48], rcv[48], when[32];
	strftime(yymmdd, sizeof yymmdd, "%y%m%d", &tm);
	strftime(hhmm, sizeof hhmm, "%H%M", &tm);
	put(o, "UNA:+.? '", 9);
	snprintf(syn, sizeof syn, "%s\x1f" "3", s->syntax);
	snprintf(snd, sizeof snd, "%s\x1f%s", s->c.sender_id, s->c.sender_qual);
	snprintf(rcv, sizeof rcv, "%s\x1f%s", s->c.receiver_id, s->c.receiver_qual);
	snprintf(when, sizeof when, "%s\x1f%s", yymmdd, hhmm);
	segment(o, "UNB", syn, snd, rcv, when, ref, NULL);
	o->segs = 0;
}

#define text_of edikit_text

struct build {
	rd_plugin_ctx *ctx;
	const struct settings *s;
	json_t *j;
	const char *group;
	int accepted;
};

static void build_orders(void *arg, uint64_t ctl, struct out *o)
{
	struct build *b = arg;
	json_t *j = b->j, *lines = json_object_get(j, "lines");
	char ref[24], buf[256];
	snprintf(ref, sizeof ref, "%" PRIu64, ctl);
	envelope_open(o, b->ctx, b->s, ref);
	segment(o, "UNH", "1", "ORDERS\x1f" "D\x1f" "97A\x1fUN", NULL);
	segment(o, "BGM", "220", text_of(j, "number"), "9", NULL);
	snprintf(buf, sizeof buf, "137\x1f%s\x1f" "102", text_of(j, "date"));
	segment(o, "DTM", buf, NULL);
	if (text_of(j, "po_number")[0]) {
		snprintf(buf, sizeof buf, "ON\x1f%s", text_of(j, "po_number"));
		segment(o, "RFF", buf, NULL);
	}
	snprintf(buf, sizeof buf, "2\x1f%s\x1f" "9", text_of(j, "currency"));
	segment(o, "CUX", buf, NULL);
	size_t i;
	json_t *line;
	json_array_foreach(lines, i, line) {
		char n[24], item[160], qty[48], price[64], p[32];
		snprintf(n, sizeof n, "%zu", i + 1);
		snprintf(item, sizeof item, "%.120s\x1fSA", text_of(line, "sku"));
		segment(o, "LIN", n, "", item, NULL);
		if (text_of(line, "name")[0]) {
			snprintf(buf, sizeof buf, "\x1f\x1f\x1f%.70s", text_of(line, "name"));
			segment(o, "IMD", "F", "", buf, NULL);
		}
		snprintf(qty, sizeof qty, "21\x1f%lld", (long long)json_integer_value(json_object_get(line, "quantity")));
		segment(o, "QTY", qty, NULL);
		edikit_money(p, sizeof p, line, "unit_price");
		snprintf(price, sizeof price, "AAB\x1f%s", p);
		segment(o, "PRI", price, NULL);
	}
	segment(o, "UNS", "S", NULL);
	char total[32], moa[48], cnt[32];
	edikit_money(total, sizeof total, j, "total");
	snprintf(moa, sizeof moa, "86\x1f%s", total);
	segment(o, "MOA", moa, NULL);
	snprintf(cnt, sizeof cnt, "2\x1f%zu", json_array_size(lines));
	segment(o, "CNT", cnt, NULL);
	char unt[16];
	snprintf(unt, sizeof unt, "%u", o->segs + 1);
	segment(o, "UNT", unt, "1", NULL);
	segment(o, "UNZ", "1", ref, NULL);
}

static int send_order(rd_plugin_ctx *ctx, const void *settings, json_t *j, char *reference, size_t ref_cap)
{
	json_t *lines = json_object_get(j, "lines");
	if (!text_of(j, "number")[0] || !text_of(j, "currency")[0] || !text_of(j, "date")[0] || !json_is_array(lines) ||
	    json_array_size(lines) == 0) {
		host->error(ctx, "an order needs number, currency, date and lines");
		return RD_EINVAL;
	}
	const struct settings *s = settings;
	struct build b = { .ctx = ctx, .s = s, .j = j };
	uint64_t ctl;
	int rc = edikit_write(host, ctx, s->c.outbound, &file_orders, build_orders, &b, &ctl);
	if (rc == 0)
		snprintf(reference, ref_cap, "%" PRIu64, ctl);
	return rc;
}

/* A CONTRL for interchange `group`: accepted (7) or rejected (4). */
static void build_contrl(void *arg, uint64_t ctl, struct out *o)
{
	struct build *b = arg;
	const struct settings *s = b->s;
	char ref[24], them[48], us[48];
	snprintf(ref, sizeof ref, "%" PRIu64, ctl);
	envelope_open(o, b->ctx, s, ref);
	segment(o, "UNH", "1", "CONTRL\x1f" "D\x1f" "3\x1fUN", NULL);
	snprintf(them, sizeof them, "%s\x1f%s", s->c.receiver_id, s->c.receiver_qual);
	snprintf(us, sizeof us, "%s\x1f%s", s->c.sender_id, s->c.sender_qual);
	segment(o, "UCI", b->group[0] ? b->group : "0", them, us, b->accepted ? "7" : "4", NULL);
	char unt[16];
	snprintf(unt, sizeof unt, "%u", o->segs + 1);
	segment(o, "UNT", unt, "1", NULL);
	segment(o, "UNZ", "1", ref, NULL);
}

static int answer_contrl(rd_plugin_ctx *ctx, const struct settings *s, const char *group, int accepted)
{
	struct build b = { .ctx = ctx, .s = s, .group = group, .accepted = accepted };
	uint64_t ctl;
	return edikit_write(host, ctx, s->c.outbound, &file_contrl, build_contrl, &b, &ctl);
}

/* ---- reading ------------------------------------------------------------------------ */

#define MAX_EL 32
#define MAX_COMP 12

struct seg {
	char *el[MAX_EL][MAX_COMP]; /* el[0][0] is the tag */
	int n, nc[MAX_EL];
};

struct inbound {
	char *text;
	struct seg *segs;
	int n;
};

static const char *c(const struct seg *g, int e, int k)
{
	return e < g->n && k < g->nc[e] ? g->el[e][k] : "";
}

/* Splits with the service characters of the UNA (or the defaults),
 * honouring the release character. */
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
	char comp = ':', el = '+', rel = '?', term = '\'';
	if (!strncmp(p, "UNA", 3)) {
		if (strlen(p) < 9) {
			snprintf(why, cap, "UNA: the service string advice is cut short");
			return RD_EINVAL;
		}
		comp = p[3];
		el = p[4];
		rel = p[6];
		term = p[8];
		p += 9;
	}
	while (*p == ' ' || *p == '\r' || *p == '\n' || *p == '\t')
		p++;
	if (strncmp(p, "UNB", 3) != 0) {
		snprintf(why, cap, "not an EDIFACT interchange: it must begin with UNA or UNB");
		return RD_EINVAL;
	}
	size_t cap_segs = 16;
	in->segs = calloc(cap_segs, sizeof *in->segs);
	struct seg *g = NULL;
	char *w = p; /* unescaped text is written back in place */
	char *start = w;
	int e = 0, k = 0;
	for (char *r = p;; r++) {
		char ch = *r;
		if (!g) {
			while (ch == '\r' || ch == '\n' || ch == ' ' || ch == '\t')
				ch = *++r;
			if (!ch)
				break;
			if ((size_t)in->n == cap_segs) {
				cap_segs *= 2;
				in->segs = realloc(in->segs, cap_segs * sizeof *in->segs);
			}
			g = &in->segs[in->n++];
			memset(g, 0, sizeof *g);
			e = k = 0;
			start = w;
		}
		if (ch == rel && r[1]) {
			*w++ = *++r;
			continue;
		}
		if (!ch) {
			snprintf(why, cap, "the last segment (%.3s) has no terminator", g->el[0][0] ? g->el[0][0] : start);
			return RD_EINVAL;
		}
		if (ch == comp || ch == el || ch == term) {
			*w++ = 0;
			g->el[e][k] = start;
			g->nc[e] = k + 1;
			g->n = e + 1;
			start = w;
			if (ch == comp) {
				if (++k >= MAX_COMP) {
					snprintf(why, cap, "segment %d: too many components", in->n);
					return RD_EINVAL;
				}
			} else if (ch == el) {
				k = 0;
				if (++e >= MAX_EL) {
					snprintf(why, cap, "segment %d: too many elements", in->n);
					return RD_EINVAL;
				}
			} else {
				g = NULL;
			}
			continue;
		}
		*w++ = ch;
	}
	return 0;
}

#define all_digits edikit_all_digits

/* MOA 5004 as a plain decimal ("24.690", "24,690" with a decimal comma):
 * the text with a point, for renewd to read in the order's currency. */
static int decimal_text(const char *v, char *out, size_t cap)
{
	size_t n = strlen(v), points = 0;
	if (!n || n >= cap || n > 24)
		return 0;
	for (size_t i = 0; i < n; i++) {
		char ch = v[i];
		if (ch == '.' || ch == ',')
			points++;
		else if (!(ch >= '0' && ch <= '9') && !(ch == '-' && i == 0))
			return 0;
		out[i] = ch == ',' ? '.' : ch;
	}
	out[n] = 0;
	return points <= 1 && strcspn(out, "0123456789") < n;
}

static int amount(const char *v, long long *out)
{
	if (!*v || strlen(v) > 18)
		return 0;
	char *end;
	long long whole = strtoll(v, &end, 10);
	if (end == v || (*end && *end != '.' && *end != ','))
		return 0;
	long long frac = 0;
	if (*end) {
		const char *f = end + 1;
		if (!all_digits(f) || strlen(f) > 2)
			return 0;
		frac = strtoll(f, NULL, 10) * (strlen(f) == 1 ? 10 : 1);
	}
	*out = whole * 100 + (v[0] == '-' ? -frac : frac);
	return 1;
}

static int check(const struct settings *s, struct inbound *in, json_t *records, char *unb_ref, char *type_out,
		 char *why, size_t cap)
{
	struct seg *b = &in->segs[0];
	const char *syn = c(b, 1, 0);
	if (strcmp(syn, "UNOA") && strcmp(syn, "UNOB") && strcmp(syn, "UNOC") && strcmp(syn, "UNOY")) {
		snprintf(why, cap, "UNB 0001: unknown syntax identifier \"%s\"", syn);
		return RD_EINVAL;
	}
	if (!edikit_known(qualifiers, c(b, 2, 1)) || !edikit_known(qualifiers, c(b, 3, 1))) {
		snprintf(why, cap, "UNB 0007: unknown partner identification code qualifier \"%s\"",
			 edikit_known(qualifiers, c(b, 2, 1)) ? c(b, 3, 1) : c(b, 2, 1));
		return RD_EINVAL;
	}
	if (strcmp(c(b, 2, 0), s->c.receiver_id) || strcmp(c(b, 2, 1), s->c.receiver_qual)) {
		snprintf(why, cap, "UNB 0004: the sender %s:%s is not this partner (%s:%s)", c(b, 2, 0), c(b, 2, 1),
			 s->c.receiver_id, s->c.receiver_qual);
		return RD_EINVAL;
	}
	if (strcmp(c(b, 3, 0), s->c.sender_id) || strcmp(c(b, 3, 1), s->c.sender_qual)) {
		snprintf(why, cap, "UNB 0010: the recipient %s:%s is not us (%s:%s)", c(b, 3, 0), c(b, 3, 1), s->c.sender_id,
			 s->c.sender_qual);
		return RD_EINVAL;
	}
	snprintf(unb_ref, 16, "%s", c(b, 5, 0));
	if (!unb_ref[0] || strlen(c(b, 5, 0)) > 14) {
		snprintf(why, cap, "UNB 0020: the interchange control reference must be 1 to 14 characters");
		return RD_EINVAL;
	}
	int i = 1, messages = 0;
	while (i < in->n && !strcmp(c(&in->segs[i], 0, 0), "UNH")) {
		struct seg *h = &in->segs[i];
		int start = i++;
		messages++;
		const char *type = c(h, 2, 0);
		if (strcmp(type, "ORDRSP") && strcmp(type, "INVOIC") && strcmp(type, "CONTRL")) {
			snprintf(why, cap, "UNH 0065: message type %s is not one renewd reads (ORDRSP, INVOIC, CONTRL)", type);
			return RD_EINVAL;
		}
		if (strcmp(type, "CONTRL") && (strcmp(c(h, 2, 1), "D") || strcmp(c(h, 2, 2), "97A") || strcmp(c(h, 2, 3), "UN"))) {
			snprintf(why, cap, "UNH S009: %s:%s:%s:%s is not D97A", type, c(h, 2, 1), c(h, 2, 2), c(h, 2, 3));
			return RD_EINVAL;
		}
		if (messages == 1)
			snprintf(type_out, 8, "%s", type);
		else if (strcmp(type_out, type)) {
			snprintf(why, cap, "UNH: one interchange mixes %s and %s", type_out, type);
			return RD_EINVAL;
		}
		json_t *rec = NULL;
		char order[64] = "", doc[64] = "", code[8] = "", total_text[32] = "";
		long long total = -1;
		while (i < in->n && strcmp(c(&in->segs[i], 0, 0), "UNT") && strcmp(c(&in->segs[i], 0, 0), "UNH") &&
		       strcmp(c(&in->segs[i], 0, 0), "UNZ")) {
			struct seg *g = &in->segs[i++];
			const char *tag = c(g, 0, 0);
			if (!strcmp(tag, "BGM")) {
				snprintf(doc, sizeof doc, "%s", c(g, 2, 0));
				snprintf(code, sizeof code, "%s", c(g, 3, 0));
			} else if (!strcmp(tag, "RFF") && !strcmp(c(g, 1, 0), "ON")) {
				snprintf(order, sizeof order, "%s", c(g, 1, 1));
			} else if (!strcmp(tag, "MOA") && (!strcmp(c(g, 1, 0), "77") || (!strcmp(c(g, 1, 0), "86") && total < 0))) {
				/* a decimal of up to two places is read here; more (KWD, CLF)
				 * goes to renewd as text, read in the order's currency */
				if (!decimal_text(c(g, 1, 1), total_text, sizeof total_text)) {
					snprintf(why, cap, "MOA 5004: \"%s\" is not an amount", c(g, 1, 1));
					json_decref(rec);
					return RD_EINVAL;
				}
				if (!amount(c(g, 1, 1), &total))
					total = 0;
			} else if (!strcmp(tag, "UCI") && !strcmp(type, "CONTRL")) {
				const char *action = c(g, 4, 0);
				if (strcmp(action, "4") && strcmp(action, "7") && strcmp(action, "8")) {
					snprintf(why, cap, "UCI 0083: unknown action code \"%s\"", action);
					json_decref(rec);
					return RD_EINVAL;
				}
				json_decref(rec);
				rec = json_pack("{s:s, s:s, s:s}", "kind", "functional_ack", "group", c(g, 1, 0), "status",
						!strcmp(action, "4") ? "R" : "A");
			}
		}
		if (i >= in->n || strcmp(c(&in->segs[i], 0, 0), "UNT")) {
			json_decref(rec);
			snprintf(why, cap, "UNH %s: no UNT closes the message", c(h, 1, 0));
			return RD_EINVAL;
		}
		struct seg *t = &in->segs[i++];
		int count = i - start;
		if (!all_digits(c(t, 1, 0)) || atoi(c(t, 1, 0)) != count) {
			json_decref(rec);
			snprintf(why, cap, "UNT 0074: the segment count says %s, the message has %d", c(t, 1, 0), count);
			return RD_EINVAL;
		}
		if (strcmp(c(t, 2, 0), c(h, 1, 0))) {
			json_decref(rec);
			snprintf(why, cap, "UNT 0062: message reference %s does not match UNH %s", c(t, 2, 0), c(h, 1, 0));
			return RD_EINVAL;
		}
		if (!strcmp(type, "ORDRSP")) {
			if (!order[0] || !code[0]) {
				snprintf(why, cap, "ORDRSP %s: it needs BGM with a response type (1225) and RFF+ON (the order)", c(h, 1, 0));
				return RD_EINVAL;
			}
			if (strcmp(code, "4") && strcmp(code, "27") && strcmp(code, "29")) {
				snprintf(why, cap, "BGM 1225: unknown response type \"%s\" (4, 27, 29)", code);
				return RD_EINVAL;
			}
			rec = json_pack("{s:s, s:s, s:s, s:b}", "kind", "order_ack", "order", order, "ack", code, "rejected",
					!strcmp(code, "27"));
		} else if (!strcmp(type, "INVOIC")) {
			if (!order[0] || !doc[0] || total < 0) {
				snprintf(why, cap, "INVOIC %s: it needs BGM with an invoice number, RFF+ON (the order) and MOA+77", c(h, 1, 0));
				return RD_EINVAL;
			}
			rec = json_pack("{s:s, s:s, s:s, s:I, s:s}", "kind", "order_invoice", "order", order, "invoice", doc,
					"amount", (json_int_t)total, "amount_decimal", total_text);
		} else if (!rec) {
			snprintf(why, cap, "CONTRL %s: it needs a UCI", c(h, 1, 0));
			return RD_EINVAL;
		}
		json_array_append_new(records, rec);
	}
	if (messages == 0) {
		snprintf(why, cap, "no UNH message follows the UNB");
		return RD_EINVAL;
	}
	if (i >= in->n || strcmp(c(&in->segs[i], 0, 0), "UNZ")) {
		snprintf(why, cap, "no UNZ closes the interchange (found %s)", i < in->n ? c(&in->segs[i], 0, 0) : "the end");
		return RD_EINVAL;
	}
	struct seg *z = &in->segs[i++];
	if (!all_digits(c(z, 1, 0)) || atoi(c(z, 1, 0)) != messages) {
		snprintf(why, cap, "UNZ 0036: the interchange says %s messages, it has %d", c(z, 1, 0), messages);
		return RD_EINVAL;
	}
	if (strcmp(c(z, 2, 0), unb_ref)) {
		snprintf(why, cap, "UNZ 0020: control reference %s does not match UNB %s", c(z, 2, 0), unb_ref);
		return RD_EINVAL;
	}
	if (i != in->n) {
		snprintf(why, cap, "segments after the UNZ (%s)", c(&in->segs[i], 0, 0));
		return RD_EINVAL;
	}
	if (strcmp(type_out, "CONTRL"))
		json_array_append_new(records, json_pack("{s:s, s:s, s:s}", "kind", "group", "fid", type_out, "group", unb_ref));
	return 0;
}

/* The kit's check: the interchange whole; a refused one (unless a CONTRL
 * itself) is answered with a rejecting CONTRL. */
static int check_file(rd_plugin_ctx *ctx, const void *settings, const void *data, size_t len, json_t *records,
		      char *why, size_t cap)
{
	const struct settings *s = settings;
	struct inbound in = { 0 };
	char ref[16] = "", type[8] = "";
	int rc = split(&in, data, len, why, cap);
	if (rc == 0)
		rc = check(s, &in, records, ref, type, why, cap);
	if (rc < 0) {
		json_array_clear(records);
		if (strcmp(type, "CONTRL") != 0) /* answered with a rejecting CONTRL; a CONTRL never is */
			json_array_append_new(records, json_pack("{s:s, s:s, s:s}", "kind", "group", "fid", type, "group", ref));
	}
	free(in.segs);
	free(in.text);
	return rc;
}

/* send("functional_ack", {group, accepted}): a CONTRL */
static int send_ack(rd_plugin_ctx *ctx, const void *settings, json_t *j, char *reference, size_t ref_cap)
{
	(void)reference;
	(void)ref_cap;
	return answer_contrl(ctx, settings, text_of(j, "group"), json_is_true(json_object_get(j, "accepted")));
}

static const struct edikit_send sends[] = { { "order", send_order }, { "functional_ack", send_ack }, { NULL, NULL } };

static const struct edikit_plugin kit = {
	.format = &format,
	.settings_size = sizeof(struct settings),
	.settings = settings,
	.check = check_file,
	.sends = sends,
};

EDIKIT_CONNECTOR_OPS(ops, kit, "edifact");

static const struct rd_plugin desc = {
	.abi = RENEWD_PLUGIN_ABI,
	.size = sizeof(struct rd_plugin),
	.name = "connector-edifact",
	.version = "1.0.0",
	.kind = RD_PLUGIN_CONNECTOR,
	.description = "Orders to a distributor in UN/EDIFACT D97A (ORDERS out; ORDRSP, INVOIC and CONTRL in) through folders",
	.init = init,
	.configure = configure,
	.ops = &ops,
};

RD_PLUGIN_ENTRY_DEFINE(rd_builtin_connector_edifact)
{
	return &desc;
}
