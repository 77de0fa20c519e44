/*
 * edi.c: orders to distributors and their answers through the EDI
 * connector plugins (edi.h; docs/connectors.md): any loaded connector whose
 * ops (V2) name an order_format.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <stdbool.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "domain/audit.h"
#include "domain/money.h"
#include "plugin/host.h"
#include "services/edi.h"
#include "services/enablements.h"
#include "services/imports.h"
#include "services/orders.h"
#include "store/store.h"
#include "util/clock.h"
#include "util/err.h"
#include "util/file.h"
#include "util/log.h"

#define EDI_TIMEOUT_MS 15000
#define EDI_MAX_FILE (1024 * 1024)

static int in_flight;
static int queued_dirty = 1; /* orders may be queued: scan them (at start, and after rd_edi_queue) */
static struct rd_plugins *edi_plugins;
static rd_edi_kick_fn kick_fn;
static rd_edi_watch_fn watch_fn;
static void *watch_arg;

/* Orders whose write failed: when each is tried again (monotonic ms; the
 * business clock may stand still under --test-clock).  An order "retrying"
 * that is not here (after a restart) is due at once. */
struct retry {
	uint64_t vendor, order, due;
	struct retry *next;
};
static struct retry *retries;

/* Acknowledgements whose write failed, each tried again after its backoff
 * (kept in memory: a restart drops them, and the log said so). */
struct ack_retry {
	uint64_t vendor, partner, due;
	uint32_t attempts;
	char *json;
	struct ack_retry *next;
};
static struct ack_retry *ack_retries;

static uint64_t mono_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}

static struct retry **retry_find(uint64_t vendor, uint64_t order)
{
	struct retry **r = &retries;
	while (*r && ((*r)->vendor != vendor || (*r)->order != order))
		r = &(*r)->next;
	return r;
}

static void retry_forget(uint64_t vendor, uint64_t order)
{
	struct retry **r = retry_find(vendor, order);
	if (*r) {
		struct retry *x = *r;
		*r = x->next;
		free(x);
	}
}

/* 1 s, 2 s, 4 s, ... after the attempt-th failure, at most RD_EDI_RETRY_MAX_MS. */
static uint64_t backoff_ms(uint32_t attempts)
{
	uint64_t ms = 1000;
	for (uint32_t i = 1; i < attempts && ms < RD_EDI_RETRY_MAX_MS; i++)
		ms *= 2;
	return ms < RD_EDI_RETRY_MAX_MS ? ms : RD_EDI_RETRY_MAX_MS;
}

static void kick(uint64_t delay_ms)
{
	if (kick_fn)
		kick_fn(watch_arg, delay_ms);
}

void rd_edi_start(struct rd_app *app, rd_edi_kick_fn k, rd_edi_watch_fn w, void *arg)
{
	edi_plugins = app->plugins;
	kick_fn = k;
	watch_fn = w;
	watch_arg = arg;
}

void rd_edi_stop(void)
{
	kick_fn = NULL;
	watch_fn = NULL;
	while (retries)
		retry_forget(retries->vendor, retries->order);
	while (ack_retries) {
		struct ack_retry *r = ack_retries;
		ack_retries = r->next;
		free(r->json);
		free(r);
	}
}

int rd_edi_busy(void)
{
	return in_flight;
}

/* The loaded connector named plugin when it exchanges orders (connector
 * ops V2 with order_format), else NULL. */
static struct rd_loaded *order_connector(const char *plugin)
{
	struct rd_loaded *l = edi_plugins ? rd_plugins_find(edi_plugins, plugin) : NULL;
	const struct rd_plugin *desc = l ? rd_loaded_desc(l) : NULL;
	if (!desc || desc->kind != RD_PLUGIN_CONNECTOR || !desc->ops)
		return NULL;
	const struct rd_connector_ops *ops = desc->ops;
	return ops->version >= RD_CONNECTOR_OPS_V2 && ops->order_format && ops->send ? l : NULL;
}

/* The partner's own enablement of an order-exchanging connector (the
 * first one, by id). */
static int partner_enablement(struct rd_txn *t, struct rd_domain *d, uint64_t vendor, uint64_t partner,
			      struct rd_enablement *e)
{
	if (!partner)
		return RD_ENOTFOUND;
	struct rd_iter it;
	struct rd_item item;
	int rc = rd_iter_records(&it, t, d->enablements, vendor, 0), found = 0;
	while (rc >= 0 && (rc = rd_iter_next(&it, &item)) > 0) {
		if (rd_entity_decode(&rd_entity_enablement, item.val, item.len, e) == 0 && e->partner_id == partner &&
		    order_connector(e->plugin)) {
			found = 1;
			break;
		}
	}
	rd_iter_close(&it);
	return rc < 0 ? rc : found ? 0 : RD_ENOTFOUND;
}

