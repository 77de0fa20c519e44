/*
 * leads.c: lead distribution (leads.h): arrival, qualification, routing
 * through the vendor's policy, accept and decline, lapse and
 * redistribution, closing, explanations and the routing dry run, and the
 * public web-to-lead form's checks.
 */
#include <ctype.h>
#include <inttypes.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <uv.h>

#include "config/config.h"
#include "domain/audit.h"
#include "domain/events.h"
#include "domain/money.h"
#include "plugin/host.h"
#include "policy/policy.h"
#include "policy/runtime.h"
#include "policy/sandbox.h"
#include "services/leads.h"
#include "store/store.h"
#include "template/mustache.h"
#include "util/clock.h"
#include "util/err.h"
#include "util/log.h"

#define DEFAULT_REROUTE_LIMIT 3
#define DEFAULT_FORM_MIN_SECONDS 3
#define DEFAULT_FORM_PER_HOUR 10
#define FORM_MAX_AGE_S 86400
#define MAX_CANDIDATES 200
#define INACTIVE_UNKNOWN (-1)

/* NULL or UTF-8: what a form may send is not always text (the API's JSON is). */
static bool is_text(const char *s)
{
	if (!s)
		return true;
	json_t *j = json_string(s);
	json_decref(j);
	return j != NULL;
}
static const char *const state_names[] = { "", "new", "qualified", "assigned", "accepted", "won", "lost", "returned" };

/* ---- small helpers ------------------------------------------------------------------------ */

/* Whether id is in a space-separated list of ids. */
static bool in_list(const char *list, uint64_t id)
{
	const char *s = list;
	while (s && *s) {
		char *end;
		unsigned long long v = strtoull(s, &end, 10);
		if (end == s)
			break;
		if (v == id)
			return true;
		s = end;
		while (*s == ' ')
			s++;
	}
	return false;
}

static void list_add(char *list, size_t cap, uint64_t id)
{
	if (in_list(list, id))
		return;
	size_t n = strlen(list);
	snprintf(list + n, cap - n, "%s%llu", n ? " " : "", (unsigned long long)id);
}

static size_t list_ids(const char *list, uint64_t *ids, size_t cap)
{
	size_t n = 0;
	const char *s = list;
	while (s && *s && n < cap) {
		char *end;
		unsigned long long v = strtoull(s, &end, 10);
		if (end == s)
			break;
		ids[n++] = v;
		s = end;
		while (*s == ' ')
			s++;
	}
	return n;
}

static bool email_ok(const char *s)
{
	const char *at = strchr(s, '@');
	return at && at != s && strchr(at + 1, '.') && !strchr(at + 1, '@') && !strpbrk(s, " \r\n<>,;");
}

static bool blank(const char *s)
{
	for (; s && *s; s++)
		if (!isspace((unsigned char)*s))
			return false;
	return true;
}

static void copy(char *dst, size_t cap, const char *src)
{
	snprintf(dst, cap, "%s", src ? src : "");
}

/* ---- e-mails ---------------------------------------------------------------------------------- */

/* The base of links in the e-mails: public_url, else the listen address
 * (as the renewal mails'). */
static void link_base(const struct rd_app *app, char *out, size_t cap)
{
	const struct rd_config *c = app->config;
	if (c && c->public_url && *c->public_url)
		snprintf(out, cap, "%s", c->public_url);
	else
		snprintf(out, cap, "http://%s", c && c->listen ? c->listen : "127.0.0.1");
	size_t n = strlen(out);
	if (n && out[n - 1] == '/')
		out[n - 1] = 0;
}

/* Renders the branding pack's email/lead.EXT for the partner (0: the
 * vendor's brand) into *out (malloc'd); < 0 when the pack has no such
 * template or it does not render. */
static int render(struct rd_app *app, struct rd_txn *t, uint64_t v, uint64_t partner, const char *ext, json_t *ctx,
		  char **out)
{
	char name[48], err[200];
	snprintf(name, sizeof name, "email/lead.%s", ext);
	const char *tmpl;
	size_t len, out_len;
	int rc = app->plugins ? rd_plugins_asset(app->plugins, t, app->domain, v, partner, name, &tmpl, &len) : RD_ENOTFOUND;
	if (rc < 0)
		return rc;
	struct rd_mustache *m;
	if ((rc = rd_mustache_parse(tmpl, len, &m, err, sizeof err)) < 0) {
		rd_log(RD_LOG_ERROR, "leads", "template %s: %s", name, err);
		return rc;
	}
	rc = rd_mustache_run(m, ctx, NULL, NULL, out, &out_len, err, sizeof err);
	rd_mustache_free(m);
	if (rc < 0)
		rd_log(RD_LOG_ERROR, "leads", "template %s: %s", name, err);
	return rc;
}

/* Queues a message in the outbox, in the caller's transaction: the branding
 * pack's email/lead.subject, .txt and .html (the partner's brand for a
 * partner, else the vendor's), with the headline, the sentences of body, and
 * a link to where the recipient acts (path, "" for none); a pack without
 * them gets the plain text and its HTML. */
static int mail(struct rd_app *app, struct rd_txn *t, uint64_t v, const char *kind, const char *to, uint64_t partner,
		const char *recipient, const struct rd_lead *l, const char *subject, const char *body, const char *path)
{
	if (!to || !email_ok(to))
		return 0; /* nobody to tell */
	struct rd_domain *d = app->domain;
	struct rd_message *m = rd_calloc(1, sizeof *m);
	copy(m->kind, sizeof m->kind, kind);
	copy(m->to, sizeof m->to, to);
	/* The brand and the context the templates see. */
	struct rd_vendor *vd = rd_calloc(1, sizeof *vd);
	struct rd_partner *pd = rd_calloc(1, sizeof *pd);
	int rc = rd_entity_get(t, d->vendors, &rd_entity_vendor, 0, v, vd);
	bool have_partner = partner && rd_entity_get(t, d->partners, &rd_entity_partner, v, partner, pd) == 0;
	char url[400] = "";
	if (path && *path) {
		link_base(app, url, sizeof url);
		size_t n = strlen(url);
		snprintf(url + n, sizeof url - n, "%s", path);
	}
	char *subj = NULL, *text = NULL, *html = NULL;
	if (rc == 0) {
		json_t *ctx = json_pack("{s:o, s:{s:s}, s:s, s:s, s:s, s:s, s:{s:I, s:s, s:s, s:s}}", "brand",
					rd_brand_json(have_partner ? pd : NULL, vd), "vendor", "name", vd->name, "recipient",
					recipient && *recipient ? recipient : "", "headline", subject, "body", body, "link", url,
					"lead", "id", (json_int_t)l->id, "name", l->company[0] ? l->company : l->contact_name,
					"product", l->product, "country", l->country);
		if (ctx && render(app, t, v, partner, "subject", ctx, &subj) == 0) {
			json_object_set_new(ctx, "subject", json_string(subj));
			if (render(app, t, v, partner, "txt", ctx, &text) < 0 || render(app, t, v, partner, "html", ctx, &html) < 0) {
				free(subj);
				free(text);
				subj = text = NULL;
			}
		}
		json_decref(ctx);
	}
	rc = 0;
	if (subj && text && html) {
		copy(m->subject, sizeof m->subject, subj);
		copy(m->text, sizeof m->text, text);
		copy(m->html, sizeof m->html, html);
	} else { /* the plain message */
		copy(m->subject, sizeof m->subject, subject);
		snprintf(m->text, sizeof m->text, "%s\n%s%s", body, url[0] ? url : "", url[0] ? "\n" : "");
		size_t o = (size_t)snprintf(m->html, sizeof m->html, "<!doctype html><html><body><p>");
		for (const char *s = body; *s && o + 8 < sizeof m->html; s++) {
			const char *r = *s == '<' ? "&lt;" : *s == '>' ? "&gt;" : *s == '&' ? "&amp;" : *s == '"' ? "&quot;"
				      : *s == '\n' ? "<br>" : NULL;
			if (r)
				o += (size_t)snprintf(m->html + o, sizeof m->html - o, "%s", r);
			else
				m->html[o++] = *s;
		}
		snprintf(m->html + o, sizeof m->html - o, "</p></body></html>\n");
	}
	free(subj);
	free(text);
	free(html);
	free(vd);
	free(pd);
	m->state = RD_MSG_QUEUED;
	m->created_at = rd_clock_now();
	m->partner_id = partner;
	snprintf(m->ref, sizeof m->ref, "lead:%llu:%s", (unsigned long long)l->id, kind);
	rc = rd_entity_put(t, d->outbox, &rd_entity_message, v, m, 0);
	free(m);
	return rc;
}

