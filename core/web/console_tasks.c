/*
 * console_tasks.c: the tasks inboxes: customer requests (call me back,
 * contact the reseller, reply to the sales centre) and the tasks people
 * add in the sales view, for the people who act on them.
 *   GET  /vendor/tasks[?state=open|done|all]   the vendor's: every task of the vendor
 *   POST /vendor/tasks/{id}                    action=assign (assigned_to=USER or empty), close, reopen,
 *                                              due (due_on=YYYY-MM-DD or empty: no date)
 *   GET  /partner/tasks[?state=...]            a partner's: its own tasks (a distributor's: its resellers' too)
 *   POST /partner/tasks/{id}
 * Both inboxes take ?owner=me (the viewer's tasks) or ?owner=nobody (not yet
 * assigned) besides ?state=.
 * Who may read or change tasks at all is the role matrix's; whose tasks
 * and to whom they may go is core/services/tasks.c's, as for PATCH
 * /api/v1/tasks/{id}.  Every form carries the session's CSRF token.
 */
#include <stdlib.h>
#include <string.h>

#include "services/tasks.h"
#include "store/store.h"
#include "util/clock.h"
#include "util/err.h"
#include "web/console.h"
#include "web/web.h"

#define TASKS_SHOWN 200 /* the newest this many: an inbox is for what is open now */

static const char *kind_text(uint8_t k)
{
	static const char *const t[] = { "", "call the customer back", "the customer asks the reseller to get in touch",
					 "reply to the customer (sales centre)" };
	return k < 4 ? t[k] : "";
}

static struct rd_actor actor_of(const struct web *w)
{
	return (struct rd_actor){ .vendor = w->c.who.vendor, .user = w->c.who.user,
				  .partner = rd_role_is_partner(w->c.who.role) ? w->c.who.partner : 0 };
}

/* The enabled users of the vendor (a list read once per page). */
static struct rd_user *users_of(struct rd_txn *t, struct web *w, size_t *n)
{
	size_t cap = 16;
	struct rd_user *u = rd_malloc(cap * sizeof *u);
	*n = 0;
	struct rd_iter it;
	struct rd_item item;
	int rc = rd_iter_records(&it, t, w->app->domain->users, w->c.who.vendor, 0);
	while (rc >= 0 && (rc = rd_iter_next(&it, &item)) > 0) {
		if (*n == cap)
			u = rd_realloc(u, (cap *= 2) * sizeof *u);
		if (rd_entity_decode(&rd_entity_user, item.val, item.len, &u[*n]) == 0 && !u[*n].disabled)
			(*n)++;
	}
	rd_iter_close(&it);
	return u;
}

