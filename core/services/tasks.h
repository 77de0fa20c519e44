/*
 * tasks.h: the rules for the people's side of customer requests
 * (core/services/tasks.c): who may see a task, who it may be assigned to,
 * closing and reopening it.  One rule for the API (PATCH
 * /api/v1/tasks/{id}), the console's tasks inbox (/vendor/tasks) and the
 * partner portal's (/partner/tasks).
 *
 * A task is the vendor's team's (partner_id 0) or a partner's.  Whether
 * the actor's role may read or change tasks at all is the authorisation
 * matrix's (the caller checks it); the channel is the service's:
 *   - the vendor's people act on every task of the vendor;
 *   - a partner's people act on the partner's own tasks and, a
 *     distributor's, on its resellers' tasks; never on the vendor's team's
 *     or another channel's.
 */
#ifndef RD_SERVICES_TASKS_H
#define RD_SERVICES_TASKS_H

#include <stdbool.h>
#include <stdint.h>

#include "domain/app.h"
#include "domain/model.h"
#include "services/service.h"
#include "store/store.h"

/* What to change: set_done (done 1 closes, 0 reopens), set_assignee
 * (assignee a user id, 0: nobody), set_due (due a date, 0: none). */
struct rd_task_change {
	bool set_done, set_assignee, set_due;
	uint8_t done;
	uint64_t assignee;
	rd_date due;
};

/* Whether who may see and act on task. */
bool rd_task_visible(struct rd_txn *t, struct rd_domain *d, const struct rd_actor *who, const struct rd_task *task);

/* Whether user u may be given task: an enabled user of the vendor's team
 * for the team's tasks; of the task's partner, or of that partner's
 * distributor, for a partner's. */
bool rd_task_assignable(struct rd_txn *t, struct rd_domain *d, uint64_t vendor, const struct rd_task *task,
			const struct rd_user *u);

/* Changes task id as who, audited (tasks, before and after).  0 with the
 * task in *out, or a refusal in e:
 *   RD_ENOTFOUND, field id           no such task in who's channel
 *   RD_EINVAL, field assigned_to     no such user, disabled, or not of the task's side
 *   RD_EEXISTS, code "conflict"      assigning a closed task, or giving it a due date
 * or the store's error. */
int rd_task_update(struct rd_app *app, const struct rd_actor *who, uint64_t id, const struct rd_task_change *ch,
		   struct rd_task *out, struct rd_serr *e);

#endif