int rd_edi_queue(struct rd_txn *t, struct rd_domain *d, uint64_t vendor, struct rd_order *n)
{
	if (!n->distributor_id || n->edi_status[0])
		return 0;
	struct rd_enablement *e = rd_malloc(sizeof *e);
	int rc = partner_enablement(t, d, vendor, n->distributor_id, e);
	free(e);
	if (rc == RD_ENOTFOUND)
		return 0;
	if (rc < 0)
		return rc;
	snprintf(n->edi_status, sizeof n->edi_status, "queued");
	queued_dirty = 1;
	kick(0); /* runs on the loop after this transaction */
	return 0;
}

/* ---- sending ------------------------------------------------------------------------------- */

struct send_job {
	struct rd_app *app;
	uint64_t vendor, order;
	char *json;
	char ref[64];
};

static char *order_json(const struct rd_order *o)
{
	json_t *lines = json_array();
	for (unsigned i = 0; i < o->n_lines; i++) {
		const struct rd_quote_line *l = &o->lines[i];
		if (l->optional && !l->selected)
			continue;
		char unit[48];
		rd_money_decimal(l->unit_list, o->currency, unit, sizeof unit);
		json_array_append_new(lines, json_pack("{s:s, s:s, s:I, s:I, s:s}", "sku", l->sku, "name", l->description,
						       "quantity", (json_int_t)l->quantity, "unit_price",
						       (json_int_t)l->unit_list, "unit_price_decimal", unit));
	}
	/* the amounts also as decimals in the currency's own exponent (JPY
	 * "5000", KWD "24.690"): what the documents print */
	char total[48];
	rd_money_decimal(o->total, o->currency, total, sizeof total);
	char date[16];
	time_t at = (time_t)o->created_at;
	struct tm tm;
	gmtime_r(&at, &tm);
	strftime(date, sizeof date, "%Y%m%d", &tm);
	json_t *j = json_pack("{s:s, s:s, s:s, s:I, s:s, s:i, s:s, s:o}", "number", o->number, "po_number", o->po_number,
			      "currency", o->currency, "total", (json_int_t)o->total, "total_decimal", total,
			      "currency_exponent", rd_money_exponent(o->currency), "date", date, "lines", lines);
	char *text = json_dumps(j, JSON_COMPACT);
	json_decref(j);
	return text;
}

static int send_run(rd_plugin_ctx *ctx, const struct rd_plugin *desc, void *arg)
{
	struct send_job *j = arg;
	const struct rd_connector_ops *ops = desc->ops;
	if (!ops || !ops->send)
		return RD_EINVAL;
	return ops->send(ctx, "order", j->json, j->ref, sizeof j->ref);
}

struct sent {
	struct send_job *j;
	int rc;
	const char *message;
	bool retry;        /* the failure is the folder's or the store's: tried again */
	uint32_t attempts; /* the order's failed attempts, after this one */
};

static int sent_write(struct rd_txn *t, void *arg)
{
	struct sent *s = arg;
	struct rd_domain *d = s->j->app->domain;
	struct rd_order *o = rd_malloc(sizeof *o), *before = rd_malloc(sizeof *before);
	int rc = rd_entity_get(t, d->orders, &rd_entity_order, s->j->vendor, s->j->order, o);
	if (rc == 0 && (!strcmp(o->edi_status, "queued") || !strcmp(o->edi_status, "retrying"))) {
		*before = *o;
		const char *note = "EDI: order sent";
		if (s->rc >= 0) {
			snprintf(o->edi_status, sizeof o->edi_status, "sent");
			snprintf(o->edi_control, sizeof o->edi_control, "%.15s", s->j->ref);
			o->edi_error[0] = 0;
		} else {
			snprintf(o->edi_error, sizeof o->edi_error, "%s", s->message ? s->message : rd_strerror(s->rc));
			if (s->retry) {
				snprintf(o->edi_status, sizeof o->edi_status, "retrying");
				o->edi_attempts++;
				note = "EDI: writing the order failed: retried";
			} else {
				snprintf(o->edi_status, sizeof o->edi_status, "failed");
				note = "EDI: sending the order failed";
			}
		}
		s->attempts = o->edi_attempts;
		rc = rd_order_put_audited(t, d, d->orders, &rd_entity_order, s->j->vendor, 0, before, o, 0, note);
	}
	free(o);
	free(before);
	return rc;
}