static int mail_partner(struct rd_app *app, struct rd_txn *t, uint64_t v, uint64_t partner, const char *kind,
			const struct rd_lead *l, const char *subject, const char *body)
{
	struct rd_partner p;
	int rc = rd_entity_get(t, app->domain->partners, &rd_entity_partner, v, partner, &p);
	if (rc < 0) /* gone: nobody to tell; a store that failed fails the write (never a mail lost) */
		return rc == RD_ENOTFOUND ? 0 : rc;
	return mail(app, t, v, kind, p.email, partner, p.name, l, subject, body, "/partner/leads");
}

static int mail_user(struct rd_app *app, struct rd_txn *t, uint64_t v, uint64_t user, const char *kind,
		     const struct rd_lead *l, const char *subject, const char *body)
{
	struct rd_user u;
	int rc = rd_entity_get(t, app->domain->users, &rd_entity_user, v, user, &u);
	if (rc < 0) /* as mail_partner */
		return rc == RD_ENOTFOUND ? 0 : rc;
	return mail(app, t, v, kind, u.email, 0, u.name, l, subject, body, "/vendor/leads");
}

/* To the vendor's channel team (notify_email). */
static int mail_vendor(struct rd_app *app, struct rd_txn *t, const struct rd_vendor *v, const char *kind,
		       const struct rd_lead *l, const char *subject, const char *body)
{
	return mail(app, t, v->id, kind, v->notify_email, 0, "", l, subject, body, "/vendor/leads");
}

static const char *lead_name(const struct rd_lead *l)
{
	return l->company[0] ? l->company : l->contact_name;
}

/* ---- audit -------------------------------------------------------------------------------------- */

static int audit(struct rd_txn *t, struct rd_domain *d, uint64_t v, uint64_t user, uint8_t action,
		 const struct rd_lead *before, const struct rd_lead *after, const char *note)
{
	json_t *b = before ? rd_entity_to_json(&rd_entity_lead, before) : NULL;
	json_t *a = rd_entity_to_json(&rd_entity_lead, after);
	/* The audit keeps 4 KiB of each side: the notes and situation go first. */
	json_object_del(a, "notes");
	if (b)
		json_object_del(b, "notes");
	int rc = rd_audit_write(t, d, v, user, action, "leads", after->id, b, a, note);
	json_decref(a);
	json_decref(b);
	return rc;
}

/* ---- creation ----------------------------------------------------------------------------------- */

static int check_lead(const struct rd_lead *in, struct rd_serr *e)
{
	if (blank(in->company) && blank(in->contact_name))
		return rd_serr_set(e, RD_EINVAL, "invalid", "company", "a lead needs a company or a contact name");
	if (in->email[0] && !email_ok(in->email))
		return rd_serr_set(e, RD_EINVAL, "invalid", "email", "the e-mail address is not valid (name@example.com)");
	if (in->country[0] && (strlen(in->country) != 2 || !isupper((unsigned char)in->country[0]) ||
			       !isupper((unsigned char)in->country[1])))
		return rd_serr_set(e, RD_EINVAL, "invalid", "country", "the country is two capital letters (ISO 3166-1, GB)");
	return 0;
}

struct create {
	struct rd_app *app;
	const struct rd_actor *who;
	const struct rd_lead *in;
	const char *source;
	struct rd_lead *out;
	struct rd_serr *e;
};


/* Writes a lead; when its state changed, queues its webhook event
 * (lead.<state>) in the same transaction. */
static int lead_put(struct rd_txn *t, struct rd_domain *d, uint64_t v, struct rd_lead *l)
{
	static const char *const names[] = { "", "new", "qualified", "assigned", "accepted", "won", "lost", "returned" };
	struct rd_lead *old = rd_malloc(sizeof *old);
	uint8_t was = l->id && rd_entity_get(t, d->leads, &rd_entity_lead, v, l->id, old) == 0 ? old->state : 0;
	free(old);
	int rc = rd_entity_put(t, d->leads, &rd_entity_lead, v, l, 0);
	if (rc < 0 || was == l->state || l->state >= sizeof names / sizeof *names)
		return rc;
	char type[40];
	snprintf(type, sizeof type, "lead.%s", names[l->state]);
	return rd_event_record(t, d, v, type, "lead", l->id, names[l->state], NULL);
}

static int create_write(struct rd_txn *t, void *arg)
{
	struct create *c = arg;
	struct rd_domain *d = c->app->domain;
	uint64_t v = c->who->vendor;
	*c->out = *c->in;
	struct rd_lead *l = c->out;
	l->id = 0;
	copy(l->source, sizeof l->source, c->source);
	l->state = RD_LEAD_NEW;
	l->assignment_id = l->partner_id = l->rep_id = l->value = 0;
	l->routings = 0;
	l->excluded[0] = l->lost_reason[0] = l->returned_reason[0] = l->currency[0] = 0;
	l->created_at = rd_clock_now();
	l->accepted_at = l->closed_at = 0;
	l->offered[0] = 0;
	l->offered_kind = 0;
	uint64_t other;
	int rc;
	if (l->external_id[0] && (rc = rd_index_find(t, d->leads, "ext", v, l->external_id, strlen(l->external_id) + 1,
						      &other)) != RD_ENOTFOUND)
		return rc < 0 ? rc : rd_serr_set(c->e, RD_EEXISTS, "conflict", "external_id",
						  "lead %llu has external_id %s already", (unsigned long long)other,
						  l->external_id);
	rc = lead_put(t, d, v, l);
	if (rc == 0)
		rc = audit(t, d, v, c->who->user, RD_AUDIT_CREATE, NULL, l, c->source);
	if (rc == 0 && !strcmp(c->source, "form") && l->email[0]) {
		struct rd_vendor vd;
		if ((rc = rd_entity_get(t, d->vendors, &rd_entity_vendor, 0, v, &vd)) < 0)
			return rc;
		char subject[256], body[1024];
		snprintf(subject, sizeof subject, "Thank you for your enquiry to %s", vd.name);
		snprintf(body, sizeof body,
			 "Dear %s,\n\nthank you for contacting %s. We have received your enquiry (reference L-%llu) and "
			 "one of our people or partners will be in touch shortly.\n\n%s",
			 l->contact_name[0] ? l->contact_name : lead_name(l), vd.name, (unsigned long long)l->id, vd.name);
		rc = mail(c->app, t, v, "lead_received", l->email, 0, l->contact_name, l, subject, body, "");
	}
	return rc;
}

static int finish(int rc, struct rd_serr *e)
{
	if (rc < 0 && e->rc != rc)
		rd_serr_set(e, rc, "internal", NULL, "%s", rd_strerror(rc));
	return rc;
}

int rd_lead_create(struct rd_app *app, const struct rd_actor *who, const struct rd_lead *in, const char *source,
		   struct rd_lead *out, struct rd_serr *e)
{
	e->rc = 0;
	int rc = check_lead(in, e);
	if (rc < 0)
		return rc;
	struct create c = { app, who, in, source, out, e };
	return finish(rd_store_write(app->store, create_write, &c), e);
}

/* ---- loading with visibility -------------------------------------------------------------------- */

bool rd_lead_visible(struct rd_txn *t, struct rd_domain *d, const struct rd_actor *who, const struct rd_lead *l,
		     const struct rd_lead_assignment *a)
{
	(void)t;
	(void)d;
	(void)a;
	if (!who->partner)
		return true; /* the vendor's people (a rep sees the lead list too: the console's) */
	if (l->partner_id == who->partner)
		return true;
	return l->state == RD_LEAD_ASSIGNED && l->offered_kind != RD_ASSIGN_REP && in_list(l->offered, who->partner);
}

/* offered_ok: a partner the current assignment offered the lead to may
 * load it even once another took it (it is told the lead is gone). */
static int load_as(struct rd_txn *t, struct rd_domain *d, const struct rd_actor *who, uint64_t id, struct rd_lead *l,
		   struct rd_lead_assignment *a, bool offered_ok, struct rd_serr *e)
{
	int rc = id ? rd_entity_get(t, d->leads, &rd_entity_lead, who->vendor, id, l) : RD_ENOTFOUND;
	if (rc == RD_ENOTFOUND)
		return rd_serr_set(e, RD_ENOTFOUND, "not_found", "id", "no such lead");
	if (rc < 0)
		return rc;
	memset(a, 0, sizeof *a);
	if (l->assignment_id &&
	    (rc = rd_entity_get(t, d->lead_assignments, &rd_entity_lead_assignment, who->vendor, l->assignment_id, a)) < 0)
		return rc;
	if (!rd_lead_visible(t, d, who, l, l->assignment_id ? a : NULL) &&
	    !(offered_ok && who->partner && l->assignment_id && a->kind != RD_ASSIGN_REP &&
	      in_list(a->targets, who->partner)))
		return rd_serr_set(e, RD_ENOTFOUND, "not_found", "id", "no such lead");
	return 0;
}

static int load(struct rd_txn *t, struct rd_domain *d, const struct rd_actor *who, uint64_t id, struct rd_lead *l,
		struct rd_lead_assignment *a, struct rd_serr *e)
{
	return load_as(t, d, who, id, l, a, false, e);
}

