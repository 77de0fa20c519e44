/*
 * statements.c: the partners' monthly commission statements, issued by the
 * daily sweep on the vendor's statement day for the month before (so that
 * they reach the partners by the 20th), once per partner and month (action
 * key statement:PARTNER:YYYY-MM), e-mailed with the PDF attached.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "pdf/statement.h"
#include "domain/events.h"
#include "renew/internal.h"
#include "store/store.h"
#include "util/err.h"

#define RD_DEFAULT_STATEMENT_DAY 15

static int issue(struct sweep *s, uint64_t partner, const char *month)
{
	char key[96];
	snprintf(key, sizeof key, "statement:%llu:%s", (unsigned long long)partner, month);
	int rc = rd_action_once(s, key);
	if (rc <= 0)
		return rc;
	struct rd_statement_doc *doc;
	if ((rc = rd_statement_collect(s->t, s->d, s->v.id, partner, month, &doc)) < 0)
		return rc;
	struct rd_partner p;
	if ((rc = rd_entity_get(s->t, s->d->partners, &rd_entity_partner, s->v.id, partner, &p)) < 0) {
		rd_statement_doc_free(doc);
		return rc == RD_ENOTFOUND ? 0 : rc;
	}
	struct rd_statement st = { 0 };
	st.partner_id = partner;
	snprintf(st.month, sizeof st.month, "%s", month);
	st.lines = (uint32_t)doc->n;
	rd_statement_totals_json(doc, st.totals, sizeof st.totals);
	st.issued_on = s->day;
	st.issued_at = s->now;
	if (!s->preview) {
		if ((rc = rd_entity_put(s->t, s->d->statements, &rd_entity_statement, s->v.id, &st, 0)) < 0)
			goto out;
		snprintf(st.number, sizeof st.number, "ST-%s-%06llu", month, (unsigned long long)st.id);
		if ((rc = rd_entity_put(s->t, s->d->statements, &rd_entity_statement, s->v.id, &st, 0)) < 0)
			goto out;
		json_t *ev = json_pack("{s:s, s:s, s:I, s:i}", "number", st.number, "month", st.month, "partner_id",
				       (json_int_t)st.partner_id, "lines", (int)st.lines);
		rc = rd_event_record(s->t, s->d, s->v.id, "statement.issued", "statement", st.id, NULL, ev);
		json_decref(ev);
		if (rc < 0)
			goto out;
	} else {
		snprintf(st.number, sizeof st.number, "ST-%s", month);
	}
	rc = rd_notify_statement(s, &p, &st, doc->totals, doc->n_totals);
out:
	rd_statement_doc_free(doc);
	return rc;
}

int rd_statements(struct sweep *s)
{
	int y, m, dd;
	rd_date_to_ymd(s->day, &y, &m, &dd);
	uint32_t day = s->v.statement_day ? s->v.statement_day : RD_DEFAULT_STATEMENT_DAY;
	if ((uint32_t)dd < day)
		return 0;
	if (--m == 0) {
		m = 12;
		y--;
	}
	char month[8], key[64];
	snprintf(month, sizeof month, "%04u-%02u", (unsigned)y % 10000u, (unsigned)m % 100u);
	/* The month's statements are looked for once: on its statement day (or
	 * the first day swept after it); a meta key, not an action: nothing is
	 * sent when no partner earned anything. */
	snprintf(key, sizeof key, "statements:%llu:%s", (unsigned long long)s->v.id, month);
	const void *val;
	size_t len;
	int rc = s->only ? RD_ENOTFOUND : rd_txn_meta_get(s->t, key, &val, &len); /* a retry looks again */
	if (rc == 0)
		return 0;
	if (rc != RD_ENOTFOUND)
		return rc;
	int32_t today = s->day;
	if (!s->only && (rc = rd_txn_meta_put(s->t, key, &today, sizeof today)) < 0)
		return rc;
	size_t n = 0, cap = 16;
	uint64_t *partners = rd_malloc(cap * sizeof *partners);
	struct rd_commission c;
	struct rd_iter it;
	struct rd_item item;
	rc = rd_iter_records(&it, s->t, s->d->commissions, s->v.id, 0);
	while (rc >= 0 && (rc = rd_iter_next(&it, &item)) > 0) {
		if ((rc = rd_entity_decode(&rd_entity_commission, item.val, item.len, &c)) < 0)
			break;
		if (strcmp(c.month, month) || (c.kind != RD_COMMISSION_EARNED && c.kind != RD_COMMISSION_REVERSAL))
			continue;
		size_t i = 0;
		while (i < n && partners[i] != c.partner_id)
			i++;
		if (i < n)
			continue;
		if (n == cap)
			partners = rd_realloc(partners, (cap *= 2) * sizeof *partners);
		partners[n++] = c.partner_id;
	}
	rd_iter_close(&it);
	for (size_t i = 0; rc >= 0 && i < n; i++)
		rc = rd_action_end(s, issue(s, partners[i], month));
	free(partners);
	return rc < 0 ? rc : 0;
}