static void send_done(int rc, const char *message, void *arg)
{
	struct send_job *j = arg;
	/* A bad order or configuration (RD_EINVAL) fails for good; the folder,
	 * the store or a busy or slow plugin are tried again. */
	struct sent s = { j, rc, message, rc < 0 && rc != RD_EINVAL, 0 };
	/* written (the file is in the outbound folder): recorded even behind an
	 * import's write, as mail and webhooks are; refused (RD_EBUSY), the
	 * order stayed queued and went again under a new control number */
	int wrc = rd_store_write_wait(j->app->store, sent_write, &s);
	if (wrc < 0)
		rd_log(RD_LOG_ERROR, "edi", "recording a sent order: %s", rd_strerror(wrc));
	retry_forget(j->vendor, j->order);
	if (rc < 0 && s.retry && wrc >= 0) {
		struct retry *r = rd_calloc(1, sizeof *r);
		r->vendor = j->vendor;
		r->order = j->order;
		r->due = mono_ms() + backoff_ms(s.attempts);
		r->next = retries;
		retries = r;
		rd_log(RD_LOG_WARN, "edi", "vendor %llu order %llu: the order was not written (attempt %u), retried in %llu ms: %s",
		       (unsigned long long)j->vendor, (unsigned long long)j->order, s.attempts,
		       (unsigned long long)backoff_ms(s.attempts), message);
	} else if (rc < 0) {
		rd_log(RD_LOG_WARN, "edi", "vendor %llu order %llu: the order was not sent: %s", (unsigned long long)j->vendor,
		       (unsigned long long)j->order, message);
	}
	free(j->json);
	free(j);
	in_flight--;
	queued_dirty = 1;
	kick(0);
}

/* The first queued order of any vendor, with its enablement. */
static int next_queued(struct rd_app *app, uint64_t *vendor, struct rd_order *o, struct rd_enablement *e,
		       uint64_t *next_due)
{
	uint64_t now = mono_ms();
	struct rd_txn *t;
	int rc = rd_store_read(app->store, &t);
	if (rc < 0)
		return rc;
	struct rd_iter vit, it;
	struct rd_item vitem, item;
	int found = 0;
	rc = rd_iter_records(&vit, t, app->domain->vendors, 0, 0);
	while (!found && rc >= 0 && (rc = rd_iter_next(&vit, &vitem)) > 0) {
		int orc = rd_iter_records(&it, t, app->domain->orders, vitem.id, 0);
		while (orc >= 0 && (orc = rd_iter_next(&it, &item)) > 0) {
			if (rd_entity_decode(&rd_entity_order, item.val, item.len, o) < 0)
				continue;
			if (!strcmp(o->edi_status, "retrying")) {
				struct retry *r = *retry_find(vitem.id, o->id);
				if (r && r->due > now) {
					if (!*next_due || r->due < *next_due)
						*next_due = r->due;
					continue;
				}
			} else if (strcmp(o->edi_status, "queued")) {
				continue;
			}
			if (partner_enablement(t, app->domain, vitem.id, o->distributor_id, e) == 0) {
				*vendor = vitem.id;
				found = 1;
				break;
			}
		}
		rd_iter_close(&it);
	}
	rd_iter_close(&vit);
	rd_txn_end(t);
	return found;
}

static int send_one(struct rd_app *app)
{
	struct rd_order *o = rd_malloc(sizeof *o);
	struct rd_enablement *e = rd_malloc(sizeof *e);
	uint64_t vendor = 0, next_due = 0;
	int found = next_queued(app, &vendor, o, e, &next_due);
	if (found <= 0) {
		queued_dirty = retries != NULL;
		if (next_due) /* the earliest retry not yet due */
			kick(next_due - mono_ms() + 1);
	} else {
		struct rd_loaded *l = order_connector(e->plugin);
		struct send_job *j = rd_calloc(1, sizeof *j);
		j->app = app;
		j->vendor = vendor;
		j->order = o->id;
		j->json = order_json(o);
		in_flight++;
		if (!l || rd_plugins_call(app->plugins, l, vendor, o->distributor_id, e->config, EDI_TIMEOUT_MS, send_run,
					  send_done, j) < 0) {
			in_flight--;
			free(j->json);
			free(j);
			found = 0; /* busy or not loaded: a moment later */
			kick(1000);
		}
	}
	free(o);
	free(e);
	return found > 0;
}

/* ---- reading ------------------------------------------------------------------------------- */

struct read_job {
	struct rd_app *app;
	uint64_t vendor, partner;
	char dir[512], name[256];
	char *data;
	size_t len;
	json_t *records; /* filled by the sink on the pool thread */
};

static int sink(void *arg, const char *kind, const char *record_json)
{
	struct read_job *j = arg;
	json_t *r = json_loads(record_json, 0, NULL);
	if (!json_is_object(r)) {
		json_decref(r);
		return RD_EINVAL;
	}
	json_object_set_new(r, "kind", json_string(kind ? kind : ""));
	json_array_append_new(j->records, r);
	return 0;
}