/* ---- qualification ------------------------------------------------------------------------------- */

struct qualify {
	struct rd_app *app;
	const struct rd_actor *who;
	uint64_t id;
	const struct rd_lead_qual *q;
	struct rd_lead *out;
	struct rd_serr *e;
};

static int qualify_write(struct rd_txn *t, void *arg)
{
	struct qualify *u = arg;
	struct rd_domain *d = u->app->domain;
	struct rd_lead_assignment *a = rd_malloc(sizeof *a);
	int rc = load(t, d, u->who, u->id, u->out, a, u->e);
	free(a);
	if (rc < 0)
		return rc;
	struct rd_lead *l = u->out;
	/* The partner that accepted a lead requalifies it while it works it. */
	bool requalify = u->who->partner != 0;
	if (requalify && (l->state != RD_LEAD_ACCEPTED || l->partner_id != u->who->partner))
		return rd_serr_set(u->e, RD_EEXISTS, "conflict", "state", "the lead is %s: a partner requalifies only "
				   "a lead it accepted", state_names[l->state]);
	if (!requalify && l->state != RD_LEAD_NEW && l->state != RD_LEAD_QUALIFIED && l->state != RD_LEAD_RETURNED)
		return rd_serr_set(u->e, RD_EEXISTS, "conflict", "state", "the lead is %s: only a new, qualified or "
				   "returned lead is qualified", state_names[l->state]);
	struct rd_lead before = *l;
	const struct rd_lead_qual *q = u->q;
	struct { const char *v; char *dst; size_t cap; const char *name; } f[] = {
		{ q->situation, l->situation, sizeof l->situation, "situation" },
		{ q->product, l->product, sizeof l->product, "product" },
		{ q->time_frame, l->time_frame, sizeof l->time_frame, "time_frame" },
		{ q->company_size, l->company_size, sizeof l->company_size, "company_size" },
		{ q->region, l->region, sizeof l->region, "region" },
		{ q->country, l->country, sizeof l->country, "country" },
	};
	for (size_t i = 0; i < sizeof f / sizeof *f; i++) {
		if (!f[i].v)
			continue;
		if (strlen(f[i].v) >= f[i].cap)
			return rd_serr_set(u->e, RD_EINVAL, "invalid", f[i].name, "%s is longer than %zu bytes", f[i].name,
					   f[i].cap - 1);
		if (!is_text(f[i].v))
			return rd_serr_set(u->e, RD_EINVAL, "invalid", f[i].name, "%s is not text (UTF-8)", f[i].name);
		copy(f[i].dst, f[i].cap, f[i].v);
	}
	if (blank(l->product))
		return rd_serr_set(u->e, RD_EINVAL, "invalid", "product", "qualifying a lead needs the product of interest");
	if ((rc = check_lead(l, u->e)) < 0)
		return rc;
	if (!requalify)
		l->state = RD_LEAD_QUALIFIED;
	if ((rc = lead_put(t, d, u->who->vendor, l)) < 0)
		return rc;
	return audit(t, d, u->who->vendor, u->who->user, RD_AUDIT_UPDATE, &before, l,
		     requalify ? "lead requalified by the partner" : "lead qualified");
}

int rd_lead_qualify(struct rd_app *app, const struct rd_actor *who, uint64_t id, const struct rd_lead_qual *q,
		    struct rd_lead *out, struct rd_serr *e)
{
	e->rc = 0;
	struct qualify u = { app, who, id, q, out, e };
	return finish(rd_store_write(app->store, qualify_write, &u), e);
}

/* ---- routing ------------------------------------------------------------------------------------ */

struct stats {
	uint64_t id;
	uint32_t offered, accepted, open;
	uint64_t last_active;
};

/* Calendar days (UTC) from the day of `then` to the day of `now`: an accept
 * yesterday evening is one day old this morning, whatever the hour. */
static int32_t days_since(uint64_t now, uint64_t then)
{
	return now > then ? (int32_t)(now / 86400 - then / 86400) : 0;
}

static struct stats *stat_of(struct stats *s, size_t n, uint64_t id)
{
	for (size_t i = 0; i < n; i++)
		if (s[i].id == id)
			return &s[i];
	return NULL;
}

/* The candidates: every partner of the vendor, with what routing sees of
 * it (leads.h).  cands' strings point into parts. */
static int candidates(struct rd_txn *t, struct rd_domain *d, uint64_t v, uint64_t now, struct rd_partner *parts,
		      struct rd_route_candidate *cands, size_t *n)
{
	struct rd_iter it;
	struct rd_item item;
	size_t k = 0;
	int rc = rd_iter_records(&it, t, d->partners, v, 0);
	while (rc >= 0 && k < MAX_CANDIDATES && (rc = rd_iter_next(&it, &item)) == 1)
		if ((rc = rd_entity_decode(&rd_entity_partner, item.val, item.len, &parts[k])) == 0)
			k++;
	rd_iter_close(&it);
	if (rc < 0)
		return rc;
	struct stats *st = rd_calloc(k ? k : 1, sizeof *st);
	for (size_t i = 0; i < k; i++)
		st[i].id = parts[i].id;
	/* Offers and acceptances: the assignments. */
	struct rd_lead_assignment *a = rd_malloc(sizeof *a);
	rc = rd_iter_records(&it, t, d->lead_assignments, v, 0);
	while (rc >= 0 && (rc = rd_iter_next(&it, &item)) == 1) {
		if ((rc = rd_entity_decode(&rd_entity_lead_assignment, item.val, item.len, a)) < 0)
			break;
		if (a->kind == RD_ASSIGN_REP)
			continue;
		uint64_t ids[RD_ROUTE_MAX_POOL];
		size_t m = list_ids(a->targets, ids, RD_ROUTE_MAX_POOL);
		for (size_t j = 0; j < m; j++) {
			struct stats *s = stat_of(st, k, ids[j]);
			if (!s)
				continue;
			s->offered++;
			if (a->state == RD_ASSIGN_ACCEPTED && a->accepted_by == ids[j])
				s->accepted++;
			if (a->state == RD_ASSIGN_OFFERED)
				s->open++;
		}
	}
	rd_iter_close(&it);
	free(a);
	/* Open work and activity: the leads. */
	struct rd_lead *l = rd_malloc(sizeof *l);
	if (rc >= 0)
		rc = rd_iter_records(&it, t, d->leads, v, 0);
	while (rc >= 0 && (rc = rd_iter_next(&it, &item)) == 1) {
		if ((rc = rd_entity_decode(&rd_entity_lead, item.val, item.len, l)) < 0)
			break;
		struct stats *s = l->partner_id ? stat_of(st, k, l->partner_id) : NULL;
		if (!s)
			continue;
		if (l->state == RD_LEAD_ACCEPTED)
			s->open++;
		uint64_t last = l->closed_at > l->accepted_at ? l->closed_at : l->accepted_at;
		if (last > s->last_active)
			s->last_active = last;
	}
	rd_iter_close(&it);
	free(l);
	if (rc < 0) {
		free(st);
		return rc;
	}
	for (size_t i = 0; i < k; i++) {
		cands[i] = (struct rd_route_candidate){
			.id = parts[i].id, .tier = parts[i].tier, .regions = parts[i].lead_regions,
			.specialisations = parts[i].lead_products, .open_load = st[i].open,
			.acceptance_pct = st[i].offered ? st[i].accepted * 100 / st[i].offered : 100,
			.weight = parts[i].lead_weight ? parts[i].lead_weight : 1,
			.last_active_days = st[i].last_active ? days_since(now, st[i].last_active)
							      : INACTIVE_UNKNOWN,
		};
	}
	free(st);
	*n = k;
	return 0;
}

static const char *const tier_names[] = { "", "platinum", "gold", "silver", "vendor" };

static json_t *cand_json(const struct rd_route_candidate *c)
{
	return json_pack("{s:I, s:s, s:s, s:s, s:i, s:i, s:i, s:i}", "id", (json_int_t)c->id, "tier",
			 c->tier < 5 ? tier_names[c->tier] : "", "regions", c->regions ? c->regions : "", "specialisations",
			 c->specialisations ? c->specialisations : "", "open_load", (int)c->open_load, "acceptance_pct",
			 (int)c->acceptance_pct, "weight", (int)c->weight, "last_active_days", (int)c->last_active_days);
}

static json_t *lead_in_json(const struct rd_lead *l)
{
	return json_pack("{s:s, s:s, s:s, s:s, s:s, s:i}", "source", l->source, "country", l->country, "region",
			 l->region, "company_size", l->company_size, "product", l->product, "score", (int)l->score);
}

