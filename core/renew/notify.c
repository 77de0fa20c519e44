/*
 * notify.c: the messages of the renewal programme.  Each builds a context
 * (vendor, partner, brand, customer, product, contract, quote, links),
 * renders the branding pack's subject template (Mustache) and queues the
 * message in the outbox, in the caller's transaction, with the parameters its
 * text and HTML templates read: those are rendered when it is sent (below).
 *
 * A context is a typed tree (template/tval.h) in an arena whose first block
 * is on the stack of the function that builds it: no jansson tree, no
 * allocation per value.  mail_json_contexts 1 builds the shared part as the
 * jansson tree it was before and renders and writes the parameters from
 * jansson trees: the same bytes (tests/integration/test_sweep_typed_context.py).
 */
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <sodium.h>

#include "auth/auth.h"
#include "config/config.h"
#include "domain/money.h"
#include "plugin/host.h"
#include "pdf/statement.h"
#include "renew/internal.h"
#include "store/store.h"
#include "template/mustache.h"
#include "template/tval.h"
#include "util/clock.h"
#include "util/err.h"
#include "util/log.h"

#define LINK_DAYS_AFTER_END 60 /* a customer's link stays valid this long past the contract's end */

/* The base of the links in the channel's messages (partners, sales
 * people): renewd's public address (public_url), as for the customers'. */
static const char *link_base(const struct sweep *s)
{
	return s->r->base_url;
}

/* A pack's template, parsed the first time it is used (a sweep renders the
 * same few templates thousands of times).  Called with templates_lock held. */
static int parsed_locked(struct rd_renew *r, const char *tmpl, size_t len, struct rd_mustache **out, char *err,
			 size_t errlen)
{
	for (size_t i = 0; i < r->n_templates; i++)
		if (r->templates[i].src == tmpl && r->templates[i].len == len) {
			*out = r->templates[i].m;
			return 0;
		}
	int rc = rd_mustache_parse(tmpl, len, out, err, errlen);
	if (rc == 0) {
		if (r->n_templates == r->cap_templates)
			r->templates = rd_realloc(r->templates, (r->cap_templates = r->cap_templates ? 2 * r->cap_templates : 16) *
								sizeof *r->templates);
		r->templates[r->n_templates++] = (struct parsed_template){ tmpl, len, *out };
	}
	return rc;
}

/* Renders with ctx (a jansson tree) or, when it is NULL, tv (a typed one). */
static int render_parsed(struct rd_renew *r, const char *tmpl, size_t len, json_t *ctx, const struct rd_tv *tv,
			 char **out, size_t *out_len, char *err, size_t errlen)
{
	uv_mutex_lock(&r->templates_lock);
	struct rd_mustache *m = NULL;
	int rc = parsed_locked(r, tmpl, len, &m, err, errlen);
	if (rc == 0)
		rc = ctx ? rd_mustache_run(m, ctx, NULL, NULL, out, out_len, err, errlen)
			 : rd_mustache_run_tv(m, tv, NULL, NULL, out, out_len, err, errlen);
	uv_mutex_unlock(&r->templates_lock);
	return rc;
}

/* The templates a day's sweep looked up, by partner, kind and extension:
 * each message needs three, and looking one up (the partner's pack, the
 * vendor's, the default) reads the enablements index and scans the pack's
 * assets.  Within one write transaction the packs enabled do not change;
 * the assets of a loaded pack are static. */
struct tmpl_entry {
	uint64_t partner;
	char kind[32], ext[8];  /* kind "" : a free slot */
	const char *tmpl;
	size_t len;
};

struct tmpl_cache {
	struct tmpl_entry *slots;
	size_t n, cap;          /* cap a power of two */
};

static size_t tmpl_hash(uint64_t partner, const char *kind, const char *ext)
{
	uint64_t h = 14695981039346656037u ^ partner;
	for (const char *p = kind; *p; p++)
		h = (h ^ (unsigned char)*p) * 1099511628211u;
	for (const char *p = ext; *p; p++)
		h = (h ^ (unsigned char)*p) * 1099511628211u;
	return (size_t)(h ^ (h >> 29));
}

static struct tmpl_entry *tmpl_slot(struct tmpl_cache *c, uint64_t partner, const char *kind, const char *ext)
{
	for (size_t i = tmpl_hash(partner, kind, ext) & (c->cap - 1);; i = (i + 1) & (c->cap - 1)) {
		struct tmpl_entry *e = &c->slots[i];
		if (!e->kind[0] || (e->partner == partner && !strcmp(e->kind, kind) && !strcmp(e->ext, ext)))
			return e;
	}
}

static void tmpl_remember(struct sweep *s, uint64_t partner, const char *kind, const char *ext, const char *tmpl,
			  size_t len)
{
	if (strlen(kind) >= sizeof s->templates->slots->kind || strlen(ext) >= sizeof s->templates->slots->ext)
		return;
	struct tmpl_cache *c = s->templates;
	if (!c)
		c = s->templates = rd_calloc(1, sizeof *c);
	if (2 * (c->n + 1) > c->cap) {
		struct tmpl_cache old = *c;
		c->cap = old.cap ? 2 * old.cap : 256;
		c->slots = rd_calloc(c->cap, sizeof *c->slots);
		c->n = 0;
		for (size_t i = 0; i < old.cap; i++)
			if (old.slots[i].kind[0]) {
				*tmpl_slot(c, old.slots[i].partner, old.slots[i].kind, old.slots[i].ext) = old.slots[i];
				c->n++;
			}
		free(old.slots);
	}
	struct tmpl_entry *e = tmpl_slot(c, partner, kind, ext);
	if (!e->kind[0])
		c->n++;
	*e = (struct tmpl_entry){ .partner = partner, .tmpl = tmpl, .len = len };
	rd_strcopy(e->kind, sizeof e->kind, kind);
	rd_strcopy(e->ext, sizeof e->ext, ext);
}

void rd_sweep_templates_free(struct sweep *s)
{
	if (s->templates)
		free(s->templates->slots);
	free(s->templates);
	s->templates = NULL;
}