static int read_run(rd_plugin_ctx *ctx, const struct rd_plugin *desc, void *arg)
{
	struct read_job *j = arg;
	const struct rd_connector_ops *ops = desc->ops;
	if (!ops || !ops->read_feed)
		return RD_EINVAL;
	return ops->read_feed(ctx, j->data, j->len, sink, j);
}

struct apply {
	struct read_job *j;
	char why[300];
	int applied;
};

static int find_order(struct rd_txn *t, struct rd_domain *d, uint64_t vendor, uint64_t partner, const char *number,
		      const char *control, struct rd_order *o)
{
	struct rd_iter it;
	struct rd_item item;
	int rc = rd_iter_records(&it, t, d->orders, vendor, 0), found = 0;
	while (rc >= 0 && (rc = rd_iter_next(&it, &item)) > 0) {
		if (rd_entity_decode(&rd_entity_order, item.val, item.len, o) < 0 || o->distributor_id != partner)
			continue;
		if ((number && !strcmp(o->number, number)) || (control && o->edi_control[0] && !strcmp(o->edi_control, control))) {
			found = 1;
			break;
		}
	}
	rd_iter_close(&it);
	return rc < 0 ? rc : found ? 0 : RD_ENOTFOUND;
}

/* Applies every record or none (an error aborts the transaction). */
static int apply_write(struct rd_txn *t, void *arg)
{
	struct apply *a = arg;
	struct read_job *j = a->j;
	struct rd_domain *d = j->app->domain;
	struct rd_order *o = rd_malloc(sizeof *o), *before = rd_malloc(sizeof *before);
	size_t i;
	json_t *r;
	int rc = 0;
	a->applied = 0;
	json_array_foreach(j->records, i, r) {
		const char *kind = json_string_value(json_object_get(r, "kind"));
		const char *number = json_string_value(json_object_get(r, "order"));
		const char *group = json_string_value(json_object_get(r, "group"));
		const char *note;
		if (kind && !strcmp(kind, "group"))
			continue; /* answered after the file (ack_groups) */
		if (!kind || (!number && !group)) {
			snprintf(a->why, sizeof a->why, "record %zu: neither an order number nor a group control number", i + 1);
			rc = RD_EINVAL;
			break;
		}
		rc = find_order(t, d, j->vendor, j->partner, number, number ? NULL : group, o);
		if (rc == RD_ENOTFOUND) {
			snprintf(a->why, sizeof a->why, "%s: %s %s is not an order sent to this distributor",
				 !strcmp(kind, "order_ack") ? "the acknowledgement" : !strcmp(kind, "order_invoice") ? "the invoice" : "the functional acknowledgement",
				 number ? "order" : "group", number ? number : group);
			rc = RD_EINVAL;
			break;
		}
		if (rc < 0)
			break;
		*before = *o;
		if (!strcmp(kind, "order_ack")) {
			const char *ack = json_string_value(json_object_get(r, "ack"));
			snprintf(o->edi_ack, sizeof o->edi_ack, "%s", ack ? ack : "");
			if (strcmp(o->edi_status, "invoiced"))
				snprintf(o->edi_status, sizeof o->edi_status, "%s",
					 (ack && !strcmp(ack, "RJ")) || json_is_true(json_object_get(r, "rejected")) ? "rejected"
														   : "acknowledged");
			note = "EDI: the distributor acknowledged the order";
		} else if (!strcmp(kind, "order_invoice")) {
			json_t *amt = json_object_get(r, "amount");
			const char *inv = json_string_value(json_object_get(r, "invoice"));
			/* the amount as the document wrote it, read in the order's
			 * currency (JPY "5000.00" is 5000 yen); else minor units */
			const char *dec = json_string_value(json_object_get(r, "amount_decimal"));
			int64_t minor = json_is_integer(amt) ? json_integer_value(amt) : -1;
			if (dec && rd_money_parse_decimal(dec, o->currency, &minor) < 0) {
				snprintf(a->why, sizeof a->why, "the invoice total for order %s, %.40s, is not an amount of %s", number,
					 dec, o->currency);
				rc = RD_EINVAL;
				break;
			}
			if (minor < 0) {
				snprintf(a->why, sizeof a->why, "810 TDS01: the invoice total for order %s is not an amount", number);
				rc = RD_EINVAL;
				break;
			}
			snprintf(o->edi_invoice, sizeof o->edi_invoice, "%s", inv ? inv : "");
			o->invoiced_amount = minor;
			snprintf(o->edi_status, sizeof o->edi_status, "invoiced");
			note = "EDI: the distributor invoiced the order";
		} else if (!strcmp(kind, "functional_ack")) {
			const char *st = json_string_value(json_object_get(r, "status"));
			if (!strcmp(o->edi_status, "sent"))
				snprintf(o->edi_status, sizeof o->edi_status, "%s", st && !strcmp(st, "R") ? "rejected" : "accepted");
			note = "EDI: the distributor's functional acknowledgement";
		} else {
			snprintf(a->why, sizeof a->why, "record %zu: unknown kind \"%s\"", i + 1, kind);
			rc = RD_EINVAL;
			break;
		}
		if (memcmp(before, o, sizeof *o) != 0 &&
		    (rc = rd_order_put_audited(t, d, d->orders, &rd_entity_order, j->vendor, 0, before, o, 0, note)) < 0)
			break;
		a->applied++;
	}
	free(o);
	free(before);
	return rc;
}

