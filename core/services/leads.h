/*
 * leads.h: lead distribution (core/services/leads.c), one rule for the API
 * (/api/v1/leads), the web-to-lead form (/f/{vendor}/lead) and the pages.
 *
 * A lead is `new` when it arrives (API, import, the public form), then
 * `qualified` by the vendor's people, then `assigned` by the vendor's
 * routing policy to a rep, a partner or a pool with a deadline and a
 * reason; `accepted` by the first of them (a pool: atomically, the others
 * are told it is gone), then `won` (with a value) or `lost` (with a
 * reason).  A decline (with a reason) or a lapse (the deadline passed)
 * excludes who let it go and asks the policy again, up to the vendor's
 * lead_reroute_limit routings; then, or when the policy finds nobody, the
 * lead is `returned` to the channel manager, who may route it again.
 *
 * Every assignment stores the policy version, what the policy was given
 * (the lead, the candidates with their activity, load, acceptance rate and
 * weight, the excluded) and its reason.
 */
#ifndef RD_SERVICES_LEADS_H
#define RD_SERVICES_LEADS_H

#include <jansson.h>
#include <stdbool.h>
#include <stdint.h>

#include "domain/app.h"
#include "domain/model.h"
#include "services/service.h"

/* Creates a lead from the fields in in (company or contact_name required;
 * e-mail, when given, must look like one), source "api", "import" or
 * "form".  The form's lead gets an auto-response e-mail.  Audited. */
int rd_lead_create(struct rd_app *app, const struct rd_actor *who, const struct rd_lead *in, const char *source,
		   struct rd_lead *out, struct rd_serr *e);

/* What qualification sets: NULL leaves a field as it is. */
struct rd_lead_qual {
	const char *situation, *product, *time_frame, *company_size, *region, *country;
};
/* The vendor's people: new, qualified or returned -> qualified; the partner
 * that accepted a lead: requalifies it (it stays accepted).  The product of
 * interest is required. */
int rd_lead_qualify(struct rd_app *app, const struct rd_actor *who, uint64_t id, const struct rd_lead_qual *q,
		    struct rd_lead *out, struct rd_serr *e);

/* qualified or returned -> assigned (or returned when the policy finds
 * nobody or fails: the reason is in returned_reason). */
int rd_lead_route(struct rd_app *app, const struct rd_actor *who, uint64_t id, struct rd_lead *out, struct rd_serr *e);

/* The actor's partner (or, for a rep assignment, the actor) accepts:
 * assigned -> accepted.  RD_EEXISTS code "gone" when another took it or it
 * is no longer offered; RD_ENOTFOUND when it was never offered to the actor. */
int rd_lead_accept(struct rd_app *app, const struct rd_actor *who, uint64_t id, struct rd_lead *out, struct rd_serr *e);
/* Declines with a reason (required): the lead is routed again without the
 * actor's partner (a pool: once every member declined). */
int rd_lead_decline(struct rd_app *app, const struct rd_actor *who, uint64_t id, const char *reason, struct rd_lead *out,
		    struct rd_serr *e);
/* accepted -> won (value > 0, minor units of the vendor's currency) or lost
 * (a reason), by the partner (or rep) that accepted it. */
int rd_lead_close(struct rd_app *app, const struct rd_actor *who, uint64_t id, bool won, uint64_t value,
		  const char *reason, struct rd_lead *out, struct rd_serr *e);

/* The lapse step: every assignment past its deadline lapses, its partners
 * are excluded and the lead is routed again or returned.  Idempotent;
 * audited.  Returns how many lapsed, or < 0. */
int rd_leads_lapse(struct rd_app *app);

/* Whether who may see lead l (the vendor's people: all; a partner: the
 * leads offered to it now or accepted by it; a rep: the ones offered to
 * them or theirs). */
bool rd_lead_visible(struct rd_txn *t, struct rd_domain *d, const struct rd_actor *who, const struct rd_lead *l,
		     const struct rd_lead_assignment *a);

/* The explanation of a lead's assignments as who may see it: for the
 * vendor's people everything; for a partner the assignments offered to it,
 * each with the policy version, reason, deadline and its own inputs only. */
int rd_lead_explain(struct rd_app *app, const struct rd_actor *who, uint64_t id, json_t **out, struct rd_serr *e);

/* A dry run of routing version `version` (stored, not necessarily active)
 * over the last `last` (1..200) routed leads: for each, who got it and who
 * the version would have chosen from the same inputs.  Writes nothing. */
int rd_lead_dry_run(struct rd_app *app, const struct rd_actor *who, uint32_t version, uint32_t last, json_t **report,
		    struct rd_serr *e);

/* ---- the public web-to-lead form ---------------------------------------------------------- */

/* The signed timestamp the form carries (its issue time, real clock,
 * milliseconds, and a MAC under a key of this process). */
void rd_lead_form_stamp(uint64_t vendor, char out[96]);

/* A submission from client address peer to vendor slug: refuses a closed
 * form (RD_ENOTFOUND), a flood (RD_ETOOBIG code "rate_limited": more than
 * the vendor's lead_form_per_hour from one address in an hour), a filled
 * honeypot (RD_EINVAL code "spam" field website), a missing, forged or
 * stale stamp, or one younger than lead_form_min_seconds (RD_EINVAL code
 * "spam" field ts); else creates the lead (source "form"). */
struct rd_lead_form {
	const char *ts, *website;   /* the stamp; the honeypot (must be empty) */
	const char *company, *contact_name, *email, *phone, *country, *product, *notes;
};
int rd_lead_form_submit(struct rd_app *app, const char *slug, const char *peer, const struct rd_lead_form *f,
			struct rd_lead *out, struct rd_serr *e);
/* The vendor of slug with an open form (enabled, and the vendor not suspended
 * by the platform operator): 0, or RD_ENOTFOUND. */
int rd_lead_form_vendor(struct rd_app *app, const char *slug, struct rd_vendor *out);

#endif