/* The pack's template email/KIND.EXT for the partner (or the vendor's). */
static int pack_template(struct sweep *s, uint64_t partner, const char *kind, const char *ext, const char **tmpl,
			 size_t *len)
{
	if (s->templates) {
		struct tmpl_entry *e = tmpl_slot(s->templates, partner, kind, ext);
		if (e->kind[0]) {
			*tmpl = e->tmpl;
			*len = e->len;
			return 0;
		}
	}
	char name[96];
	snprintf(name, sizeof name, "email/%s.%s", kind, ext);
	int rc = rd_plugins_asset(s->r->app->plugins, s->t, s->d, s->v.id, partner, name, tmpl, len);
	if (rc == 0 && s->cache_templates)
		tmpl_remember(s, partner, kind, ext, *tmpl, *len);
	if (rc < 0) {
		rd_log(RD_LOG_ERROR, "renew", "the branding pack has no template %s", name);
		snprintf(s->why, sizeof s->why, "the branding pack has no template %s", name);
	}
	return rc;
}

static void template_error(struct sweep *s, const char *kind, const char *ext, const char *err)
{
	rd_log(RD_LOG_ERROR, "renew", "template email/%s.%s: %s", kind, ext, err);
	snprintf(s->why, sizeof s->why, "template email/%.24s.%.8s: %.140s", kind, ext, err);
}

/* Renders one template of the pack into *out (malloc'd). */
static int render(struct sweep *s, uint64_t partner, const char *kind, const char *ext, json_t *ctx,
		  const struct rd_tv *tv, char **out)
{
	char err[300];
	const char *tmpl;
	size_t len, out_len;
	int rc = pack_template(s, partner, kind, ext, &tmpl, &len);
	if (rc < 0)
		return rc;
	rc = render_parsed(s->r, tmpl, len, ctx, tv, out, &out_len, err, sizeof err);
	if (rc < 0)
		template_error(s, kind, ext, err);
	return rc;
}

/* ---- messages rendered at send time ------------------------------------------------------
 *
 * A message of the sweep is queued as its rendered subject (the outbox's
 * lists and filters show it), the parameters its text and HTML templates
 * read (the context below as compact JSON, without the subject) and the
 * version of those two templates: a hash of their text.  The templates
 * themselves are kept in the store's meta under tmpl:VERSION, written once
 * per version, so a message is rendered at send time with the templates it
 * was queued with even when the branding pack changed in between (the
 * version is pinned; an old version stays readable as long as the store).
 * Rendering is deterministic in the parameters, so the text is the one
 * rendering at queue time gave.  A message whose parameters do not fit, or
 * whose subject was cut to fit, is stored rendered as before; so is every
 * message with mail_render_at_queue = 1. */

#define TMPL_META "tmpl:"

struct kept_template {
	char version[40];
	char *src; /* text template, then HTML template */
	size_t txt_len, html_len;
};

static void template_version(const char *txt, size_t tl, const char *html, size_t hl, char out[33])
{
	crypto_generichash_state st;
	uint8_t h[16];
	uint8_t n[8];
	rd_key_put_u64(n, tl);
	crypto_generichash_init(&st, NULL, 0, sizeof h);
	crypto_generichash_update(&st, n, sizeof n);
	crypto_generichash_update(&st, (const uint8_t *)txt, tl);
	crypto_generichash_update(&st, (const uint8_t *)html, hl);
	crypto_generichash_final(&st, h, sizeof h);
	sodium_bin2hex(out, 33, h, sizeof h);
}

/* The parameters are written as compact JSON straight into the message
 * (template/tval.c: rd_tv_write_json, rd_json_write_compact for the
 * jansson tree: a third of json_dumps' cost). */

/* Fills m's version and parameters; 1 done, 0 it is to be stored rendered,
 * < 0 an error (s->why says which). */
static int queue_params(struct sweep *s, uint64_t partner, const char *kind, json_t *ctx, struct rd_tv *tv,
			struct rd_message *m)
{
	const char *txt, *html;
	size_t tl, hl;
	char err[300];
	int rc;
	if ((rc = pack_template(s, partner, kind, "txt", &txt, &tl)) < 0 ||
	    (rc = pack_template(s, partner, kind, "html", &html, &hl)) < 0)
		return rc;
	/* A template that does not parse fails the action now, as rendering it
	 * did (the parse is kept for the send). */
	struct rd_mustache *pm;
	const char *exts[] = { "txt", "html" };
	const char *srcs[] = { txt, html };
	size_t lens[] = { tl, hl };
	for (int i = 0; i < 2; i++) {
		uv_mutex_lock(&s->r->templates_lock);
		rc = parsed_locked(s->r, srcs[i], lens[i], &pm, err, sizeof err);
		uv_mutex_unlock(&s->r->templates_lock);
		if (rc < 0) {
			template_error(s, kind, exts[i], err);
			return rc;
		}
	}
	/* a message before on the same context set it */
	if (ctx)
		json_object_del(ctx, "subject");
	rd_tv_del(tv, "subject");
	size_t plen;
	if (!(ctx ? rd_json_write_compact(ctx, m->params, sizeof m->params, &plen)
		  : rd_tv_write_json(tv, m->params, sizeof m->params, &plen))) {
		m->params[0] = 0;
		return 0; /* does not fit: stored rendered */
	}
	char version[33], key[48];
	/* The pack's texts live as long as the process: their version is
	 * hashed once per pair. */
	uv_mutex_lock(&s->r->templates_lock);
	size_t i = 0;
	while (i < s->r->n_versions && (s->r->versions[i].txt != txt || s->r->versions[i].tl != tl ||
					s->r->versions[i].html != html || s->r->versions[i].hl != hl))
		i++;
	if (i == s->r->n_versions) {
		if (s->r->n_versions == s->r->cap_versions)
			s->r->versions = rd_realloc(s->r->versions, (s->r->cap_versions = s->r->cap_versions
										    ? 2 * s->r->cap_versions : 8) *
									     sizeof *s->r->versions);
		struct template_pair *v = &s->r->versions[s->r->n_versions++];
		*v = (struct template_pair){ txt, tl, html, hl, "" };
		template_version(txt, tl, html, hl, v->version);
	}
	memcpy(version, s->r->versions[i].version, sizeof version);
	uv_mutex_unlock(&s->r->templates_lock);
	snprintf(key, sizeof key, TMPL_META "%s", version);
	const void *val;
	size_t vlen;
	rc = rd_txn_meta_get(s->t, key, &val, &vlen);
	if (rc == RD_ENOTFOUND) {
		uint8_t *v = rd_malloc(8 + tl + hl);
		rd_key_put_u64(v, tl);
		memcpy(v + 8, txt, tl);
		memcpy(v + 8 + tl, html, hl);
		rc = rd_txn_meta_put(s->t, key, v, 8 + tl + hl);
		free(v);
	}
	if (rc < 0) {
		m->params[0] = 0;
		snprintf(s->why, sizeof s->why, "keeping the templates of %.24s: %s", kind, rd_strerror(rc));
		return rc;
	}
	rd_strcopy(m->template_version, sizeof m->template_version, version);
	return 1;
}