/* Answers each group of the file (records of kind "group") through the
 * connector's send("functional_ack"): accepted when the file was applied. */
struct ack_job {
	struct rd_app *app;
	uint64_t vendor, partner;
	uint32_t attempts; /* failed writes before this one */
	char *json;
	char ref[64];
};

static int ack_run(rd_plugin_ctx *ctx, const struct rd_plugin *desc, void *arg)
{
	struct ack_job *j = arg;
	const struct rd_connector_ops *ops = desc->ops;
	return ops->send(ctx, "functional_ack", j->json, j->ref, sizeof j->ref);
}

static void ack_done(int rc, const char *message, void *arg)
{
	struct ack_job *j = arg;
	if (rc < 0 && rc != RD_EINVAL) {
		struct ack_retry *r = rd_calloc(1, sizeof *r);
		r->vendor = j->vendor;
		r->partner = j->partner;
		r->attempts = j->attempts + 1;
		r->due = mono_ms() + backoff_ms(r->attempts);
		r->json = j->json;
		j->json = NULL;
		r->next = ack_retries;
		ack_retries = r;
		rd_log(RD_LOG_WARN, "edi", "vendor %llu partner %llu: a functional acknowledgement was not written (attempt %u), retried in %llu ms: %s",
		       (unsigned long long)j->vendor, (unsigned long long)j->partner, r->attempts,
		       (unsigned long long)backoff_ms(r->attempts), message);
	} else if (rc < 0) {
		rd_log(RD_LOG_WARN, "edi", "a functional acknowledgement was not sent: %s", message);
	}
	free(j->json);
	free(j);
	in_flight--;
	kick(0);
}

/* Starts send("functional_ack", json) through connector l (json is the
 * job's from now on). */
static void ack_start(struct rd_app *app, struct rd_loaded *l, uint64_t vendor, uint64_t partner, const char *config,
		      char *json, uint32_t attempts)
{
	struct ack_job *j = rd_calloc(1, sizeof *j);
	j->app = app;
	j->vendor = vendor;
	j->partner = partner;
	j->attempts = attempts;
	j->json = json;
	in_flight++;
	if (!j->json)
		ack_done(RD_EINVAL, "out of memory", j);
	else if (rd_plugins_call(app->plugins, l, vendor, partner, config, EDI_TIMEOUT_MS, ack_run, ack_done, j) < 0)
		ack_done(RD_EBUSY, "the connector could not be called", j); /* as a failed write: tried again */
}

/* Starts the first acknowledgement whose retry is due: 1 when one started. */
static int ack_retry_one(struct rd_app *app)
{
	uint64_t now = mono_ms(), next = 0;
	struct ack_retry **p = &ack_retries;
	while (*p && (*p)->due > now) {
		if (!next || (*p)->due < next)
			next = (*p)->due;
		p = &(*p)->next;
	}
	if (!*p) {
		if (next)
			kick(next - now + 1);
		return 0;
	}
	struct ack_retry *r = *p;
	*p = r->next;
	struct rd_enablement *e = rd_malloc(sizeof *e);
	struct rd_txn *t;
	int rc = rd_store_read(app->store, &t);
	if (rc == 0) {
		rc = partner_enablement(t, app->domain, r->vendor, r->partner, e);
		rd_txn_end(t);
	}
	struct rd_loaded *l = rc == 0 ? order_connector(e->plugin) : NULL;
	if (l) {
		ack_start(app, l, r->vendor, r->partner, e->config, r->json, r->attempts);
	} else {
		rd_log(RD_LOG_WARN, "edi", "vendor %llu partner %llu: a functional acknowledgement is dropped: the connector is no longer enabled",
		       (unsigned long long)r->vendor, (unsigned long long)r->partner);
		free(r->json);
	}
	free(r);
	free(e);
	return l != NULL;
}

