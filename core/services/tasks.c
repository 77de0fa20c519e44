/*
 * tasks.c: assigning, closing and reopening customer requests (tasks.h).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "domain/audit.h"
#include "services/tasks.h"
#include "util/clock.h"
#include "util/err.h"

/* Whether partner is p or one of p's resellers. */
static bool in_channel(struct rd_txn *t, struct rd_domain *d, uint64_t vendor, uint64_t p, uint64_t partner)
{
	if (!p || !partner)
		return false;
	if (partner == p)
		return true;
	struct rd_partner x;
	return rd_entity_get(t, d->partners, &rd_entity_partner, vendor, partner, &x) == 0 && x.parent_id == p;
}

bool rd_task_visible(struct rd_txn *t, struct rd_domain *d, const struct rd_actor *who, const struct rd_task *task)
{
	if (!who->partner)
		return true; /* the vendor's people: every task of the vendor */
	return in_channel(t, d, who->vendor, who->partner, task->partner_id);
}

bool rd_task_assignable(struct rd_txn *t, struct rd_domain *d, uint64_t vendor, const struct rd_task *task,
			const struct rd_user *u)
{
	if (u->disabled)
		return false;
	if (!task->partner_id)
		return u->partner_id == 0;
	return in_channel(t, d, vendor, u->partner_id, task->partner_id);
}

struct update {
	struct rd_app *app;
	const struct rd_actor *who;
	uint64_t id;
	const struct rd_task_change *ch;
	struct rd_task *task;
	struct rd_serr *e;
};

static int update_write(struct rd_txn *t, void *arg)
{
	struct update *u = arg;
	struct rd_domain *d = u->app->domain;
	uint64_t v = u->who->vendor;
	int rc = rd_entity_get(t, d->tasks, &rd_entity_task, v, u->id, u->task);
	if (rc == RD_ENOTFOUND || (rc == 0 && !rd_task_visible(t, d, u->who, u->task)))
		return rd_serr_set(u->e, RD_ENOTFOUND, "not_found", "id", "no such task");
	if (rc < 0)
		return rc;
	const struct rd_task_change *ch = u->ch;
	bool done = ch->set_done ? ch->done != 0 : u->task->done != 0;
	if (ch->set_assignee && ch->assignee != u->task->assigned_to) {
		if (done)
			return rd_serr_set(u->e, RD_EEXISTS, "conflict", "assigned_to",
					   "the task is closed: reopen it ({\"done\": 0}) to assign it");
		struct rd_user who;
		if (ch->assignee) {
			rc = rd_entity_get(t, d->users, &rd_entity_user, v, ch->assignee, &who);
			if (rc == RD_ENOTFOUND)
				return rd_serr_set(u->e, RD_EINVAL, "invalid", "assigned_to", "no user with id %llu",
						   (unsigned long long)ch->assignee);
			if (rc < 0)
				return rc;
			if (!rd_task_assignable(t, d, v, u->task, &who))
				return rd_serr_set(u->e, RD_EINVAL, "invalid", "assigned_to",
						   who.disabled ? "user %llu is disabled"
						   : u->task->partner_id ? "user %llu is not one of the task's partner's people"
									 : "user %llu is not one of the vendor's team",
						   (unsigned long long)ch->assignee);
		}
	}
	if (ch->set_due && ch->due != u->task->due_on && done)
		return rd_serr_set(u->e, RD_EEXISTS, "conflict", "due_on",
				   "the task is closed: reopen it ({\"done\": 0}) to give it a due date");
	json_t *before = rd_entity_to_json(&rd_entity_task, u->task);
	if (ch->set_due)
		u->task->due_on = ch->due;
	if (ch->set_assignee)
		u->task->assigned_to = ch->assignee;
	if (ch->set_done && (ch->done != 0) != (u->task->done != 0)) {
		u->task->done = ch->done != 0;
		u->task->done_at = ch->done ? rd_clock_now() : 0;
		u->task->done_by = ch->done ? u->who->user : 0;
	}
	if ((rc = rd_entity_put(t, d->tasks, &rd_entity_task, v, u->task, 0)) == 0) {
		json_t *after = rd_entity_to_json(&rd_entity_task, u->task);
		const char *note = ch->set_done && ch->done ? "task closed" : ch->set_done ? "task reopened"
				   : ch->set_assignee                ? "task assigned"
								     : "task due date set";
		rc = rd_audit_write(t, d, v, u->who->user, RD_AUDIT_UPDATE, "tasks", u->task->id, before, after, note);
		json_decref(after);
	}
	json_decref(before);
	return rc;
}

int rd_task_update(struct rd_app *app, const struct rd_actor *who, uint64_t id, const struct rd_task_change *ch,
		   struct rd_task *out, struct rd_serr *e)
{
	e->rc = 0;
	if (!id)
		return rd_serr_set(e, RD_ENOTFOUND, "not_found", "id", "no such task");
	struct update u = { app, who, id, ch, out, e };
	int rc = rd_store_write(app->store, update_write, &u);
	if (rc < 0 && e->rc != rc)
		rd_serr_set(e, rc, "internal", NULL, "%s", rd_strerror(rc));
	return rc;
}