/* The templates of a version, read from the store the first time. */
static int kept_template(struct rd_renew *r, struct rd_txn *t, const char *version, struct kept_template **out)
{
	uv_mutex_lock(&r->templates_lock);
	for (size_t i = 0; i < r->n_kept; i++)
		if (!strcmp(r->kept[i]->version, version)) {
			*out = r->kept[i];
			uv_mutex_unlock(&r->templates_lock);
			return 0;
		}
	uv_mutex_unlock(&r->templates_lock);
	char key[64];
	snprintf(key, sizeof key, TMPL_META "%s", version);
	const void *val;
	size_t len;
	int rc = rd_txn_meta_get(t, key, &val, &len);
	if (rc < 0)
		return rc;
	uint64_t tl = len >= 8 ? rd_key_get_u64(val) : UINT64_MAX;
	if (tl > len - 8)
		return RD_ECORRUPT;
	struct kept_template *k = rd_calloc(1, sizeof *k);
	rd_strcopy(k->version, sizeof k->version, version);
	k->src = rd_malloc(len - 8 + 1);
	memcpy(k->src, (const uint8_t *)val + 8, len - 8);
	k->src[len - 8] = 0;
	k->txt_len = tl;
	k->html_len = len - 8 - tl;
	uv_mutex_lock(&r->templates_lock);
	if (r->n_kept == r->cap_kept)
		r->kept = rd_realloc(r->kept, (r->cap_kept = r->cap_kept ? 2 * r->cap_kept : 8) * sizeof *r->kept);
	r->kept[r->n_kept++] = k;
	uv_mutex_unlock(&r->templates_lock);
	*out = k;
	return 0;
}

void rd_renew_kept_free(struct rd_renew *r)
{
	for (size_t i = 0; i < r->n_kept; i++) {
		free(r->kept[i]->src);
		free(r->kept[i]);
	}
	free(r->kept);
	r->kept = NULL;
	r->n_kept = r->cap_kept = 0;
	free(r->versions);
	r->versions = NULL;
	r->n_versions = r->cap_versions = 0;
}

/* Text and HTML into m, cut to fit as at queue time. */
static void fill_bodies(struct rd_message *m, const char *text, const char *html)
{
	rd_strcopy(m->text, sizeof m->text, text);
	rd_strcopy(m->html, sizeof m->html, html);
	if (strlen(text) >= sizeof m->text || strlen(html) >= sizeof m->html)
		rd_log(RD_LOG_WARN, "renew", "%s message to %s cut to fit (%zu bytes of text, %zu of HTML): the branding "
		       "pack's template renders more than a message holds", m->kind, m->to, strlen(text), strlen(html));
}

int rd_message_render(struct rd_renew *r, struct rd_txn *t, struct rd_message *m, char *err, size_t errlen)
{
	if (!m->template_version[0])
		return 0; /* stored rendered */
	struct kept_template *k;
	int rc = kept_template(r, t, m->template_version, &k);
	if (rc < 0) {
		snprintf(err, errlen, "message %llu: its templates (version %s) are not in the store: %s",
			 (unsigned long long)m->id, m->template_version, rd_strerror(rc));
		return rc;
	}
	json_error_t je;
	json_t *ctx = json_loads(m->params, 0, &je);
	if (!json_is_object(ctx)) {
		json_decref(ctx);
		snprintf(err, errlen, "message %llu: its parameters do not read as a JSON object", (unsigned long long)m->id);
		return RD_ECORRUPT;
	}
	json_object_set_new(ctx, "subject", json_string(m->subject));
	char *text = NULL, *html = NULL, e[300] = "";
	size_t n;
	if ((rc = render_parsed(r, k->src, k->txt_len, ctx, NULL, &text, &n, e, sizeof e)) == 0)
		rc = render_parsed(r, k->src + k->txt_len, k->html_len, ctx, NULL, &html, &n, e, sizeof e);
	json_decref(ctx);
	if (rc == 0)
		fill_bodies(m, text, html);
	else
		snprintf(err, errlen, "message %llu: rendering its templates: %s", (unsigned long long)m->id, e);
	free(text);
	free(html);
	return rc;
}