static void ack_groups(struct read_job *rj, bool accepted)
{
	struct rd_txn *t;
	if (rd_store_read(rj->app->store, &t) < 0)
		return;
	struct rd_enablement *e = rd_malloc(sizeof *e);
	int rc = partner_enablement(t, rj->app->domain, rj->vendor, rj->partner, e);
	rd_txn_end(t);
	struct rd_loaded *l = rc == 0 ? order_connector(e->plugin) : NULL;
	size_t i;
	json_t *r;
	json_array_foreach(rj->records, i, r) {
		const char *kind = json_string_value(json_object_get(r, "kind"));
		if (!l || !kind || strcmp(kind, "group"))
			continue;
		json_t *m = json_pack("{s:O?, s:O?, s:b}", "fid", json_object_get(r, "fid"), "group", json_object_get(r, "group"),
				      "accepted", accepted);
		ack_start(rj->app, l, rj->vendor, rj->partner, e->config, json_dumps(m, JSON_COMPACT), 0);
		json_decref(m);
	}
	free(e);
}

static void move_with_report(struct read_job *j, int ok, const char *message, int applied, json_t *extra)
{
	char sub[600], from[1100], to[1400], report[1500];
	snprintf(sub, sizeof sub, "%s/%s", j->dir, ok ? "processed" : "failed");
	mkdir(sub, 0750);
	snprintf(from, sizeof from, "%s/%s", j->dir, j->name);
	snprintf(to, sizeof to, "%s/%s", sub, j->name);
	snprintf(report, sizeof report, "%s/%s.report.json", sub, j->name);
	if (rename(from, to) != 0)
		rd_log(RD_LOG_ERROR, "edi", "cannot move %s: %s", from, strerror(errno));
	json_t *r = json_pack("{s:s, s:s, s:s, s:i, s:I}", "file", j->name, "result", ok ? "applied" : "rejected", "error",
			      ok ? "" : message, "applied", applied, "records", (json_int_t)json_array_size(j->records));
	if (extra)
		json_object_update(r, extra);
	/* whole or not at all: a partner's tooling may read it the moment it appears */
	char *text = json_dumps(r, JSON_INDENT(2));
	if (!text || rd_file_write_atomic(report, text, strlen(text), 0640) != 0)
		rd_log(RD_LOG_ERROR, "edi", "cannot write %s", report);
	free(text);
	json_decref(r);
}

/* ---- 867 resale reports: a feed from the distributor --------------------------------------- */

static const char *const resale_columns[] = { "external_id", "customer_external_id", "product_sku",
					      "reseller_external_id", "quantity", "start", "end", NULL };

struct text {
	char *p;
	size_t len, cap;
};

static void text_add(struct text *b, const char *v, size_t n)
{
	if (b->len + n + 1 > b->cap)
		b->p = rd_realloc(b->p, b->cap = (b->len + n + 1) * 2);
	memcpy(b->p + b->len, v, n);
	b->p[b->len += n] = 0;
}

static void text_put(struct text *b, const char *v)
{
	text_add(b, v, strlen(v));
}

static void csv_value(struct text *buf, const char *v)
{
	text_add(buf, "\"", 1);
	for (; *v; v++)
		text_add(buf, *v == '"' ? "\"\"" : v, *v == '"' ? 2 : 1);
	text_add(buf, "\"", 1);
}

/* The contract records of an 867 as a feed in renewd's column names. */
static char *resale_csv(json_t *records, size_t *len)
{
	struct text b = { 0 }, *buf = &b;
	for (int c = 0; resale_columns[c]; c++) {
		text_put(buf, c ? "," : "");
		text_put(buf, resale_columns[c]);
	}
	text_put(buf, "\r\n");
	size_t i;
	json_t *r;
	json_array_foreach(records, i, r) {
		if (strcmp(json_string_value(json_object_get(r, "kind")) ? json_string_value(json_object_get(r, "kind")) : "",
			   "contract"))
			continue;
		for (int c = 0; resale_columns[c]; c++) {
			const char *v = json_string_value(json_object_get(r, resale_columns[c]));
			if (c)
				text_put(buf, ",");
			csv_value(buf, v ? v : "");
		}
		text_put(buf, "\r\n");
	}
	*len = b.len;
	return b.p;
}

/* Where feed row n (the header is row 1) came from: "ST 0001 PTD 2". */
static json_t *row_sources(json_t *records)
{
	json_t *out = json_array();
	size_t i;
	json_t *r;
	json_array_foreach(records, i, r) {
		if (json_object_get(r, "ptd")) {
			char where[64];
			snprintf(where, sizeof where, "ST %s PTD %lld", json_string_value(json_object_get(r, "set")),
				 (long long)json_integer_value(json_object_get(r, "ptd")));
			json_array_append_new(out, json_string(where));
		}
	}
	return out;
}

