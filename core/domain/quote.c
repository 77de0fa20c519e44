/* quote.c: quote lines as C values: the total, the record codec, the JSON
 * the API shows and the JSON text stored before the codec. */
#include <stdio.h>
#include <string.h>

#include "domain/money.h"
#include "domain/quote.h"
#include "store/record.h"
#include "util/err.h"

enum { PUB_VENDOR = 1, PUB_PARTNER = 2 }; /* enum rd_publish (domain/model.h) */

static const char *const kind_names[] = { "", "renewal", "upsell", "crosssell" };

const char *rd_quote_kind_name(uint8_t kind)
{
	return kind >= 1 && kind <= 3 ? kind_names[kind] : "";
}

const struct rd_quote_margin *rd_quote_margin(const struct rd_quote_line *l, uint8_t publish)
{
	if (publish == PUB_PARTNER && (l->priced & RD_QUOTE_PARTNER))
		return &l->partner;
	if (publish == PUB_VENDOR && (l->priced & RD_QUOTE_VENDOR))
		return &l->vendor;
	return NULL;
}

static size_t upsells_chosen(const struct rd_quote_line *lines, size_t n)
{
	size_t k = 0;
	for (size_t i = 0; i < n; i++)
		k += lines[i].kind == RD_LINE_UPSELL && lines[i].optional && lines[i].selected;
	return k;
}

bool rd_quote_upsell_chosen(const struct rd_quote_line *lines, size_t n)
{
	return upsells_chosen(lines, n) > 0;
}

int rd_quote_select(const struct rd_quote_line *lines, size_t n, struct rd_quote_line *out, uint8_t *n_out)
{
	size_t ups = upsells_chosen(lines, n);
	*n_out = 0;
	if (ups > 1)
		return RD_EINVAL;
	for (size_t i = 0; i < n; i++) {
		if (!rd_quote_line_charged(&lines[i], ups == 1))
			continue;
		out[*n_out] = lines[i];
		out[(*n_out)++].selected = true;
	}
	return 0;
}

int rd_quote_total(const struct rd_quote_line *lines, size_t n, uint32_t discount_bp, struct rd_quote_sum *out)
{
	int64_t b = 0, t = 0;
	size_t ups = upsells_chosen(lines, n);
	if (ups > 1)
		return RD_EINVAL;
	for (size_t i = 0; i < n; i++) {
		const struct rd_quote_line *l = &lines[i];
		if (!l->optional && rd_money_add(b, l->list, &b) < 0)
			return RD_ERANGE;
		if (rd_quote_line_charged(l, ups == 1) && rd_money_add(t, l->list, &t) < 0)
			return RD_ERANGE;
	}
	out->base = b;
	out->subtotal = t;
	out->total = rd_money_discounted(t, discount_bp);
	return 0;
}

bool rd_quote_share_text(const struct rd_quote_line *lines, size_t n, uint8_t publish, const char *currency,
			 char *out, size_t cap)
{
	const struct rd_quote_margin *m = n ? rd_quote_margin(&lines[0], publish) : NULL;
	if (!m || !m->n)
		return false;
	char amount[64];
	rd_money_format(m->shares[0].amount, currency, amount, sizeof amount);
	snprintf(out, cap, "%d%% (%s)", m->shares[0].bp / 100, amount);
	return true;
}

/* ---- codec ------------------------------------------------------------------------- */

enum {
	L_KIND = 1, L_OPTIONAL, L_SELECTED, L_SKU, L_DESCRIPTION, L_QUANTITY, L_UNIT_LIST, L_LIST, L_PRICED,
	L_PARTNER_BP, L_PARTNER_NET, L_VENDOR_BP, L_VENDOR_NET, L_SHARE, L_PRODUCT, L_CONTRACT,
};
enum { S_MODE = 1, S_PARTY, S_BP, S_AMOUNT, S_REASON };

static void put_shares(struct rd_rec_writer *w, const struct rd_quote_margin *m, uint8_t mode)
{
	for (uint8_t k = 0; k < m->n && k < RD_QUOTE_MAX_SHARES; k++) {
		struct rd_rec_writer s = { 0 };
		rd_rec_begin(&s, RD_KIND_QUOTE_LINE, 1);
		rd_rec_uint(&s, S_MODE, mode);
		rd_rec_str(&s, S_PARTY, m->shares[k].party);
		rd_rec_sint(&s, S_BP, m->shares[k].bp);
		rd_rec_sint(&s, S_AMOUNT, m->shares[k].amount);
		rd_rec_str(&s, S_REASON, m->shares[k].reason);
		rd_rec_bytes(w, L_SHARE, s.buf, s.len);
		rd_rec_writer_free(&s);
	}
}