int rd_queue_message(struct sweep *s, const char *kind, const char *to, struct rd_tv_arena *a, struct rd_tv *tv,
		     uint64_t opportunity, uint64_t partner, uint64_t customer)
{
	if (!to || !*to)
		return 0; /* nobody to tell: nothing queued (the action still counts) */
	/* mail_json_contexts 1: rendered and written from a jansson tree, as before */
	json_t *ctx = s->r->app->config->mail_json_contexts ? rd_tv_to_json(tv) : NULL;
	/* 33 KB, most of it text, html and params, which are written below:
	 * zeroing them for every message was a sixth of a sweep's time. */
	struct rd_message *m = rd_malloc(sizeof *m);
	memset(m, 0, offsetof(struct rd_message, text));
	memset(&m->state, 0, offsetof(struct rd_message, params) - offsetof(struct rd_message, state));
	m->text[0] = m->html[0] = m->params[0] = 0;
	char *subject = NULL, *text = NULL, *html = NULL;
	int rc;
	if ((rc = render(s, partner, kind, "subject", ctx, tv, &subject)) < 0)
		goto out;
	if (!s->r->app->config->mail_render_at_queue && strlen(subject) < sizeof m->subject &&
	    (rc = queue_params(s, partner, kind, ctx, tv, m)) < 0)
		goto out;
	if (ctx)
		json_object_set_new(ctx, "subject", json_string(subject));
	rd_tv_set_str(a, tv, "subject", subject);
	if (!m->template_version[0] &&
	    ((rc = render(s, partner, kind, "txt", ctx, tv, &text)) < 0 ||
	     (rc = render(s, partner, kind, "html", ctx, tv, &html)) < 0))
		goto out;
	rd_strcopy(m->kind, sizeof m->kind, kind);
	rd_strcopy(m->to, sizeof m->to, to);
	rd_strcopy(m->subject, sizeof m->subject, subject);
	if (!m->template_version[0])
		fill_bodies(m, text, html);
	m->state = RD_MSG_QUEUED;
	m->created_at = s->now;
	m->next_at = 0; /* due at once */
	m->opportunity_id = opportunity;
	m->partner_id = partner;
	m->customer_id = customer;
	rd_strcopy(m->ref, sizeof m->ref, s->ref);
	if (s->preview && json_array_size(s->preview)) {
		json_t *last = json_array_get(s->preview, json_array_size(s->preview) - 1);
		json_t *msgs = json_object_get(last, "messages");
		if (!msgs)
			json_object_set_new(last, "messages", msgs = json_array());
		json_array_append_new(msgs, json_pack("{s:s, s:s, s:s}", "kind", kind, "to", to, "subject", subject));
	}
	rc = rd_entity_put(s->t, s->d->outbox, &rd_entity_message, s->v.id, m, 0);
out:
	json_decref(ctx);
	free(subject);
	free(text);
	free(html);
	free(m);
	return rc;
}