/* Returns the lead to the channel manager with a reason. */
static int return_lead(struct rd_app *app, struct rd_txn *t, const struct rd_vendor *v, uint64_t user,
		       struct rd_lead *l, const char *why)
{
	struct rd_domain *d = app->domain;
	struct rd_lead before = *l;
	l->state = RD_LEAD_RETURNED;
	l->offered[0] = 0;
	l->offered_kind = 0;
	copy(l->returned_reason, sizeof l->returned_reason, why);
	int rc = lead_put(t, d, v->id, l);
	if (rc == 0)
		rc = audit(t, d, v->id, user, RD_AUDIT_UPDATE, &before, l, "lead returned to the channel manager");
	char subject[256], body[700];
	snprintf(subject, sizeof subject, "Lead L-%llu (%s) returned to you", (unsigned long long)l->id, lead_name(l));
	snprintf(body, sizeof body, "Lead L-%llu (%s) is back with the channel team: %s\nRoute it again or close it in "
		 "the console's leads page.", (unsigned long long)l->id, lead_name(l), why);
	if (rc == 0)
		rc = mail_vendor(app, t, v, "lead_returned", l, subject, body);
	return rc;
}

/* Asks the vendor's policy where lead l goes (excluding l->excluded) and
 * writes the assignment; on a policy refusal or when the limit is reached
 * the lead is returned.  l is written. */
static int route_lead(struct rd_app *app, struct rd_txn *t, const struct rd_vendor *v, uint64_t user, struct rd_lead *l)
{
	struct rd_domain *d = app->domain;
	uint32_t limit = v->lead_reroute_limit ? v->lead_reroute_limit : DEFAULT_REROUTE_LIMIT;
	if (l->routings >= limit) {
		char why[160];
		snprintf(why, sizeof why, "routed %u time(s), the vendor's limit (lead_reroute_limit %u), without an accept",
			 l->routings, limit);
		return return_lead(app, t, v, user, l, why);
	}
	uint64_t now = rd_clock_now();
	struct rd_partner *parts = rd_calloc(MAX_CANDIDATES, sizeof *parts);
	struct rd_route_candidate *cands = rd_calloc(MAX_CANDIDATES, sizeof *cands);
	struct rd_lead_assignment *a = rd_calloc(1, sizeof *a);
	size_t n = 0;
	uint64_t excluded[64];
	size_t nx = list_ids(l->excluded, excluded, 64);
	int rc = candidates(t, d, v->id, now, parts, cands, &n);
	if (rc < 0)
		goto out;
	struct rd_routing_policy *pol;
	char err[300] = "";
	struct rd_route_result res;
	struct rd_lead_in in = { l->source, l->country, l->region, l->company_size, l->product, (int32_t)l->score };
	rc = rd_policy_routing(app->policies, t, d, v, &pol, err, sizeof err);
	if (rc == 0)
		rc = rd_routing_eval(pol, &in, cands, n, excluded, nx, &res, err, sizeof err);
	/* Whatever stops the policy (an error it raised, a result outside the
	 * contract, a limit, a version that does not load) returns the lead to a
	 * person with the reason: a lead is never placed by a silent default. */
	if (rc < 0) {
		char why[256];
		snprintf(why, sizeof why, "the routing policy (v%u) placed it nowhere: %.200s", v->routing_version, err);
		rc = return_lead(app, t, v, user, l, why);
		goto out;
	}
	if (res.kind == RD_ROUTE_REP) {
		struct rd_user u;
		if (rd_entity_get(t, d->users, &rd_entity_user, v->id, res.ids[0], &u) < 0 || u.partner_id || u.disabled) {
			char why[200];
			snprintf(why, sizeof why, "the routing policy (v%u) chose rep %llu, who is not an enabled user of the "
				 "vendor's team", v->routing_version, (unsigned long long)res.ids[0]);
			rc = return_lead(app, t, v, user, l, why);
			goto out;
		}
	}
	/* The assignment, with what the policy saw. */
	a->lead_id = l->id;
	a->kind = res.kind == RD_ROUTE_REP ? RD_ASSIGN_REP : res.kind == RD_ROUTE_PARTNER ? RD_ASSIGN_PARTNER : RD_ASSIGN_POOL;
	for (int i = 0; i < res.n; i++)
		list_add(a->targets, sizeof a->targets, res.ids[i]);
	a->hours = res.hours;
	a->deadline = now + (uint64_t)res.hours * 3600;
	copy(a->reason, sizeof a->reason, res.reason);
	a->policy_version = v->routing_version;
	a->state = RD_ASSIGN_OFFERED;
	a->created_at = now;
	json_t *cj = json_array(), *xj = json_array();
	for (size_t i = 0; i < n; i++)
		json_array_append_new(cj, cand_json(&cands[i]));
	for (size_t i = 0; i < nx; i++)
		json_array_append_new(xj, json_integer((json_int_t)excluded[i]));
	json_t *inputs = json_pack("{s:o, s:o, s:o}", "lead", lead_in_json(l), "candidates", cj, "excluded", xj);
	char *text = json_dumps(inputs, JSON_COMPACT);
	json_decref(inputs);
	if (text && strlen(text) < sizeof a->inputs)
		copy(a->inputs, sizeof a->inputs, text);
	else
		copy(a->inputs, sizeof a->inputs, "{\"truncated\": true}");
	free(text);
	if ((rc = rd_entity_put(t, d->lead_assignments, &rd_entity_lead_assignment, v->id, a, 0)) < 0)
		goto out;
	struct rd_lead before = *l;
	l->assignment_id = a->id;
	copy(l->offered, sizeof l->offered, a->targets);
	l->offered_kind = a->kind;
	l->routings++;
	l->state = RD_LEAD_ASSIGNED;
	l->returned_reason[0] = 0;
	if ((rc = lead_put(t, d, v->id, l)) < 0)
		goto out;
	char note[256];
	snprintf(note, sizeof note, "lead assigned (%s %.60s, policy v%u): %.150s", a->kind == RD_ASSIGN_REP ? "rep"
		 : a->kind == RD_ASSIGN_PARTNER ? "partner" : "pool", a->targets, a->policy_version, a->reason);
	if ((rc = audit(t, d, v->id, user, RD_AUDIT_UPDATE, &before, l, note)) < 0)
		goto out;
	/* Tell who it is offered to. */
	char subject[256], body[1200], deadline[21];
	rd_time_format(a->deadline, deadline);
	snprintf(subject, sizeof subject, "New lead for you: %s (accept by %s)", lead_name(l), deadline);
	snprintf(body, sizeof body,
		 "%s offers you lead L-%llu: %s%s%s, %s %s, interested in %s.\n%s\nAccept or decline it by %s in the "
		 "partner portal (leads). Why you: %s (routing policy v%u).",
		 v->name, (unsigned long long)l->id, lead_name(l), l->country[0] ? ", " : "", l->country, l->region,
		 l->company_size, l->product,
		 a->kind == RD_ASSIGN_POOL ? "It is offered to a pool: the first to accept takes it." : "", deadline,
		 a->reason, a->policy_version);
	uint64_t ids[RD_ROUTE_MAX_POOL];
	size_t m = list_ids(a->targets, ids, RD_ROUTE_MAX_POOL);
	for (size_t i = 0; i < m && rc == 0; i++)
		rc = a->kind == RD_ASSIGN_REP ? mail_user(app, t, v->id, ids[i], "lead_offer", l, subject, body)
					      : mail_partner(app, t, v->id, ids[i], "lead_offer", l, subject, body);
out:
	free(parts);
	free(cands);
	free(a);
	return rc;
}

struct route {
	struct rd_app *app;
	const struct rd_actor *who;
	uint64_t id;
	struct rd_lead *out;
	struct rd_serr *e;
};

static int route_write(struct rd_txn *t, void *arg)
{
	struct route *u = arg;
	struct rd_domain *d = u->app->domain;
	struct rd_lead_assignment *a = rd_malloc(sizeof *a);
	int rc = load(t, d, u->who, u->id, u->out, a, u->e);
	free(a);
	if (rc < 0)
		return rc;
	struct rd_lead *l = u->out;
	if (l->state != RD_LEAD_QUALIFIED && l->state != RD_LEAD_RETURNED)
		return rd_serr_set(u->e, RD_EEXISTS, "conflict", "state", "the lead is %s: only a qualified or returned "
				   "lead is routed", state_names[l->state]);
	if (l->state == RD_LEAD_RETURNED) {
		/* The channel manager routes it afresh: a new round. */
		l->routings = 0;
		l->excluded[0] = 0;
	}
	struct rd_vendor v;
	if ((rc = rd_entity_get(t, d->vendors, &rd_entity_vendor, 0, u->who->vendor, &v)) < 0)
		return rc;
	return route_lead(u->app, t, &v, u->who->user, l);
}

int rd_lead_route(struct rd_app *app, const struct rd_actor *who, uint64_t id, struct rd_lead *out, struct rd_serr *e)
{
	e->rc = 0;
	if (who->partner)
		return rd_serr_set(e, -EACCES, "forbidden", NULL, "the vendor's people route leads");
	struct route u = { app, who, id, out, e };
	return finish(rd_store_write(app->store, route_write, &u), e);
}