static void resale_done(void *arg, const struct rd_import_rec *r, bool stopped)
{
	struct read_job *j = arg;
	if (!stopped) {
		bool ok = r->status == RD_IMPORT_SUCCEEDED;
		json_t *errs = json_loads(r->errors[0] ? r->errors : "[]", 0, NULL);
		json_t *rows = row_sources(j->records);
		size_t i;
		json_t *e;
		json_array_foreach(errs, i, e) { /* each rejected row named by its PTD loop */
			json_int_t row = json_integer_value(json_object_get(e, "row"));
			json_t *src = row >= 2 ? json_array_get(rows, (size_t)(row - 2)) : NULL;
			if (src)
				json_object_set(e, "ptd", src);
		}
		json_t *extra = json_pack("{s:I, s:s, s:I, s:I, s:I, s:I, s:o, s:o}", "import_id", (json_int_t)r->id, "status",
					  ok ? "succeeded" : "failed", "accepted", (json_int_t)r->created, "merged",
					  (json_int_t)r->updated, "unchanged", (json_int_t)r->unchanged, "queued",
					  (json_int_t)r->queued, "rejected", errs ? errs : json_array(), "rows", rows);
		char msg[400];
		snprintf(msg, sizeof msg, "the 867 was not applied (feed %llu): %s", (unsigned long long)r->id, r->message);
		if (ok)
			rd_log(RD_LOG_INFO, "edi", "inbound %s: 867 applied as feed %llu", j->name, (unsigned long long)r->id);
		else
			rd_log(RD_LOG_WARN, "edi", "inbound %s rejected: %s", j->name, msg);
		move_with_report(j, ok, ok ? "" : msg, ok ? (int)(r->created + r->updated) : 0, extra);
		json_decref(extra);
		ack_groups(j, ok);
	}
	json_decref(j->records);
	free(j->data);
	free(j);
	in_flight--;
	kick(0);
}

/* Starts the feed of an 867's contract records (0: started, resale_done
 * ends the job), or says why not into why. */
static int start_resale(struct read_job *j, char *why, size_t cap)
{
	size_t i;
	json_t *r;
	json_array_foreach(j->records, i, r) {
		const char *kind = json_string_value(json_object_get(r, "kind"));
		if (!kind || (strcmp(kind, "contract") && strcmp(kind, "group"))) {
			snprintf(why, cap, "an interchange with an 867 carries 867 resale reports only");
			return RD_EINVAL;
		}
	}
	struct rd_vendor *v = rd_malloc(sizeof *v);
	struct rd_txn *t;
	int rc = rd_store_read(j->app->store, &t);
	if (rc == 0) {
		rc = rd_entity_get(t, j->app->domain->vendors, &rd_entity_vendor, 0, j->vendor, v);
		rd_txn_end(t);
	}
	if (rc < 0) {
		free(v);
		snprintf(why, cap, "the vendor could not be read: %s", rd_strerror(rc));
		return rc;
	}
	size_t len;
	char *csv = resale_csv(j->records, &len);
	struct rd_actor who = { .vendor = j->vendor, .partner = j->partner };
	struct rd_serr e = { 0 };
	struct rd_import_rec *rec = rd_malloc(sizeof *rec);
	rc = rd_feed_start_file(j->app, &who, v, csv, len, resale_done, j, rec, &e);
	if (rc < 0)
		snprintf(why, cap, "%s", e.message);
	free(rec);
	free(csv);
	free(v);
	return rc;
}

static bool has_resale(json_t *records)
{
	size_t i;
	json_t *r;
	json_array_foreach(records, i, r) {
		const char *kind = json_string_value(json_object_get(r, "kind"));
		if (kind && !strcmp(kind, "contract"))
			return true;
	}
	return false;
}

static void read_done(int rc, const char *message, void *arg)
{
	struct read_job *j = arg;
	struct apply a = { .j = j };
	if (rc == 0 && has_resale(j->records)) {
		if ((rc = start_resale(j, a.why, sizeof a.why)) == 0)
			return; /* resale_done finishes the job */
		message = a.why;
	} else if (rc == 0) {
		rc = rd_store_write(j->app->store, apply_write, &a);
		if (rc == RD_EBUSY) {
			/* An import's rows hold the store's writer (rd_store_write_long)
			 * and the loop does not wait behind them: nothing was applied,
			 * the file stays in the folder and is read again a moment
			 * later (never rejected for it: a good file is not refused). */
			rd_log(RD_LOG_INFO, "edi", "inbound %s waits: the store's writer is busy (an import)", j->name);
			json_decref(j->records);
			free(j->data);
			free(j);
			in_flight--;
			kick(1000);
			return;
		}
		if (rc < 0 && !a.why[0])
			snprintf(a.why, sizeof a.why, "the store refused the changes: %s", rd_strerror(rc));
		message = a.why;
	}
	if (rc < 0) {
		rd_log(RD_LOG_WARN, "edi", "inbound %s rejected: %s", j->name, message);
		move_with_report(j, 0, message, 0, NULL);
	} else {
		rd_log(RD_LOG_INFO, "edi", "inbound %s applied (%d records)", j->name, a.applied);
		move_with_report(j, 1, "", a.applied, NULL);
	}
	ack_groups(j, rc >= 0); /* the groups the connector read (none when it refused the file itself) */
	json_decref(j->records);
	free(j->data);
	free(j);
	in_flight--;
	kick(0); /* the next file, if any */
}