void rd_quote_line_encode(const struct rd_quote_line *l, struct rd_rec_writer *w)
{
	rd_rec_begin(w, RD_KIND_QUOTE_LINE, 1);
	rd_rec_uint(w, L_KIND, l->kind);
	if (l->optional)
		rd_rec_uint(w, L_OPTIONAL, 1);
	if (l->selected)
		rd_rec_uint(w, L_SELECTED, 1);
	rd_rec_str(w, L_SKU, l->sku);
	rd_rec_str(w, L_DESCRIPTION, l->description);
	rd_rec_uint(w, L_QUANTITY, l->quantity);
	rd_rec_sint(w, L_UNIT_LIST, l->unit_list);
	rd_rec_sint(w, L_LIST, l->list);
	rd_rec_uint(w, L_PRICED, l->priced);
	if (l->priced & RD_QUOTE_PARTNER) {
		rd_rec_sint(w, L_PARTNER_BP, l->partner.channel_bp);
		rd_rec_sint(w, L_PARTNER_NET, l->partner.net);
		put_shares(w, &l->partner, PUB_PARTNER);
	}
	if (l->priced & RD_QUOTE_VENDOR) {
		rd_rec_sint(w, L_VENDOR_BP, l->vendor.channel_bp);
		rd_rec_sint(w, L_VENDOR_NET, l->vendor.net);
		put_shares(w, &l->vendor, PUB_VENDOR);
	}
	if (l->product_id)
		rd_rec_uint(w, L_PRODUCT, l->product_id);
	if (l->contract_id)
		rd_rec_uint(w, L_CONTRACT, l->contract_id);
}

static int copy_str(char *out, size_t cap, const struct rd_rec_field *f)
{
	if (f->wire != RD_WIRE_BYTES || f->len >= cap)
		return RD_ECORRUPT;
	memcpy(out, f->data, f->len);
	out[f->len] = 0;
	return 0;
}

static int get_share(const struct rd_rec_field *outer, struct rd_quote_line *l)
{
	struct rd_rec_reader r;
	struct rd_rec_field f;
	struct rd_quote_share s = { 0 };
	uint64_t mode = 0;
	int rc;
	if (outer->wire != RD_WIRE_BYTES || rd_rec_open(&r, outer->data, outer->len, RD_KIND_QUOTE_LINE, 1) < 0)
		return RD_ECORRUPT;
	while ((rc = rd_rec_next(&r, &f)) > 0) {
		switch (f.no) {
		case S_MODE: mode = f.u; break;
		case S_PARTY: rc = copy_str(s.party, sizeof s.party, &f); break;
		case S_BP: s.bp = (int32_t)f.i; break;
		case S_AMOUNT: s.amount = f.i; break;
		case S_REASON: rc = copy_str(s.reason, sizeof s.reason, &f); break;
		default: break;
		}
		if (rc < 0)
			return rc;
	}
	if (rc < 0)
		return rc;
	struct rd_quote_margin *m = mode == PUB_PARTNER ? &l->partner : mode == PUB_VENDOR ? &l->vendor : NULL;
	if (!m || m->n >= RD_QUOTE_MAX_SHARES)
		return RD_ECORRUPT;
	m->shares[m->n++] = s;
	return 0;
}

int rd_quote_line_decode(const void *data, size_t len, struct rd_quote_line *l)
{
	struct rd_rec_reader r;
	struct rd_rec_field f;
	memset(l, 0, sizeof *l);
	if (rd_rec_open(&r, data, len, RD_KIND_QUOTE_LINE, 1) < 0)
		return RD_ECORRUPT;
	int rc;
	while ((rc = rd_rec_next(&r, &f)) > 0) {
		rc = 0;
		switch (f.no) {
		case L_KIND: l->kind = (uint8_t)f.u; break;
		case L_OPTIONAL: l->optional = f.u != 0; break;
		case L_SELECTED: l->selected = f.u != 0; break;
		case L_SKU: rc = copy_str(l->sku, sizeof l->sku, &f); break;
		case L_DESCRIPTION: rc = copy_str(l->description, sizeof l->description, &f); break;
		case L_QUANTITY: l->quantity = (uint32_t)f.u; break;
		case L_UNIT_LIST: l->unit_list = f.i; break;
		case L_LIST: l->list = f.i; break;
		case L_PRICED: l->priced = (uint8_t)f.u; break;
		case L_PARTNER_BP: l->partner.channel_bp = (int32_t)f.i; break;
		case L_PARTNER_NET: l->partner.net = f.i; break;
		case L_VENDOR_BP: l->vendor.channel_bp = (int32_t)f.i; break;
		case L_VENDOR_NET: l->vendor.net = f.i; break;
		case L_SHARE: rc = get_share(&f, l); break;
		case L_PRODUCT: l->product_id = f.u; break;
		case L_CONTRACT: l->contract_id = f.u; break;
		default: break; /* a newer layout's field */
		}
		if (rc < 0)
			return RD_ECORRUPT;
	}
	return rc < 0 ? RD_ECORRUPT : 0;
}

/* ---- JSON ------------------------------------------------------------------------- */