/* ---- accept, decline, close --------------------------------------------------------------------- */

struct act {
	struct rd_app *app;
	const struct rd_actor *who;
	uint64_t id;
	int op; /* 0 accept, 1 decline, 2 won, 3 lost */
	uint64_t value;
	const char *reason;
	struct rd_lead *out;
	struct rd_serr *e;
};

/* Whether the actor is one the assignment offers the lead to; *whom is the
 * partner (or, for a rep, the user) that acts. */
static bool offered_to(const struct rd_lead_assignment *a, const struct rd_actor *who, uint64_t *whom)
{
	if (a->kind == RD_ASSIGN_REP) {
		*whom = who->user;
		return !who->partner && in_list(a->targets, who->user);
	}
	*whom = who->partner;
	return who->partner && in_list(a->targets, who->partner);
}

static int act_write(struct rd_txn *t, void *arg)
{
	struct act *u = arg;
	struct rd_domain *d = u->app->domain;
	uint64_t vid = u->who->vendor;
	struct rd_lead *l = u->out;
	struct rd_lead_assignment *a = rd_malloc(sizeof *a);
	struct rd_vendor v;
	int rc = load_as(t, d, u->who, u->id, l, a, u->op <= 1, u->e);
	if (rc < 0)
		goto out;
	if ((rc = rd_entity_get(t, d->vendors, &rd_entity_vendor, 0, vid, &v)) < 0)
		goto out;
	struct rd_lead before = *l;
	uint64_t whom = 0;
	bool mine = l->assignment_id && offered_to(a, u->who, &whom);
	char subject[256], body[900];
	if (u->op <= 1) {
		if (!mine) {
			/* Not offered to the actor: a rep's lead, or one a vendor user looks at. */
			rc = rd_serr_set(u->e, RD_ENOTFOUND, "not_found", "id", "this lead is not offered to you");
			goto out;
		}
		if (l->state != RD_LEAD_ASSIGNED || a->state != RD_ASSIGN_OFFERED) {
			rc = rd_serr_set(u->e, RD_EEXISTS, "gone", "id", l->state == RD_LEAD_ACCEPTED &&
					 (l->partner_id == whom || l->rep_id == whom) ? "you accepted this lead already"
					 : "this lead is gone: another took it or it is no longer offered");
			goto out;
		}
		if (a->kind != RD_ASSIGN_REP && in_list(a->declined, whom)) {
			rc = rd_serr_set(u->e, RD_EEXISTS, "gone", "id", "you declined this lead");
			goto out;
		}
		if (rd_clock_now() >= a->deadline) {
			rc = rd_serr_set(u->e, RD_EEXISTS, "gone", "id", "the deadline to accept this lead has passed");
			goto out;
		}
	}
	if (u->op == 0) { /* accept: the one write that turns offered into accepted */
		a->state = RD_ASSIGN_ACCEPTED;
		a->accepted_by = whom;
		a->user_id = u->who->user;
		a->closed_at = rd_clock_now();
		l->state = RD_LEAD_ACCEPTED;
		l->accepted_at = a->closed_at;
		l->offered[0] = 0;
		l->offered_kind = 0;
		if (a->kind == RD_ASSIGN_REP)
			l->rep_id = whom;
		else
			l->partner_id = whom;
		if ((rc = rd_entity_put(t, d->lead_assignments, &rd_entity_lead_assignment, vid, a, 0)) < 0 ||
		    (rc = lead_put(t, d, vid, l)) < 0 ||
		    (rc = audit(t, d, vid, u->who->user, RD_AUDIT_UPDATE, &before, l, "lead accepted")) < 0)
			goto out;
		snprintf(subject, sizeof subject, "Lead L-%llu (%s) accepted", (unsigned long long)l->id, lead_name(l));
		snprintf(body, sizeof body, "Lead L-%llu (%s) was accepted by %s %llu.", (unsigned long long)l->id,
			 lead_name(l), a->kind == RD_ASSIGN_REP ? "rep" : "partner", (unsigned long long)whom);
		if ((rc = mail_vendor(u->app, t, &v, "lead_accepted", l, subject, body)) < 0)
			goto out;
		if (a->kind == RD_ASSIGN_POOL) { /* the others: it is gone */
			uint64_t ids[RD_ROUTE_MAX_POOL];
			size_t m = list_ids(a->targets, ids, RD_ROUTE_MAX_POOL);
			snprintf(subject, sizeof subject, "Lead L-%llu (%s) is taken", (unsigned long long)l->id, lead_name(l));
			snprintf(body, sizeof body, "Lead L-%llu (%s), offered to a pool you were in, was accepted by another "
				 "partner: it is no longer available.", (unsigned long long)l->id, lead_name(l));
			for (size_t i = 0; i < m && rc == 0; i++)
				if (ids[i] != whom && !in_list(a->declined, ids[i]))
					rc = mail_partner(u->app, t, vid, ids[i], "lead_gone", l, subject, body);
		}
		goto out;
	}
	if (u->op == 1) { /* decline */
		list_add(a->declined, sizeof a->declined, whom);
		copy(a->decline_reason, sizeof a->decline_reason, u->reason);
		a->user_id = u->who->user;
		bool all = true;
		uint64_t ids[RD_ROUTE_MAX_POOL];
		size_t m = list_ids(a->targets, ids, RD_ROUTE_MAX_POOL);
		for (size_t i = 0; i < m; i++)
			all &= in_list(a->declined, ids[i]);
		if (a->kind != RD_ASSIGN_REP)
			list_add(l->excluded, sizeof l->excluded, whom);
		if (all) {
			a->state = RD_ASSIGN_DECLINED;
			a->closed_at = rd_clock_now();
		}
		if ((rc = rd_entity_put(t, d->lead_assignments, &rd_entity_lead_assignment, vid, a, 0)) < 0 ||
		    (rc = lead_put(t, d, vid, l)) < 0)
			goto out;
		char note[256];
		snprintf(note, sizeof note, "lead declined by %s %llu: %.180s", a->kind == RD_ASSIGN_REP ? "rep" : "partner",
			 (unsigned long long)whom, u->reason);
		if ((rc = audit(t, d, vid, u->who->user, RD_AUDIT_UPDATE, &before, l, note)) < 0)
			goto out;
		snprintf(subject, sizeof subject, "Lead L-%llu (%s) declined", (unsigned long long)l->id, lead_name(l));
		snprintf(body, sizeof body, "%s %llu declined lead L-%llu (%s): %s", a->kind == RD_ASSIGN_REP ? "Rep" : "Partner",
			 (unsigned long long)whom, (unsigned long long)l->id, lead_name(l), u->reason);
		if ((rc = mail_vendor(u->app, t, &v, "lead_declined", l, subject, body)) < 0)
			goto out;
		if (all)
			rc = route_lead(u->app, t, &v, u->who->user, l);
		goto out;
	}
	/* close: won or lost, by whoever accepted it */
	bool owner = l->state == RD_LEAD_ACCEPTED &&
		     (u->who->partner ? l->partner_id == u->who->partner : (l->rep_id == u->who->user || !l->partner_id));
	if (l->state == RD_LEAD_ACCEPTED && !owner && u->who->partner == 0 && l->partner_id) {
		rc = rd_serr_set(u->e, RD_EEXISTS, "conflict", "state", "partner %llu works this lead: it closes it",
				 (unsigned long long)l->partner_id);
		goto out;
	}
	if (!owner) {
		rc = rd_serr_set(u->e, RD_EEXISTS, "conflict", "state", "the lead is %s: only an accepted lead is closed",
				 state_names[l->state]);
		goto out;
	}
	l->closed_at = rd_clock_now();
	if (u->op == 2) {
		l->state = RD_LEAD_WON;
		l->value = u->value;
		copy(l->currency, sizeof l->currency, v.currency);
	} else {
		l->state = RD_LEAD_LOST;
		copy(l->lost_reason, sizeof l->lost_reason, u->reason);
	}
	if ((rc = lead_put(t, d, vid, l)) < 0 ||
	    (rc = audit(t, d, vid, u->who->user, RD_AUDIT_UPDATE, &before, l, u->op == 2 ? "lead won" : "lead lost")) < 0)
		goto out;
	if (u->op == 2) {
		char value[64];
		rd_money_format((int64_t)l->value, l->currency, value, sizeof value);
		snprintf(body, sizeof body, "Lead L-%llu (%s) was won, value %s.", (unsigned long long)l->id, lead_name(l),
			 value);
	}
	else
		snprintf(body, sizeof body, "Lead L-%llu (%s) was lost: %s", (unsigned long long)l->id, lead_name(l),
			 l->lost_reason);
	snprintf(subject, sizeof subject, "Lead L-%llu (%s) %s", (unsigned long long)l->id, lead_name(l),
		 u->op == 2 ? "won" : "lost");
	rc = mail_vendor(u->app, t, &v, u->op == 2 ? "lead_won" : "lead_lost", l, subject, body);
out:
	free(a);
	return rc;
}