/* A context's arena: its first block on the builder's stack. */
#define CTX_STACK 8192
#define CTX_ARENA(a)                                                                                               \
	_Alignas(16) char a##_buf[CTX_STACK];                                                                      \
	struct rd_tv_arena a;                                                                                      \
	rd_tv_arena_init(&a, a##_buf, sizeof a##_buf)

/* rd_brand_json (domain/model.c) as a typed value: the same names and values. */
static struct rd_tv *brand_tv(struct rd_tv_arena *a, const struct rd_partner *p, const struct rd_vendor *v)
{
	char block[600];
	rd_brand_contact_block(p, v, block, sizeof block);
	struct rd_tv *b = rd_tv_obj(a);
	rd_tv_set_str(a, b, "name", p ? p->name : v->name);
	rd_tv_set_str(a, b, "logo_url", p ? p->logo_url : "");
	rd_tv_set_str(a, b, "colour_primary", p && p->colour_primary[0] ? p->colour_primary : "#1f3a5f");
	rd_tv_set_str(a, b, "colour_accent", p && p->colour_accent[0] ? p->colour_accent : "#f2a900");
	rd_tv_set_str(a, b, "contact_block", block);
	rd_tv_set_str(a, b, "email", p ? p->email : v->notify_email);
	rd_tv_set_str(a, b, "phone", p ? p->phone : "");
	return b;
}

/* rd_date_json as a typed value: "" for no date. */
static struct rd_tv *date_tv(struct rd_tv_arena *a, rd_date d)
{
	char s[11];
	if (!d)
		return rd_tv_strn(a, "", 0);
	rd_date_format(d, s);
	return rd_tv_str(a, s);
}

/* An object of one member, obj[key] = {name: s} style helpers. */
static struct rd_tv *member_obj(struct rd_tv_arena *a, struct rd_tv *parent, const char *key)
{
	struct rd_tv *o = rd_tv_obj(a);
	rd_tv_set(a, parent, key, o);
	return o;
}

/* The context shared by the messages about one opportunity.  The channel's
 * margins (quote.partner_margin, quote.vendor_margin) are there only for
 * messages to the channel: a customer's message never carries them, whatever
 * the branding pack's templates ask for (and reading them means parsing the
 * quote's lines, the costliest step of a reminder). */
struct opp_recs {
	struct rd_partner res;
	struct rd_customer c;
	struct rd_product p;
	struct rd_contract k;
	bool have_res, have_c, have_p, have_k; /* read already (by the caller, or a context before) */
};

static int opp_context(struct sweep *s, const struct rd_opportunity *o, bool channel, struct rd_tv_arena *a,
		       struct rd_tv **out, struct opp_recs *r)
{
	struct rd_partner *res = &r->res;
	struct rd_customer *c = &r->c;
	int rc = 0;
	const char *what = "partner";
	uint64_t id = o->reseller_id;
	/* what the caller has (the quote's records, the reminder's contract) is not read again */
	r->have_res = r->have_res && res->id == o->reseller_id;
	r->have_c = r->have_c && c->id == o->customer_id;
	r->have_p = r->have_p && r->p.id == o->product_id;
	r->have_k = r->have_k && r->k.id == o->contract_id;
	if (!r->have_res && (rc = rd_entity_get(s->t, s->d->partners, &rd_entity_partner, s->v.id, id, res)) < 0)
		what = "partner";
	else if (!r->have_c &&
		 (rc = rd_entity_get(s->t, s->d->customers, &rd_entity_customer, s->v.id, id = o->customer_id, c)) < 0)
		what = "customer";
	else if (!r->have_p &&
		 (rc = rd_entity_get(s->t, s->d->products, &rd_entity_product, s->v.id, id = o->product_id, &r->p)) < 0)
		what = "product";
	else if (!r->have_k &&
		 (rc = rd_entity_get(s->t, s->d->contracts, &rd_entity_contract, s->v.id, id = o->contract_id, &r->k)) < 0)
		what = "contract";
	if (rc < 0) { /* the reason a failed action is shown with (sched.c) */
		snprintf(s->why, sizeof s->why, "opportunity %llu: its %s %llu: %s", (unsigned long long)o->id, what,
			 (unsigned long long)id, rd_strerror(rc));
		return rc;
	}
	r->have_res = r->have_c = r->have_p = r->have_k = true;
	const struct rd_product p = r->p;
	const struct rd_contract k = r->k;
	char list[48], price[48], pm[80] = "", vm[80] = "";
	rd_money_format(o->list_total, o->currency, list, sizeof list);
	/* The customer's price: list when the vendor sells; in partner mode the
	 * reseller sets it, and the quote shows list. */
	memcpy(price, list, sizeof price);
	const uint8_t modes[] = { RD_PUBLISH_PARTNER, RD_PUBLISH_VENDOR };
	char *outs[] = { pm, vm };
	for (int i = 0; channel && i < 2; i++)
		if (!rd_quote_share_text(o->lines, o->n_lines, modes[i], o->currency, outs[i], 80))
			snprintf(outs[i], 80, "to be confirmed");
	/* The partner portal's page of the opportunity (the decision, the
	 * quote): what every partner message about it links to. */
	char decision_url[700];
	snprintf(decision_url, sizeof decision_url, "%s/partner/opportunities/%llu", link_base(s),
		 (unsigned long long)o->id);
	if (s->r->app->config->mail_json_contexts) { /* the jansson tree, as before */
		json_t *j = json_pack("{s:{s:s}, s:{s:s, s:s, s:s}, s:o, s:{s:s}, s:{s:s, s:s}, s:{s:o, s:I}, "
				      "s:{s:s, s:s, s:s, s:s, s:s, s:o, s:o}, s:s, s:b, s:b}",
				      "vendor", "name", s->v.name, "partner", "name", res->name, "email", res->email, "phone",
				      res->phone, "brand", rd_brand_json(res, &s->v), "customer", "name", c->name, "product",
				      "name", p.name, "sku", p.external_id, "contract", "end", rd_date_json(k.end), "quantity",
				      (json_int_t)k.quantity, "quote", "number", o->number, "list", list, "price", price,
				      "partner_margin", pm, "vendor_margin", vm, "decision_by", rd_date_json(o->decision_by),
				      "valid_until", rd_date_json(o->valid_until), "decision_url", decision_url,
				      "publish_vendor", o->publish == RD_PUBLISH_VENDOR, "publish_partner",
				      o->publish == RD_PUBLISH_PARTNER);
		*out = j ? rd_tv_from_json(a, j) : NULL;
		json_decref(j);
		return *out ? 0 : RD_EINTERNAL;
	}
	struct rd_tv *ctx = rd_tv_obj(a), *x;
	rd_tv_set_str(a, member_obj(a, ctx, "vendor"), "name", s->v.name);
	x = member_obj(a, ctx, "partner");
	rd_tv_set_str(a, x, "name", res->name);
	rd_tv_set_str(a, x, "email", res->email);
	rd_tv_set_str(a, x, "phone", res->phone);
	rd_tv_set(a, ctx, "brand", brand_tv(a, res, &s->v));
	rd_tv_set_str(a, member_obj(a, ctx, "customer"), "name", c->name);
	x = member_obj(a, ctx, "product");
	rd_tv_set_str(a, x, "name", p.name);
	rd_tv_set_str(a, x, "sku", p.external_id);
	x = member_obj(a, ctx, "contract");
	rd_tv_set(a, x, "end", date_tv(a, k.end));
	rd_tv_set(a, x, "quantity", rd_tv_int(a, (int64_t)k.quantity));
	x = member_obj(a, ctx, "quote");
	rd_tv_set_str(a, x, "number", o->number);
	rd_tv_set_str(a, x, "list", list);
	rd_tv_set_str(a, x, "price", price);
	rd_tv_set_str(a, x, "partner_margin", pm);
	rd_tv_set_str(a, x, "vendor_margin", vm);
	rd_tv_set(a, x, "decision_by", date_tv(a, o->decision_by));
	rd_tv_set(a, x, "valid_until", date_tv(a, o->valid_until));
	rd_tv_set_str(a, ctx, "decision_url", decision_url);
	rd_tv_set(a, ctx, "publish_vendor", rd_tv_bool(a, o->publish == RD_PUBLISH_VENDOR));
	rd_tv_set(a, ctx, "publish_partner", rd_tv_bool(a, o->publish == RD_PUBLISH_PARTNER));
	*out = ctx;
	return 0;
}

/* A context built as a jansson tree (the rarer messages: payment
 * reminders, digests, statements), as a typed one; j is consumed. */
static struct rd_tv *from_json(struct rd_tv_arena *a, json_t *j)
{
	struct rd_tv *v = j ? rd_tv_from_json(a, j) : NULL;
	json_decref(j);
	return v;
}

int rd_notify_quote(struct sweep *s, const struct rd_opportunity *o, const struct rd_partner *res,
		    const struct rd_customer *c, const struct rd_product *p, const struct rd_contract *k)
{
	struct rd_tv *ctx;
	struct opp_recs *r = rd_malloc(sizeof *r);
	r->res = *res;
	r->c = *c;
	r->p = *p;
	r->k = *k;
	r->have_res = r->have_c = r->have_p = r->have_k = true;
	CTX_ARENA(a);
	int rc = opp_context(s, o, true, &a, &ctx, r);
	free(r);
	if (rc == 0) {
		rd_tv_set_str(&a, ctx, "default_action",
			      s->v.publish_default == RD_PUBLISH_PARTNER
				      ? "leaves the sale to you"
				      : "sells it through its renewals team (you are paid commission)");
		rc = rd_queue_message(s, "quote_notice", res->email, &a, ctx, o->id, res->id, c->id);
	}
	rd_tv_arena_free(&a);
	return rc;
}

int rd_notify_pullback(struct sweep *s, const struct rd_opportunity *o, uint8_t mode)
{
	struct rd_tv *ctx;
	struct opp_recs *r = rd_malloc(sizeof *r);
	r->have_res = r->have_c = r->have_p = r->have_k = false;
	CTX_ARENA(a);
	int rc = opp_context(s, o, true, &a, &ctx, r);
	if (rc < 0)
		goto out;
	rd_tv_set_str(&a, ctx, "mode_text", mode == RD_PUBLISH_PARTNER ? "the partner sells (publish-partner)"
								 : "the vendor's renewals team sells (publish-vendor)");
	/* The vendor's team opens it in the sales view (the partner portal's
	 * page sends the vendor's people there too). */
	char sales_url[700];
	snprintf(sales_url, sizeof sales_url, "%s/sales/opportunities/%llu", link_base(s), (unsigned long long)o->id);
	rd_tv_set_str(&a, ctx, "sales_url", sales_url);
	/* Everyone concerned: the reseller, the distributor (each with the
	 * partner portal's page of it), the vendor's team (the sales view). */
	rd_tv_set(&a, ctx, "partner_copy", rd_tv_bool(&a, true));
	rc = rd_queue_message(s, "pullback", r->res.email, &a, ctx, o->id, r->res.id, r->c.id);
	if (rc == 0 && o->distributor_id &&
	    rd_entity_get(s->t, s->d->partners, &rd_entity_partner, s->v.id, o->distributor_id, &r->res) == 0)
		rc = rd_queue_message(s, "pullback", r->res.email, &a, ctx, o->id, r->res.id, r->c.id);
	rd_tv_set(&a, ctx, "partner_copy", rd_tv_bool(&a, false));
	if (rc == 0)
		rc = rd_queue_message(s, "pullback", s->v.notify_email, &a, ctx, o->id, 0, r->c.id);
out:
	free(r);
	rd_tv_arena_free(&a);
	return rc;
}

/* A secure link for the customer: random, stored hashed, expiring. */
static int make_link(struct sweep *s, const struct rd_opportunity *o, char *url, size_t cap)
{
	char token[RD_TOKEN_LEN + 1];
	struct rd_link l = { 0 };
	rd_token_new(token, l.hash); /* kept in the links table: never an API token */
	l.vendor_id = s->v.id;
	l.customer_id = o->customer_id;
	l.opportunity_id = o->id;
	l.expires_at = (uint64_t)(o->contract_end + LINK_DAYS_AFTER_END) * 86400;
	int rc = rd_entity_put(s->t, s->d->links, &rd_entity_link, 0, &l, 0);
	snprintf(url, cap, "%s/c/%s", s->r->base_url, token);
	return rc;
}

/* The sales notice: when the customer notice goes out, the sales person
 * in whose name the quote is published hears of it, with a link to the
 * opportunity's sales view (the customer's contracts and quote, and the
 * status and pricing to amend).  Publish-partner: the reseller's sales
 * contact (its sales_user_id), else the reseller's address; publish-vendor:
 * the vendor's sales person (its sales_user_id), else its renewals
 * address. */
static int notify_sales(struct sweep *s, const struct rd_opportunity *o, struct opp_recs *r)
{
	struct rd_tv *ctx;
	const struct rd_partner *res = &r->res;
	const struct rd_customer *c = &r->c;
	CTX_ARENA(a);
	int rc = opp_context(s, o, true, &a, &ctx, r);
	if (rc < 0)
		goto out;
	bool partner = o->publish == RD_PUBLISH_PARTNER;
	uint64_t uid = partner ? res->sales_user_id : s->v.sales_user_id;
	const char *to = partner ? res->email : s->v.notify_email;
	struct rd_user u;
	if (uid && rd_entity_get(s->t, s->d->users, &rd_entity_user, s->v.id, uid, &u) == 0 && !u.disabled &&
	    u.partner_id == (partner ? res->id : 0))
		to = u.email;
	char url[700];
	snprintf(url, sizeof url, "%s/sales/opportunities/%llu", link_base(s), (unsigned long long)o->id);
	rd_tv_set_str(&a, ctx, "sales_url", url);
	rd_tv_set_str(&a, ctx, "seller", partner ? res->name : s->v.name);
	struct rd_tv *cust = rd_tv_get(ctx, "customer");
	rd_tv_set_str(&a, cust, "email", c->email);
	rd_tv_set_str(&a, cust, "phone", c->phone);
	rc = rd_queue_message(s, "sales_notice", to, &a, ctx, o->id, partner ? res->id : 0, c->id);
out:
	rd_tv_arena_free(&a);
	return rc;
}

int rd_notify_customer(struct sweep *s, const struct rd_opportunity *o, const char *kind, int days_left,
		       const struct rd_contract *k)
{
	struct rd_tv *ctx;
	struct opp_recs *r = rd_malloc(sizeof *r);
	r->have_res = r->have_c = r->have_p = false;
	if ((r->have_k = k != NULL))
		r->k = *k;
	CTX_ARENA(a);
	int rc = opp_context(s, o, false, &a, &ctx, r);
	if (rc < 0 || r->res.opt_out_notices || !r->c.email[0]) /* the partner tells its customers itself */
		goto out;
	char url[700];
	if ((rc = make_link(s, o, url, sizeof url)) < 0)
		goto out;
	rd_tv_set_str(&a, ctx, "link", url);
	rd_tv_set(&a, ctx, "days_left", rd_tv_int(&a, days_left));
	rd_tv_set(&a, ctx, "overdue", rd_tv_bool(&a, days_left < 0));
	rd_tv_set(&a, ctx, "days_overdue", rd_tv_int(&a, -days_left));
	rc = rd_queue_message(s, kind, r->c.email, &a, ctx, o->id, r->res.id, r->c.id);
	rd_tv_arena_free(&a);
	if (rc == 0 && !strcmp(kind, "customer_notice"))
		rc = notify_sales(s, o, r); /* the same records */
	free(r);
	return rc;
out:
	free(r);
	rd_tv_arena_free(&a);
	return rc;
}

int rd_notify_payment(struct sweep *s, const struct rd_order *o, int days_left)
{
	struct rd_customer c;
	struct rd_partner res;
	int rc = rd_entity_get(s->t, s->d->customers, &rd_entity_customer, s->v.id, o->customer_id, &c);
	if (rc < 0 || !c.email[0])
		return rc == RD_ENOTFOUND ? 0 : rc < 0 ? rc : 0;
	bool have_res = o->reseller_id &&
			rd_entity_get(s->t, s->d->partners, &rd_entity_partner, s->v.id, o->reseller_id, &res) == 0;
	char total[48];
	rd_money_format(o->total, o->currency, total, sizeof total);
	CTX_ARENA(a);
	struct rd_tv *ctx = from_json(&a, json_pack("{s:{s:s}, s:o, s:{s:s}, s:{s:s, s:s, s:o, s:s}, s:i, s:b, s:i}",
						    "vendor", "name", s->v.name, "brand",
						    rd_brand_json(have_res ? &res : NULL, &s->v), "customer", "name",
						    c.name, "order", "number", o->number, "total", total, "due_date",
						    rd_date_json(o->due_date), "po_number", o->po_number, "days_left",
						    days_left, "overdue", days_left < 0, "days_overdue", -days_left));
	rc = ctx ? rd_queue_message(s, "payment_reminder", c.email, &a, ctx, o->opportunity_id, have_res ? res.id : 0,
				    c.id)
		 : RD_EINTERNAL;
	rd_tv_arena_free(&a);
	return rc;
}

int rd_notify_task(struct sweep *s, const struct rd_task *task, const char *to)
{
	struct rd_opportunity o;
	int rc = rd_entity_get(s->t, s->d->opportunities, &rd_entity_opportunity, s->v.id, task->opportunity_id, &o);
	if (rc < 0)
		return rc;
	struct rd_tv *ctx;
	struct opp_recs *r = rd_malloc(sizeof *r);
	r->have_res = r->have_c = r->have_p = r->have_k = false;
	CTX_ARENA(a);
	if ((rc = opp_context(s, &o, true, &a, &ctx, r)) < 0)
		goto out;
	static const char *const texts[] = { "", "asks to be called back", "asks to be contacted by the reseller",
					     "replied to the sales centre" };
	rd_tv_set_str(&a, ctx, "task_text", task->kind <= 3 ? texts[task->kind] : "asks for help");
	rd_tv_set_str(&a, ctx, "message", task->message);
	/* Where the task is: the partner's tasks inbox, or the console's. */
	char url[700];
	snprintf(url, sizeof url, "%s%s", link_base(s), task->partner_id ? "/partner/tasks" : "/vendor/tasks");
	rd_tv_set_str(&a, ctx, "tasks_url", url);
	rc = rd_queue_message(s, "task", to, &a, ctx, o.id, task->partner_id, r->c.id);
out:
	free(r);
	rd_tv_arena_free(&a);
	return rc;
}

/* ---- weekly digests -------------------------------------------------------------------- */

/* A digest lists a partner's most urgent DIGEST_MAX entries of each kind,
 * soonest first, and counts the rest ("and 212 more: see the partner
 * portal"): a partner with a thousand open quotes still gets a message
 * that fits and ends where it should. */
enum { DIGEST_MAX = 25 };

static int by_field(const void *a, const void *b, const char *field)
{
	const char *x = json_string_value(json_object_get(*(json_t *const *)a, field));
	const char *y = json_string_value(json_object_get(*(json_t *const *)b, field));
	return strcmp(x ? x : "", y ? y : ""); /* ISO dates: text order is date order */
}

static int by_decide_by(const void *a, const void *b) { return by_field(a, b, "decide_by"); }
static int by_end(const void *a, const void *b) { return by_field(a, b, "end"); }

static void digest_trim(json_t *g, const char *list, int (*order)(const void *, const void *), const char *more_key)
{
	json_t *a = json_object_get(g, list);
	size_t n = json_array_size(a);
	if (n < 2)
		return;
	json_t **v = rd_malloc(n * sizeof *v);
	for (size_t i = 0; i < n; i++)
		v[i] = json_incref(json_array_get(a, i));
	qsort(v, n, sizeof *v, order);
	json_array_clear(a);
	for (size_t i = 0; i < n; i++) {
		if (i < DIGEST_MAX)
			json_array_append(a, v[i]);
		json_decref(v[i]);
	}
	free(v);
	if (n > DIGEST_MAX)
		json_object_set_new(g, more_key, json_integer((json_int_t)(n - DIGEST_MAX)));
}

/* Files one opportunity under each of its partners of record (the
 * reseller, and its distributor). */
static void digest_add(struct sweep *s, json_t *by_partner, const struct rd_opportunity *o, bool pending)
{
	static const char *const states[] = { "", "awaiting decision", "partner sells", "vendor sells", "accepted", "won",
					       "lost", "expired" };
	struct rd_customer c;
	struct rd_product p;
	if (rd_entity_get(s->t, s->d->customers, &rd_entity_customer, s->v.id, o->customer_id, &c) < 0 ||
	    rd_entity_get(s->t, s->d->products, &rd_entity_product, s->v.id, o->product_id, &p) < 0)
		return;
	char url[700];
	snprintf(url, sizeof url, "%s/partner/opportunities/%llu", link_base(s), (unsigned long long)o->id);
	json_t *entry = json_pack("{s:s, s:s, s:s, s:o, s:o, s:s, s:s}", "number", o->number, "customer", c.name, "product",
				  p.name, "end", rd_date_json(o->contract_end), "decide_by", rd_date_json(o->decision_by), "state",
				  states[o->state < 8 ? o->state : 0], "url", url);
	uint64_t who[2] = { o->reseller_id, o->distributor_id };
	for (int k = 0; k < 2; k++) {
		if (!who[k])
			continue;
		char pid[24];
		snprintf(pid, sizeof pid, "%llu", (unsigned long long)who[k]);
		json_t *g = json_object_get(by_partner, pid);
		if (!g)
			json_object_set_new(by_partner, pid, g = json_pack("{s:[], s:[]}", "pending", "ending"));
		json_array_append(json_object_get(g, pending ? "pending" : "ending"), entry);
	}
	json_decref(entry);
}

/* The ids an index range holds (collected before anything is read). */
static int index_ids(struct sweep *s, struct rd_table *tb, const char *idx, const uint8_t *lo, size_t lo_len,
		     const uint8_t *hi, size_t hi_len, uint64_t **ids, size_t *n)
{
	size_t cap = 256;
	*n = 0;
	*ids = rd_malloc(cap * sizeof **ids);
	struct rd_iter it;
	struct rd_item item;
	int rc = rd_iter_index(&it, s->t, tb, idx, s->v.id, lo, lo_len, hi, hi_len);
	while (rc >= 0 && (rc = rd_iter_next(&it, &item)) > 0) {
		if (*n == cap)
			*ids = rd_realloc(*ids, (cap *= 2) * sizeof **ids);
		(*ids)[(*n)++] = item.id;
	}
	rd_iter_close(&it);
	return rc < 0 ? rc : 0;
}

/* One partner's digest (its entries in g), queued. */
static int send_digest(struct sweep *s, const char *pid, json_t *g)
{
	struct rd_partner res;
	if (rd_entity_get(s->t, s->d->partners, &rd_entity_partner, s->v.id, strtoull(pid, NULL, 10), &res) < 0)
		return 0;
	json_int_t more_pending = json_integer_value(json_object_get(g, "more_pending"));
	json_int_t more_ending = json_integer_value(json_object_get(g, "more_ending"));
	json_t *ctx = json_pack("{s:{s:s}, s:{s:s}, s:o, s:O, s:O, s:I}", "vendor", "name", s->v.name, "partner", "name",
				res.name, "brand", rd_brand_json(&res, &s->v), "pending", json_object_get(g, "pending"),
				"ending", json_object_get(g, "ending"), "count",
				(json_int_t)(json_array_size(json_object_get(g, "pending")) +
					     json_array_size(json_object_get(g, "ending"))) +
					more_pending + more_ending);
	char portal[700];
	snprintf(portal, sizeof portal, "%s/partner", link_base(s));
	json_object_set_new(ctx, "portal_url", json_string(portal));
	if (more_pending) /* only when there are more: 0 would still open a Mustache section */
		json_object_set_new(ctx, "more_pending", json_integer(more_pending));
	if (more_ending)
		json_object_set_new(ctx, "more_ending", json_integer(more_ending));
	CTX_ARENA(a);
	struct rd_tv *tv = from_json(&a, ctx);
	int rc = tv ? rd_queue_message(s, "digest", res.email, &a, tv, 0, res.id, 0) : RD_EINTERNAL;
	rd_tv_arena_free(&a);
	return rc;
}

int rd_digests(struct sweep *s)
{
	/* What a partner hears of: the opportunities awaiting its decision (the
	 * deadline index holds exactly those) and the published ones whose
	 * contract ends within 30 days (the contracts' end index): both read
	 * through indexes, so a Monday costs what the window holds, not the
	 * vendor's whole history. */
	json_t *by_partner = json_object();
	struct rd_opportunity *o = rd_malloc(sizeof *o);
	uint64_t *ids;
	size_t n;
	int rc = index_ids(s, s->d->opportunities, "deadline", NULL, 0, NULL, 0, &ids, &n);
	for (size_t i = 0; rc >= 0 && i < n; i++)
		if (rd_entity_get(s->t, s->d->opportunities, &rd_entity_opportunity, s->v.id, ids[i], o) == 0 &&
		    o->state == RD_OPP_PENDING_DECISION)
			digest_add(s, by_partner, o, true);
	free(ids);
	uint8_t lo[4], hi[4];
	rd_date_key(s->day, lo);
	rd_date_key(s->day + 31, hi);
	if (rc >= 0)
		rc = index_ids(s, s->d->contracts, RD_IDX_CONTRACT_END, lo, 4, hi, 4, &ids, &n);
	else
		ids = NULL, n = 0;
	for (size_t i = 0; rc >= 0 && i < n; i++)
		if (rd_opportunity_of(s, ids[i], o) == 0 &&
		    (o->state == RD_OPP_PUBLISHED_PARTNER || o->state == RD_OPP_PUBLISHED_VENDOR) &&
		    o->contract_end >= s->day && o->contract_end <= s->day + 30)
			digest_add(s, by_partner, o, false);
	free(ids);
	free(o);
	const char *pid;
	json_t *g;
	char week[11];
	rd_date_format(s->day, week);
	json_object_foreach(by_partner, pid, g) {
		if (rc < 0)
			break;
		digest_trim(g, "pending", by_decide_by, "more_pending");
		digest_trim(g, "ending", by_end, "more_ending");
		char key[96];
		snprintf(key, sizeof key, "digest:%s:%s", pid, week);
		/* each partner's digest is an action of its own */
		if ((rc = rd_action_once(s, key)) > 0)
			rc = send_digest(s, pid, g);
		rc = rd_action_end(s, rc);
	}
	json_decref(by_partner);
	return rc < 0 ? rc : 0;
}

/* A partner's monthly commission statement (statements.c): from the vendor,
 * in the vendor's brand; the PDF is attached at delivery (mail.c). */
int rd_notify_statement(struct sweep *s, const struct rd_partner *p, const struct rd_statement *st,
			const struct rd_statement_total *totals, size_t n_totals)
{
	json_t *list = json_array();
	for (size_t i = 0; i < n_totals; i++) {
		char money[64];
		rd_money_format(totals[i].amount, totals[i].currency, money, sizeof money);
		json_array_append_new(list, json_pack("{s:s, s:s, s:i}", "currency", totals[i].currency, "amount", money,
						      "lines", (int)totals[i].lines));
	}
	char link[700];
	snprintf(link, sizeof link, "%s/partner/statements", link_base(s));
	json_t *ctx = json_pack("{s:{s:s}, s:{s:s}, s:{s:s, s:s, s:i}, s:o, s:s, s:o}", "vendor", "name", s->v.name,
				"partner", "name", p->name, "statement", "number", st->number, "month", st->month, "lines",
				(int)st->lines, "totals", list, "link", link, "brand", rd_brand_json(NULL, &s->v));
	CTX_ARENA(a);
	struct rd_tv *tv = from_json(&a, ctx);
	int rc = tv ? rd_queue_message(s, "statement", p->email, &a, tv, 0, p->id, 0) : RD_EINTERNAL;
	rd_tv_arena_free(&a);
	return rc;
}