static int read_file(const char *path, char **data, size_t *len)
{
	int fd = open(path, O_RDONLY | O_NOFOLLOW | O_CLOEXEC); /* a link is not followed out of the folder */
	FILE *f = fd >= 0 ? fdopen(fd, "rb") : NULL;
	if (!f) {
		int e = errno;
		if (fd >= 0)
			close(fd);
		*data = NULL;
		*len = 0;
		return -e;
	}
	char *buf = rd_malloc(EDI_MAX_FILE + 1);
	size_t n = fread(buf, 1, EDI_MAX_FILE + 1, f);
	fclose(f);
	*data = buf;
	*len = n;
	return n > EDI_MAX_FILE ? RD_ETOOBIG : 0;
}

/* The first file waiting in an inbound folder of any enabled partner. */
static int read_one(struct rd_app *app)
{
	struct rd_txn *t;
	if (rd_store_read(app->store, &t) < 0)
		return 0;
	struct rd_enablement *e = rd_malloc(sizeof *e);
	struct rd_iter vit, it;
	struct rd_item vitem, item;
	int started = 0;
	struct rd_vendor *v = rd_malloc(sizeof *v);
	int rc = rd_iter_records(&vit, t, app->domain->vendors, 0, 0);
	while (!started && rc >= 0 && (rc = rd_iter_next(&vit, &vitem)) > 0) {
		/* A vendor the platform operator suspended takes no file in: its
		 * partners' files wait in the inbound folders until it is resumed. */
		if (rd_entity_decode(&rd_entity_vendor, vitem.val, vitem.len, v) < 0 || v->suspended)
			continue;
		int erc = rd_iter_records(&it, t, app->domain->enablements, vitem.id, 0);
		while (!started && erc >= 0 && (erc = rd_iter_next(&it, &item)) > 0) {
			struct rd_loaded *l;
			if (rd_entity_decode(&rd_entity_enablement, item.val, item.len, e) < 0 || !e->partner_id ||
			    !(l = order_connector(e->plugin)))
				continue;
			json_t *cfg = json_loads(e->config, 0, NULL);
			const char *dir = json_string_value(json_object_get(cfg, "inbound_dir"));
			/* an enablement from before folders were checked (enablements.c):
			 * renewd's own folders are never read, their files never moved */
			if (dir && rd_edi_folder_refusal(app, dir))
				dir = NULL;
			if (dir && watch_fn)
				watch_fn(watch_arg, dir);
			DIR *dh = dir ? opendir(dir) : NULL;
			struct dirent *de;
			while (dh && (de = readdir(dh))) {
				char path[1100];
				struct stat sb;
				snprintf(path, sizeof path, "%s/%s", dir, de->d_name);
				if (de->d_name[0] == '.' || strlen(de->d_name) >= 200 || lstat(path, &sb) != 0 || !S_ISREG(sb.st_mode))
					continue;
				struct read_job *j = rd_calloc(1, sizeof *j);
				j->app = app;
				j->vendor = vitem.id;
				j->partner = e->partner_id;
				snprintf(j->dir, sizeof j->dir, "%s", dir);
				snprintf(j->name, sizeof j->name, "%s", de->d_name);
				j->records = json_array();
				int frc = read_file(path, &j->data, &j->len);
				in_flight++;
				if (frc < 0) {
					read_done(frc, frc == RD_ETOOBIG ? "the file is over 1 MiB" : "the file cannot be read", j);
				} else if (rd_plugins_call(app->plugins, l, vitem.id, e->partner_id, e->config, EDI_TIMEOUT_MS,
							   read_run, read_done, j) < 0) {
					in_flight--;
					json_decref(j->records);
					free(j->data);
					free(j);
					kick(1000); /* busy: a moment later */
					break;
				}
				started = 1;
				break;
			}
			if (dh)
				closedir(dh);
			json_decref(cfg);
		}
		rd_iter_close(&it);
	}
	rd_iter_close(&vit);
	rd_txn_end(t);
	free(e);
	free(v);
	return started;
}

void rd_edi_tick(struct rd_app *app)
{
	if (in_flight)
		return;
	if (ack_retries && ack_retry_one(app))
		return;
	if (queued_dirty && send_one(app))
		return;
	read_one(app);
}