static json_t *margin_json(const struct rd_quote_margin *m)
{
	if (!m)
		return json_null();
	json_t *shares = json_array();
	for (uint8_t k = 0; k < m->n; k++)
		json_array_append_new(shares, json_pack("{s:s, s:i, s:I, s:s}", "party", m->shares[k].party, "bp",
							(int)m->shares[k].bp, "amount", (json_int_t)m->shares[k].amount,
							"reason", m->shares[k].reason));
	return json_pack("{s:o, s:I, s:I}", "shares", shares, "channel_bp", (json_int_t)m->channel_bp, "net",
			 (json_int_t)m->net);
}

json_t *rd_quote_lines_json(const struct rd_quote_line *lines, size_t n)
{
	json_t *a = json_array();
	for (size_t i = 0; i < n; i++) {
		const struct rd_quote_line *l = &lines[i];
		json_t *j = json_pack("{s:s, s:s, s:s, s:I, s:I, s:I}", "kind", rd_quote_kind_name(l->kind), "sku", l->sku,
				      "description", l->description, "quantity", (json_int_t)l->quantity, "unit_list",
				      (json_int_t)l->unit_list, "list", (json_int_t)l->list);
		if (l->priced & RD_QUOTE_MARGINS)
			json_object_set_new(j, "margins", json_pack("{s:o, s:o}", "partner",
								    margin_json(rd_quote_margin(l, PUB_PARTNER)), "vendor",
								    margin_json(rd_quote_margin(l, PUB_VENDOR))));
		else
			json_object_set_new(j, "shares", json_null());
		if (l->optional)
			json_object_set_new(j, "optional", json_true());
		if (l->selected)
			json_object_set_new(j, "selected", json_true());
		if (l->product_id)
			json_object_set_new(j, "product_id", json_integer((json_int_t)l->product_id));
		if (l->contract_id)
			json_object_set_new(j, "contract_id", json_integer((json_int_t)l->contract_id));
		json_array_append_new(a, j);
	}
	return a;
}

static void str_of(json_t *o, const char *key, char *out, size_t cap)
{
	const char *s = json_string_value(json_object_get(o, key));
	size_t n = s ? strlen(s) : 0;
	if (n >= cap)
		n = cap - 1;
	if (n)
		memcpy(out, s, n);
	out[n] = 0;
}

static void margin_from_json(json_t *m, struct rd_quote_margin *out)
{
	json_t *s;
	size_t k;
	out->channel_bp = (int32_t)json_integer_value(json_object_get(m, "channel_bp"));
	out->net = json_integer_value(json_object_get(m, "net"));
	json_array_foreach(json_object_get(m, "shares"), k, s) {
		if (out->n >= RD_QUOTE_MAX_SHARES)
			break;
		struct rd_quote_share *sh = &out->shares[out->n++];
		str_of(s, "party", sh->party, sizeof sh->party);
		str_of(s, "reason", sh->reason, sizeof sh->reason);
		sh->bp = (int32_t)json_integer_value(json_object_get(s, "bp"));
		sh->amount = json_integer_value(json_object_get(s, "amount"));
	}
}

int rd_quote_lines_from_json(const char *text, size_t len, struct rd_quote_line *lines, size_t max, uint8_t *n)
{
	*n = 0;
	json_t *a = json_loadb(text, len, 0, NULL), *j;
	if (!json_is_array(a) || json_array_size(a) > max) {
		json_decref(a);
		return RD_ECORRUPT;
	}
	size_t i;
	json_array_foreach(a, i, j) {
		struct rd_quote_line *l = &lines[(*n)++];
		memset(l, 0, sizeof *l);
		const char *kind = json_string_value(json_object_get(j, "kind"));
		l->kind = kind && !strcmp(kind, "upsell")      ? RD_LINE_UPSELL
			  : kind && !strcmp(kind, "crosssell") ? RD_LINE_CROSSSELL
							       : RD_LINE_RENEWAL;
		l->optional = json_is_true(json_object_get(j, "optional"));
		l->selected = json_is_true(json_object_get(j, "selected"));
		str_of(j, "sku", l->sku, sizeof l->sku);
		str_of(j, "description", l->description, sizeof l->description);
		json_int_t q = json_integer_value(json_object_get(j, "quantity"));
		l->quantity = q > 0 && q <= UINT32_MAX ? (uint32_t)q : 0;
		l->unit_list = json_integer_value(json_object_get(j, "unit_list"));
		l->list = json_integer_value(json_object_get(j, "list"));
		json_t *m = json_object_get(j, "margins");
		if (json_is_object(m)) {
			l->priced |= RD_QUOTE_MARGINS;
			json_t *pm = json_object_get(m, "partner"), *vm = json_object_get(m, "vendor");
			if (json_is_object(pm)) {
				l->priced |= RD_QUOTE_PARTNER;
				margin_from_json(pm, &l->partner);
			}
			if (json_is_object(vm)) {
				l->priced |= RD_QUOTE_VENDOR;
				margin_from_json(vm, &l->vendor);
			}
		}
	}
	json_decref(a);
	return 0;
}