static int tasks_page(struct web *w, bool partner, int status, const char *error)
{
	const char *state = rd_req_query(w->req, "state");
	int want = !state || !strcmp(state, "open") ? 0 : !strcmp(state, "done") ? 1 : 2;
	/* Whose: anyone's (""), the viewer's own ("me"), nobody's yet ("nobody"). */
	const char *owner = rd_req_query(w->req, "owner");
	int whose = !owner || !*owner ? 0 : !strcmp(owner, "me") ? 1 : !strcmp(owner, "nobody") ? 2 : -1;
	if (whose < 0) {
		whose = 0;
		status = 400;
		error = "Owner: choose anyone's, yours or nobody's yet.";
	}
	struct rd_txn *t;
	int rc = rd_store_read(w->app->store, &t);
	if (rc < 0)
		return rc;
	struct rd_domain *d = w->app->domain;
	struct rd_actor who = actor_of(w);
	bool may_change = rd_authz(w->c.who.role, RD_RES_TASK, RD_ACT_UPDATE) != RD_SCOPE_NONE;
	size_t n_users;
	struct rd_user *users = users_of(t, w, &n_users);
	json_t *rows = json_array();
	struct rd_task *task = rd_malloc(sizeof *task);
	struct rd_opportunity *o = rd_malloc(sizeof *o);
	struct rd_iter it;
	struct rd_item item;
	size_t total = 0;
	/* A partner's page: its tasks by the tasks' partner index (its scope is
	 * the partner and its resellers, the tasks rd_task_visible lets it see),
	 * not a walk of the vendor's; a scope cut short walks the table. */
	static const char *const task_idx[] = { RD_IDX_PARTNER };
	bool by_ids = rd_role_is_partner(w->c.who.role) && w->c.who.n_scope && !w->c.who.scope_truncated;
	uint64_t *ids = NULL;
	size_t n_ids = 0, x = 0;
	rc = by_ids ? rd_call_scope_ids(&w->c, t, d->tasks, task_idx, 1, 0, &ids, &n_ids)
		    : rd_iter_records(&it, t, d->tasks, w->c.who.vendor, 0);
	while (rc >= 0) {
		if (by_ids) {
			if (x == n_ids)
				break;
			if ((rc = rd_txn_get(t, d->tasks, w->c.who.vendor, ids[x++], &item.val, &item.len)) == RD_ENOTFOUND) {
				rc = 0;
				continue;
			}
			if (rc < 0)
				break;
		} else if ((rc = rd_iter_next(&it, &item)) <= 0) {
			break;
		}
		if (rd_entity_decode(&rd_entity_task, item.val, item.len, task) < 0 ||
		    (want < 2 && (task->done != 0) != (want == 1)) || (whose == 1 && task->assigned_to != w->c.who.user) ||
		    (whose == 2 && task->assigned_to) || !rd_task_visible(t, d, &who, task))
			continue;
		total++;
		struct rd_partner p;
		struct rd_customer cu;
		bool have_o = rd_entity_get(t, d->opportunities, &rd_entity_opportunity, w->c.who.vendor,
					    task->opportunity_id, o) == 0;
		json_t *choices = json_array();
		const char *assignee = "";
		for (size_t i = 0; i < n_users; i++) {
			bool chosen = users[i].id == task->assigned_to;
			if (chosen)
				assignee = users[i].email;
			if (may_change && !task->done && rd_task_assignable(t, d, w->c.who.vendor, task, &users[i]))
				json_array_append_new(choices, json_pack("{s:I, s:s, s:b}", "id", (json_int_t)users[i].id,
									 "email", users[i].email, "selected", chosen));
		}
		char due[11] = "";
		if (task->due_on)
			rd_date_format(task->due_on, due);
		json_t *row;
		json_array_append_new(rows, row = json_pack("{s:I, s:o, s:s, s:s, s:s, s:s, s:I, s:s, s:s, s:b, s:b, s:o, s:s}",
						      "id", (json_int_t)task->id, "at", rd_console_time_json(task->created_at),
						      "for", task->partner_id ? rd_console_partner_name(t, w, task->partner_id, &p)
									      : "the vendor's renewals team",
						      "customer", rd_console_customer_name(t, w, task->customer_id, &cu), "kind",
						      kind_text(task->kind), "message", task->message, "opportunity_id",
						      (json_int_t)task->opportunity_id, "number", have_o ? o->number : "",
						      "assignee", assignee, "done", task->done != 0, "may_change", may_change,
						      "choices", choices, "csrf", w->csrf));
		json_object_set_new(row, "due", json_string(due));
		json_object_set_new(row, "overdue", json_boolean(task->due_on && !task->done && task->due_on < rd_clock_today()));
		json_object_set_new(row, "customer_id", json_integer((json_int_t)task->customer_id));
	}
	if (!by_ids)
		rd_iter_close(&it);
	free(ids);
	rd_txn_end(t);
	free(task);
	free(o);
	free(users);
	if (rc < 0) {
		json_decref(rows);
		return rc;
	}
	/* The newest first, at most TASKS_SHOWN. */
	json_t *shown = json_array();
	for (size_t i = json_array_size(rows); i > 0 && json_array_size(shown) < TASKS_SHOWN; i--)
		json_array_append(shown, json_array_get(rows, i - 1));
	json_decref(rows);
	const char *base = partner ? "/partner/tasks" : "/vendor/tasks";
	json_t *ctx = rd_console_page_ctx(w, "Tasks", base);
	json_t *choices = json_array();
	static const char *const values[] = { "open", "done", "all" }, *const labels[] = { "Open", "Closed", "All" };
	for (int i = 0; i < 3; i++)
		json_array_append_new(choices, json_pack("{s:s, s:s, s:b}", "value", values[i], "label", labels[i], "selected",
							 i == want));
	json_object_set_new(ctx, "choices", choices);
	json_t *owners = json_array();
	static const char *const ovalues[] = { "", "me", "nobody" }, *const olabels[] = { "anyone's", "mine", "nobody's yet" };
	for (int i = 0; i < 3; i++)
		json_array_append_new(owners, json_pack("{s:s, s:s, s:b}", "value", ovalues[i], "label", olabels[i], "selected",
							i == whose));
	json_object_set_new(ctx, "owners", owners);
	json_object_set_new(ctx, "tasks", shown);
	json_object_set_new(ctx, "base", json_string(base));
	json_object_set_new(ctx, "root", json_string(partner ? "/partner" : "/vendor"));
	json_object_set_new(ctx, "count", json_integer((json_int_t)total));
	json_object_set_new(ctx, "more", json_boolean(total > TASKS_SHOWN));
	json_object_set_new(ctx, "partner", json_boolean(partner));
	if (!partner && !w->vendor.notify_email[0])
		json_object_set_new(ctx, "no_address", json_true());
	if (error)
		json_object_set_new(ctx, "error", json_string(error));
	rd_web_mark_lists(ctx);
	rd_web_page(w, status, partner ? "partner_tasks" : "vendor_tasks", partner ? w->c.who.partner : 0, ctx);
	return 0;
}