static int act(struct rd_app *app, const struct rd_actor *who, uint64_t id, int op, uint64_t value, const char *reason,
	       struct rd_lead *out, struct rd_serr *e)
{
	struct act u = { app, who, id, op, value, reason, out, e };
	return finish(rd_store_write(app->store, act_write, &u), e);
}

int rd_lead_accept(struct rd_app *app, const struct rd_actor *who, uint64_t id, struct rd_lead *out, struct rd_serr *e)
{
	e->rc = 0;
	return act(app, who, id, 0, 0, NULL, out, e);
}

static int check_reason(const char *reason, size_t cap, struct rd_serr *e, const char *what)
{
	if (!reason || blank(reason))
		return rd_serr_set(e, RD_EINVAL, "invalid", "reason", "%s needs a reason", what);
	if (strlen(reason) >= cap)
		return rd_serr_set(e, RD_EINVAL, "invalid", "reason", "the reason is longer than %zu bytes", cap - 1);
	if (!is_text(reason))
		return rd_serr_set(e, RD_EINVAL, "invalid", "reason", "the reason is not text (UTF-8)");
	return 0;
}

int rd_lead_decline(struct rd_app *app, const struct rd_actor *who, uint64_t id, const char *reason, struct rd_lead *out,
		    struct rd_serr *e)
{
	e->rc = 0;
	int rc = check_reason(reason, 256, e, "declining a lead");
	return rc < 0 ? rc : act(app, who, id, 1, 0, reason, out, e);
}

int rd_lead_close(struct rd_app *app, const struct rd_actor *who, uint64_t id, bool won, uint64_t value,
		  const char *reason, struct rd_lead *out, struct rd_serr *e)
{
	e->rc = 0;
	if (won && (value == 0 || value > (uint64_t)1 << 53))
		return rd_serr_set(e, RD_EINVAL, "invalid", "value", "a won lead needs its value (minor units, > 0)");
	if (!won) {
		int rc = check_reason(reason, 256, e, "a lost lead");
		if (rc < 0)
			return rc;
	}
	return act(app, who, id, won ? 2 : 3, value, reason, out, e);
}

/* ---- lapses ----------------------------------------------------------------------------------- */

struct lapse {
	struct rd_app *app;
	int lapsed;
};

static int lapse_vendor(struct rd_txn *t, struct lapse *u, const struct rd_vendor *v)
{
	struct rd_domain *d = u->app->domain;
	uint64_t now = rd_clock_now();
	/* First the ids (writes must not run under an open iterator). */
	uint64_t *ids = NULL;
	size_t n = 0, cap = 0;
	struct rd_iter it;
	struct rd_item item;
	struct rd_lead *l = rd_malloc(sizeof *l);
	int rc = rd_iter_records(&it, t, d->leads, v->id, 0);
	while (rc >= 0 && (rc = rd_iter_next(&it, &item)) == 1) {
		if ((rc = rd_entity_decode(&rd_entity_lead, item.val, item.len, l)) < 0)
			break;
		if (l->state != RD_LEAD_ASSIGNED)
			continue;
		if (n == cap)
			ids = rd_realloc(ids, (cap = cap ? 2 * cap : 16) * sizeof *ids);
		ids[n++] = l->id;
	}
	rd_iter_close(&it);
	struct rd_lead_assignment *a = rd_malloc(sizeof *a);
	for (size_t i = 0; rc >= 0 && i < n; i++) {
		if ((rc = rd_entity_get(t, d->leads, &rd_entity_lead, v->id, ids[i], l)) < 0 ||
		    (rc = rd_entity_get(t, d->lead_assignments, &rd_entity_lead_assignment, v->id, l->assignment_id, a)) < 0)
			break;
		if (l->state != RD_LEAD_ASSIGNED || a->state != RD_ASSIGN_OFFERED || now < a->deadline)
			continue;
		struct rd_lead before = *l;
		a->state = RD_ASSIGN_LAPSED;
		a->closed_at = now;
		uint64_t who[RD_ROUTE_MAX_POOL];
		size_t m = list_ids(a->targets, who, RD_ROUTE_MAX_POOL);
		if (a->kind != RD_ASSIGN_REP)
			for (size_t j = 0; j < m; j++)
				list_add(l->excluded, sizeof l->excluded, who[j]);
		if ((rc = rd_entity_put(t, d->lead_assignments, &rd_entity_lead_assignment, v->id, a, 0)) < 0 ||
		    (rc = lead_put(t, d, v->id, l)) < 0)
			break;
		char note[200];
		snprintf(note, sizeof note, "lead lapsed: not accepted by %s %.100s before its deadline",
			 a->kind == RD_ASSIGN_REP ? "rep" : a->kind == RD_ASSIGN_POOL ? "pool" : "partner", a->targets);
		if ((rc = audit(t, d, v->id, 0, RD_AUDIT_UPDATE, &before, l, note)) < 0)
			break;
		char subject[256], body[600];
		snprintf(subject, sizeof subject, "Lead L-%llu (%s) lapsed", (unsigned long long)l->id, lead_name(l));
		snprintf(body, sizeof body, "The time to accept lead L-%llu (%s) has passed: it is offered elsewhere.",
			 (unsigned long long)l->id, lead_name(l));
		for (size_t j = 0; j < m && rc == 0; j++)
			rc = a->kind == RD_ASSIGN_REP ? mail_user(u->app, t, v->id, who[j], "lead_lapsed", l, subject, body)
						      : mail_partner(u->app, t, v->id, who[j], "lead_lapsed", l, subject, body);
		if (rc == 0)
			rc = route_lead(u->app, t, v, 0, l);
		if (rc == 0)
			u->lapsed++;
	}
	free(a);
	free(l);
	free(ids);
	return rc < 0 ? rc : 0;
}

static int lapse_write(struct rd_txn *t, void *arg)
{
	struct lapse *u = arg;
	u->lapsed = 0;
	struct rd_domain *d = u->app->domain;
	uint64_t *vids = NULL;
	size_t n = 0, cap = 0;
	struct rd_iter it;
	struct rd_item item;
	int rc = rd_iter_records(&it, t, d->vendors, 0, 0);
	while (rc >= 0 && (rc = rd_iter_next(&it, &item)) == 1) {
		if (n == cap)
			vids = rd_realloc(vids, (cap = cap ? 2 * cap : 8) * sizeof *vids);
		vids[n++] = item.id;
	}
	rd_iter_close(&it);
	struct rd_vendor v;
	for (size_t i = 0; rc >= 0 && i < n; i++)
		if ((rc = rd_entity_get(t, d->vendors, &rd_entity_vendor, 0, vids[i], &v)) == 0)
			rc = lapse_vendor(t, u, &v);
	free(vids);
	return rc < 0 ? rc : 0;
}

/* Whether any lead anywhere is assigned past its deadline: read first, so
 * the periodic step writes nothing when nothing is due. */
static bool lapse_due(struct rd_app *app)
{
	struct rd_txn *t;
	if (rd_store_read(app->store, &t) < 0)
		return true;
	struct rd_domain *d = app->domain;
	uint64_t now = rd_clock_now();
	bool due = false;
	struct rd_iter vit, it;
	struct rd_item vitem, item;
	struct rd_lead *l = rd_malloc(sizeof *l);
	struct rd_lead_assignment *a = rd_malloc(sizeof *a);
	int rc = rd_iter_records(&vit, t, d->vendors, 0, 0);
	while (!due && rc >= 0 && (rc = rd_iter_next(&vit, &vitem)) == 1) {
		int r2 = rd_iter_records(&it, t, d->leads, vitem.id, 0);
		while (!due && r2 >= 0 && (r2 = rd_iter_next(&it, &item)) == 1)
			if (rd_entity_decode(&rd_entity_lead, item.val, item.len, l) == 0 && l->state == RD_LEAD_ASSIGNED &&
			    rd_entity_get(t, d->lead_assignments, &rd_entity_lead_assignment, vitem.id, l->assignment_id, a) == 0 &&
			    a->state == RD_ASSIGN_OFFERED && now >= a->deadline)
				due = true;
		rd_iter_close(&it);
	}
	rd_iter_close(&vit);
	rd_txn_end(t);
	free(l);
	free(a);
	return due;
}

int rd_leads_lapse(struct rd_app *app)
{
	if (!lapse_due(app))
		return 0;
	struct lapse u = { app, 0 };
	int rc = rd_store_write(app->store, lapse_write, &u);
	if (rc < 0) {
		rd_log(RD_LOG_ERROR, "leads", "the lapse step failed: %s", rd_strerror(rc));
		return rc;
	}
	if (u.lapsed)
		rd_log(RD_LOG_INFO, "leads", "%d lead assignment(s) lapsed", u.lapsed);
	return u.lapsed;
}

/* ---- explanation ------------------------------------------------------------------------------ */