/* A form's change to one task, through the service; the inbox again (with
 * the refusal) or a redirect to it. */
static int task_post(struct web *w, bool partner)
{
	const char *action = rd_form(w->req, "action"), *to = rd_form(w->req, "assigned_to");
	struct rd_task_change ch = { 0 };
	if (action && !strcmp(action, "assign")) {
		ch.set_assignee = true;
		ch.assignee = to && *to ? rd_parse_id(to) : 0;
		if (to && *to && !ch.assignee)
			return tasks_page(w, partner, 400, "Choose one of the people listed.");
	} else if (action && (!strcmp(action, "close") || !strcmp(action, "reopen"))) {
		ch.set_done = true;
		ch.done = !strcmp(action, "close");
	} else if (action && !strcmp(action, "due")) {
		const char *due = rd_form(w->req, "due_on");
		ch.set_due = true;
		if (due && *due && rd_date_parse(due, &ch.due) < 0)
			return tasks_page(w, partner, 400, "Due on: give a date as YYYY-MM-DD, or leave it empty for no date.");
	} else {
		return tasks_page(w, partner, 400, "Choose assign, close, reopen or due.");
	}
	struct rd_actor who = actor_of(w);
	struct rd_task task;
	struct rd_serr e;
	int rc = rd_task_update(w->app, &who, rd_parse_id(rd_req_param(w->req, "id")), &ch, &task, &e);
	if (rc == RD_ENOTFOUND) {
		rd_web_message(w, 404, "Not found", "There is no such task.");
		return 0;
	}
	if (rc == RD_EINVAL || rc == RD_EEXISTS) {
		char text[300];
		snprintf(text, sizeof text, "%s", e.message);
		text[0] = (char)(text[0] >= 'a' && text[0] <= 'z' ? text[0] - 'a' + 'A' : text[0]);
		return tasks_page(w, partner, rd_serr_status(rc), text);
	}
	if (rc < 0)
		return rc;
	rd_web_redirect(w->req, partner ? "/partner/tasks" : "/vendor/tasks");
	return 0;
}

int rd_page_vendor_tasks(struct rd_req *req)
{
	struct web w;
	if (!rd_console_begin(req, &w) || !rd_console_allowed(&w, RD_RES_TASK, RD_ACT_READ))
		return 0;
	return tasks_page(&w, false, 200, NULL);
}

int rd_page_vendor_task_post(struct rd_req *req)
{
	struct web w;
	if (!rd_console_begin(req, &w) || !rd_web_csrf_ok(&w) || !rd_console_allowed(&w, RD_RES_TASK, RD_ACT_UPDATE))
		return 0;
	return task_post(&w, false);
}

/* The partner portal's inbox: partner roles only (the vendor's are sent to theirs). */
static bool partner_begin(struct rd_req *req, struct web *w)
{
	if (rd_web_user(req, w) < 0)
		return false;
	if (!rd_role_is_partner(w->c.who.role)) {
		rd_web_redirect(req, "/vendor/tasks");
		return false;
	}
	return true;
}

int rd_page_partner_tasks(struct rd_req *req)
{
	struct web w;
	if (!partner_begin(req, &w) || !rd_console_allowed(&w, RD_RES_TASK, RD_ACT_READ))
		return 0;
	return tasks_page(&w, true, 200, NULL);
}

int rd_page_partner_task_post(struct rd_req *req)
{
	struct web w;
	if (!partner_begin(req, &w) || !rd_web_csrf_ok(&w) || !rd_console_allowed(&w, RD_RES_TASK, RD_ACT_UPDATE))
		return 0;
	return task_post(&w, true);
}