static json_t *assignment_json(const struct rd_lead_assignment *a, const struct rd_actor *who)
{
	json_t *j = rd_entity_to_json(&rd_entity_lead_assignment, a);
	json_t *inputs = json_loads(a->inputs, 0, NULL);
	json_object_del(j, "inputs");
	if (who->partner) {
		/* A partner sees the lead's inputs and its own row, not its competitors'. */
		json_t *mine = NULL, *c;
		size_t i;
		json_array_foreach(json_object_get(inputs, "candidates"), i, c)
			if ((uint64_t)json_integer_value(json_object_get(c, "id")) == who->partner)
				mine = c;
		json_t *shown = json_pack("{s:O*, s:O*}", "lead", json_object_get(inputs, "lead"), "you", mine);
		json_object_set_new(j, "inputs", shown ? shown : json_object());
		json_object_del(j, "targets");
		json_object_del(j, "declined");
		json_object_del(j, "decline_reason");
		json_object_set_new(j, "offered_to_you", json_true());
		json_decref(inputs);
	} else {
		json_object_set_new(j, "inputs", inputs ? inputs : json_object());
	}
	return j;
}

int rd_lead_explain(struct rd_app *app, const struct rd_actor *who, uint64_t id, json_t **out, struct rd_serr *e)
{
	e->rc = 0;
	struct rd_txn *t;
	int rc = rd_store_read(app->store, &t);
	if (rc < 0)
		return finish(rc, e);
	struct rd_domain *d = app->domain;
	struct rd_lead *l = rd_malloc(sizeof *l);
	struct rd_lead_assignment *a = rd_malloc(sizeof *a);
	json_t *list = json_array();
	if ((rc = load(t, d, who, id, l, a, e)) < 0)
		goto out;
	struct rd_iter it;
	struct rd_item item;
	rc = rd_iter_records(&it, t, d->lead_assignments, who->vendor, 0);
	while (rc >= 0 && (rc = rd_iter_next(&it, &item)) == 1) {
		if ((rc = rd_entity_decode(&rd_entity_lead_assignment, item.val, item.len, a)) < 0)
			break;
		if (a->lead_id != id)
			continue;
		if (who->partner && (a->kind == RD_ASSIGN_REP || !in_list(a->targets, who->partner)))
			continue;
		json_array_append_new(list, assignment_json(a, who));
	}
	rd_iter_close(&it);
out:
	rd_txn_end(t);
	free(l);
	free(a);
	if (rc < 0) {
		json_decref(list);
		return finish(rc, e);
	}
	*out = list;
	return 0;
}

/* ---- dry run ----------------------------------------------------------------------------------- */

static const char *jstr(json_t *o, const char *k)
{
	const char *s = json_string_value(json_object_get(o, k));
	return s && *s ? s : NULL;
}

static json_t *outcome_json(uint8_t kind, const char *targets, const char *reason)
{
	static const char *const kinds[] = { "", "rep", "partner", "pool" };
	json_t *ids = json_array();
	uint64_t v[RD_ROUTE_MAX_POOL];
	size_t n = list_ids(targets, v, RD_ROUTE_MAX_POOL);
	for (size_t i = 0; i < n; i++)
		json_array_append_new(ids, json_integer((json_int_t)v[i]));
	return json_pack("{s:s, s:o, s:s}", "kind", kind <= 3 ? kinds[kind] : "", "ids", ids, "reason", reason);
}

int rd_lead_dry_run(struct rd_app *app, const struct rd_actor *who, uint32_t version, uint32_t last, json_t **report,
		    struct rd_serr *e)
{
	e->rc = 0;
	if (who->partner)
		return rd_serr_set(e, -EACCES, "forbidden", NULL, "the vendor's people run routing dry runs");
	if (last < 1 || last > 200)
		return rd_serr_set(e, RD_EINVAL, "invalid", "last", "a dry run covers the last 1..200 routed leads");
	struct rd_txn *t;
	int rc = rd_store_read(app->store, &t);
	if (rc < 0)
		return finish(rc, e);
	struct rd_domain *d = app->domain;
	struct rd_vendor v;
	struct rd_policy_rec *rec = rd_malloc(sizeof *rec);
	struct rd_lead_assignment *a = rd_malloc(sizeof *a);
	struct rd_sandbox *sb = NULL;
	uint64_t *ids = NULL;
	size_t n = 0, cap = 0;
	json_t *rows = json_array();
	bool loaded = false;
	struct rd_routing_policy pol;
	struct rd_route_candidate *cands = NULL;
	if ((rc = rd_entity_get(t, d->vendors, &rd_entity_vendor, 0, who->vendor, &v)) < 0)
		goto out;
	rc = rd_policy_find(t, d, who->vendor, "routing", version, rec);
	if (rc == RD_ENOTFOUND) {
		rc = rd_serr_set(e, RD_ENOTFOUND, "not_found", "version", "no routing policy version %u", version);
		goto out;
	}
	if (rc < 0)
		goto out;
	/* The newest assignment of each of the last `last` leads routed (newest first). */
	struct rd_iter it;
	struct rd_item item;
	uint64_t *seen = rd_calloc(last, sizeof *seen);
	size_t nseen = 0;
	rc = rd_iter_records(&it, t, d->lead_assignments, who->vendor, 0);
	while (rc >= 0 && (rc = rd_iter_next(&it, &item)) == 1) {
		if (n == cap)
			ids = rd_realloc(ids, (cap = cap ? 2 * cap : 64) * sizeof *ids);
		ids[n++] = item.id;
	}
	rd_iter_close(&it);
	if (rc < 0) {
		free(seen);
		goto out;
	}
	struct rd_sandbox_limits lim = { .memory_bytes = (size_t)v.policy_memory_kb * 1024,
					 .instructions = v.policy_instructions };
	if ((rc = rd_sandbox_new(&sb, &lim)) < 0) {
		free(seen);
		goto out;
	}
	rd_sandbox_limit_total(sb, RD_POLICY_JOB_MS, RD_POLICY_JOB_WALL_MS);
	char err[300] = "", name[32];
	snprintf(name, sizeof name, "routing v%u", version);
	if ((rc = rd_routing_load(&pol, sb, name, rec->source, strlen(rec->source), err, sizeof err)) < 0) {
		free(seen);
		rc = rd_serr_set(e, RD_EINVAL, "invalid", "version", "routing v%u does not load: %s", version, err);
		goto out;
	}
	loaded = true;
	int differ = 0;
	cands = rd_calloc(MAX_CANDIDATES, sizeof *cands);
	for (size_t i = n; i-- > 0 && nseen < last;) {
		if ((rc = rd_entity_get(t, d->lead_assignments, &rd_entity_lead_assignment, who->vendor, ids[i], a)) < 0)
			break;
		bool dup = false;
		for (size_t k = 0; k < nseen; k++)
			dup |= seen[k] == a->lead_id;
		if (dup)
			continue;
		seen[nseen++] = a->lead_id;
		json_t *in = json_loads(a->inputs, 0, NULL), *lj = json_object_get(in, "lead");
		struct rd_lead_in lead = { jstr(lj, "source"), jstr(lj, "country"), jstr(lj, "region"),
					   jstr(lj, "company_size"), jstr(lj, "product"),
					   (int32_t)json_integer_value(json_object_get(lj, "score")) };
		uint64_t excluded[64];
		size_t nc = 0, nx = 0, k;
		json_t *c;
		json_array_foreach(json_object_get(in, "candidates"), k, c) {
			if (nc == MAX_CANDIDATES)
				break;
			const char *tier = jstr(c, "tier");
			uint8_t ti = 0;
			for (uint8_t q = 1; tier && q < 5; q++)
				if (!strcmp(tier, tier_names[q]))
					ti = q;
			cands[nc++] = (struct rd_route_candidate){
				(uint64_t)json_integer_value(json_object_get(c, "id")), ti, jstr(c, "regions"),
				jstr(c, "specialisations"), (uint32_t)json_integer_value(json_object_get(c, "open_load")),
				(uint32_t)json_integer_value(json_object_get(c, "acceptance_pct")),
				(uint32_t)json_integer_value(json_object_get(c, "weight")),
				(int32_t)json_integer_value(json_object_get(c, "last_active_days")) };
		}
		json_array_foreach(json_object_get(in, "excluded"), k, c) if (nx < 64) excluded[nx++] =
			(uint64_t)json_integer_value(c);
		struct rd_route_result res;
		err[0] = 0;
		int r = rd_routing_eval(&pol, &lead, cands, nc, excluded, nx, &res, err, sizeof err);
		json_t *would;
		char targets[1024] = "";
		if (r < 0) {
			would = json_pack("{s:s, s:s}", "kind", "returned", "reason", err);
		} else {
			for (int q = 0; q < res.n; q++)
				list_add(targets, sizeof targets, res.ids[q]);
			uint8_t kind = res.kind == RD_ROUTE_REP ? RD_ASSIGN_REP : res.kind == RD_ROUTE_PARTNER ? RD_ASSIGN_PARTNER
													  : RD_ASSIGN_POOL;
			would = outcome_json(kind, targets, res.reason);
		}
		bool same = r == 0 && !strcmp(targets, a->targets) &&
			    ((res.kind == RD_ROUTE_REP && a->kind == RD_ASSIGN_REP) ||
			     (res.kind == RD_ROUTE_PARTNER && a->kind == RD_ASSIGN_PARTNER) ||
			     (res.kind == RD_ROUTE_POOL && a->kind == RD_ASSIGN_POOL));
		differ += !same;
		json_array_append_new(rows, json_pack("{s:I, s:I, s:i, s:o, s:o, s:b}", "lead_id", (json_int_t)a->lead_id,
						      "assignment_id", (json_int_t)a->id, "policy_version",
						      (int)a->policy_version, "actual",
						      outcome_json(a->kind, a->targets, a->reason), "would", would, "changed",
						      !same));
		json_decref(in);
	}
	free(seen);
	if (rc >= 0) {
		rc = 0;
		*report = json_pack("{s:i, s:i, s:i, s:o}", "version", (int)version, "leads", (int)json_array_size(rows),
				    "changed", differ, "items", rows);
		rows = NULL;
	}
out:
	free(cands);
	if (loaded)
		rd_routing_unload(&pol);
	rd_sandbox_free(&sb);
	rd_txn_end(t);
	json_decref(rows);
	free(rec);
	free(a);
	free(ids);
	return finish(rc, e);
}

/* ---- the web-to-lead form ------------------------------------------------------------------------- */

static uint8_t form_key[crypto_auth_KEYBYTES];
static uv_once_t form_once = UV_ONCE_INIT;

static void form_key_init(void)
{
	if (sodium_init() < 0)
		abort();
	crypto_auth_keygen(form_key);
}

static uint64_t real_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_REALTIME, &ts);
	return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}

static void stamp_mac(uint64_t vendor, uint64_t ms, char hex[2 * crypto_auth_BYTES + 1])
{
	char msg[64];
	int n = snprintf(msg, sizeof msg, "%llu.%llu", (unsigned long long)vendor, (unsigned long long)ms);
	uint8_t mac[crypto_auth_BYTES];
	crypto_auth(mac, (const uint8_t *)msg, (unsigned long long)n, form_key);
	sodium_bin2hex(hex, 2 * crypto_auth_BYTES + 1, mac, sizeof mac);
}

void rd_lead_form_stamp(uint64_t vendor, char out[96])
{
	uv_once(&form_once, form_key_init);
	uint64_t ms = real_ms();
	char hex[2 * crypto_auth_BYTES + 1];
	stamp_mac(vendor, ms, hex);
	snprintf(out, 96, "%llu.%s", (unsigned long long)ms, hex);
}

/* The flood limiter: per vendor and client address, the submissions of the
 * last hour (a fixed window per address, loop thread only). */
#define FLOOD_SLOTS 1024
static struct flood {
	uint64_t vendor;
	char peer[64];
	uint64_t window_start; /* real ms */
	uint32_t count;
} flood[FLOOD_SLOTS];

static bool flood_allow(uint64_t vendor, const char *peer, uint32_t per_hour)
{
	uint64_t now = real_ms();
	struct flood *free_slot = NULL, *oldest = &flood[0];
	for (size_t i = 0; i < FLOOD_SLOTS; i++) {
		struct flood *f = &flood[i];
		if (f->vendor == vendor && !strcmp(f->peer, peer)) {
			if (now - f->window_start >= 3600 * 1000) {
				f->window_start = now;
				f->count = 0;
			}
			if (f->count >= per_hour)
				return false;
			f->count++;
			return true;
		}
		if (!f->vendor || now - f->window_start >= 3600 * 1000) {
			if (!free_slot)
				free_slot = f;
		} else if (f->window_start < oldest->window_start) {
			oldest = f;
		}
	}
	struct flood *f = free_slot ? free_slot : oldest;
	f->vendor = vendor;
	copy(f->peer, sizeof f->peer, peer);
	f->window_start = now;
	f->count = 1;
	return per_hour >= 1;
}

int rd_lead_form_vendor(struct rd_app *app, const char *slug, struct rd_vendor *out)
{
	struct rd_txn *t;
	int rc = rd_store_read(app->store, &t);
	if (rc < 0)
		return rc;
	struct rd_iter it;
	struct rd_item item;
	bool found = false;
	rc = rd_iter_records(&it, t, app->domain->vendors, 0, 0);
	while (!found && rc >= 0 && (rc = rd_iter_next(&it, &item)) == 1)
		found = rd_entity_decode(&rd_entity_vendor, item.val, item.len, out) == 0 && !strcmp(out->slug, slug);
	rd_iter_close(&it);
	rd_txn_end(t);
	if (rc < 0)
		return rc;
	/* A vendor the platform operator suspended has no open form. */
	return found && out->lead_form_enabled && !out->suspended ? 0 : RD_ENOTFOUND;
}

int rd_lead_form_submit(struct rd_app *app, const char *slug, const char *peer, const struct rd_lead_form *f,
			struct rd_lead *out, struct rd_serr *e)
{
	e->rc = 0;
	uv_once(&form_once, form_key_init);
	struct rd_vendor v;
	int rc = rd_lead_form_vendor(app, slug, &v);
	if (rc == RD_ENOTFOUND)
		return rd_serr_set(e, RD_ENOTFOUND, "not_found", NULL, "no such form");
	if (rc < 0)
		return finish(rc, e);
	uint32_t per_hour = v.lead_form_per_hour ? v.lead_form_per_hour : DEFAULT_FORM_PER_HOUR;
	if (!flood_allow(v.id, peer ? peer : "", per_hour))
		return rd_serr_set(e, RD_ETOOBIG, "rate_limited", NULL,
				   "too many enquiries from your address: please try again in an hour");
	if (f->website && *f->website)
		return rd_serr_set(e, RD_EINVAL, "spam", "website", "the form was not sent by a person");
	/* The stamp: "ms.mac" under this process's key, for this vendor. */
	const char *dot = f->ts ? strchr(f->ts, '.') : NULL;
	char *end = NULL;
	unsigned long long ms = f->ts ? strtoull(f->ts, &end, 10) : 0;
	char hex[2 * crypto_auth_BYTES + 1];
	if (!dot || end != dot || !ms)
		return rd_serr_set(e, RD_EINVAL, "spam", "ts", "the form's time stamp is missing: load the form again");
	stamp_mac(v.id, ms, hex);
	if (strlen(dot + 1) != strlen(hex) || sodium_memcmp(dot + 1, hex, strlen(hex)) != 0)
		return rd_serr_set(e, RD_EINVAL, "spam", "ts", "the form's time stamp is not valid: load the form again");
	uint64_t now = real_ms();
	uint32_t min_s = v.lead_form_min_seconds ? v.lead_form_min_seconds : DEFAULT_FORM_MIN_SECONDS;
	if (now < ms || now - ms < (uint64_t)min_s * 1000)
		return rd_serr_set(e, RD_EINVAL, "spam", "ts", "the form was sent faster than a person fills it in");
	if (now - ms > (uint64_t)FORM_MAX_AGE_S * 1000)
		return rd_serr_set(e, RD_EINVAL, "spam", "ts", "the form is too old: load it again");
	struct rd_lead *in = rd_calloc(1, sizeof *in);
	struct { const char *v; char *dst; size_t cap; const char *name; } fl[] = {
		{ f->company, in->company, sizeof in->company, "company" },
		{ f->contact_name, in->contact_name, sizeof in->contact_name, "contact_name" },
		{ f->email, in->email, sizeof in->email, "email" },
		{ f->phone, in->phone, sizeof in->phone, "phone" },
		{ f->country, in->country, sizeof in->country, "country" },
		{ f->product, in->product, sizeof in->product, "product" },
		{ f->notes, in->notes, sizeof in->notes, "notes" },
	};
	for (size_t i = 0; i < sizeof fl / sizeof *fl; i++) {
		if (fl[i].v && strlen(fl[i].v) >= fl[i].cap) {
			free(in);
			return rd_serr_set(e, RD_EINVAL, "invalid", fl[i].name, "%s is longer than %zu bytes", fl[i].name,
					   fl[i].cap - 1);
		}
		if (!is_text(fl[i].v)) {
			free(in);
			return rd_serr_set(e, RD_EINVAL, "invalid", fl[i].name, "%s is not text (UTF-8)", fl[i].name);
		}
		copy(fl[i].dst, fl[i].cap, fl[i].v);
	}
	if (!in->email[0]) {
		free(in);
		return rd_serr_set(e, RD_EINVAL, "invalid", "email", "please give your e-mail address");
	}
	struct rd_actor who = { .vendor = v.id };
	rc = rd_lead_create(app, &who, in, "form", out, e);
	free(in);
	return rc;
}
