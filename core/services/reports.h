/*
 * reports.h: management reporting (core/services/reports.c, docs/reporting.md):
 * the dashboard, the drill-down (product line -> product -> contract;
 * customer -> contracts) and the rankings, for the API
 * (GET /api/v1/reports/...) and the pages (/vendor/reports, /partner/reports).
 *
 * Every report is a set of tables: columns with a kind (text, count, money,
 * rate in basis points, date, id) and rows of JSON values (money in minor
 * units beside a currency column).  The API answers them as JSON or, one
 * table at a time, as CSV; the pages draw charts from them and link down.
 * Money is never summed across currencies: each currency has its own rows.
 *
 * Scope (rd_reports_scope): the vendor's people see every contract of the
 * vendor; a partner's users its channel only (contracts whose reseller or
 * distributor is the partner or, for a distributor, one of its resellers);
 * sales people (vendor or partner sales roles) the contracts they are the
 * sales person of: the reseller's sales contact (partner sales_user_id)
 * when the renewal is the partner's to sell (its opportunity published to
 * the partner or, undecided or not yet quoted, the vendor's publish_default
 * is partner), else the vendor's sales person (vendor sales_user_id).
 *
 * Speed: a report walks the "report" index keys of contracts, opportunities
 * and orders (domain/model.h, RD_IDX_REPORT), kept by the store in the same
 * transaction as each record, and decodes no record; a product's contracts
 * are one key range.  bench/report_bench measures it at 1,000,000 contracts.
 */
#ifndef RD_SERVICES_REPORTS_H
#define RD_SERVICES_REPORTS_H

#include <jansson.h>
#include <stdbool.h>
#include <stdint.h>

#include "domain/model.h"
#include "services/service.h"
#include "store/store.h"

/* Who a report covers.  A distributor with more resellers than this is
 * refused (RD_ETOOBIG) rather than shown a part of its channel. */
#define RD_REP_MAX_PARTNERS 1024
struct rd_rep_scope {
	uint64_t vendor;
	bool channel;          /* held to partners[] */
	uint64_t partners[RD_REP_MAX_PARTNERS]; /* the partner and, for a distributor, its resellers; sorted */
	unsigned n_partners;
	uint64_t sales_user;   /* 0: any sales person; else that user's contracts only */
};

/* The scope of an actor with role (enum rd_role): as above.  Reads the
 * partners (a distributor's resellers); RD_ETOOBIG past RD_REP_MAX_PARTNERS. */
int rd_reports_scope(struct rd_txn *t, struct rd_domain *d, const struct rd_actor *a, uint8_t role,
		     struct rd_rep_scope *out);

/* What to group by (the drill-down's levels and the rankings). */
enum rd_rep_by {
	RD_REP_BY_LINE = 1,
	RD_REP_BY_PRODUCT,
	RD_REP_BY_CONTRACT,
	RD_REP_BY_CUSTOMER,
	RD_REP_BY_RESELLER,
	RD_REP_BY_DISTRIBUTOR,
	RD_REP_BY_SALES,
};
/* "line", "product", ...; 0 when unknown. */
int rd_rep_by_parse(const char *s);
const char *rd_rep_by_name(int by);

/* Which contracts a drill-down looks at; empty members: no filter. */
struct rd_rep_filter {
	char line[64];      /* a product line */
	uint64_t product;   /* a product */
	uint64_t customer;  /* a customer */
	uint64_t contract;  /* one contract (by contract only) */
};

/* The figures' dates: contracts ending in the 12 calendar months that end
 * with today's month make up the period (rates, renewed value,
 * cancellations); "due" windows count from today. */
struct rd_rep_opts {
	rd_date today;      /* 0: the business clock's */
	unsigned limit;     /* rankings: rows per side; drill-down: rows; 0: 10 and 500 */
	char currency[4];   /* rankings: that currency only; "": every currency */
};

/* The dashboard: JSON {"report":"dashboard","today","period":{from,to},
 * "contracts": n, "tables":{name:{"title","columns":[{name,kind,label}],
 * "rows":[[...]]}}}.  Tables: due, rate, months, quarters, cancellations,
 * lost_reasons, mrr, publish, channel, pipeline.  *out is a new reference. */
int rd_reports_dashboard(struct rd_txn *t, struct rd_domain *d, const struct rd_rep_scope *s,
			 const struct rd_rep_opts *o, json_t **out, struct rd_serr *e);
/* The same figures by a walk of the report keys (the vendor's dashboard
 * above reads the counters instead; a partner's or a sales person's always
 * walks): the reference renewctl check and the tests compare the counters'
 * dashboard with.  Not on any request path. */
int rd_reports_dashboard_walk(struct rd_txn *t, struct rd_domain *d, const struct rd_rep_scope *s,
			      const struct rd_rep_opts *o, json_t **out, struct rd_serr *e);
/* Compares the counters' dashboard of every vendor with the walk's, for
 * the given day (0: the business clock's); reports each vendor whose
 * figures differ.  Returns the problems or < 0. */
int rd_reports_check(struct rd_store *store, struct rd_domain *d, rd_date today,
		     void (*report)(const char *problem, void *arg), void *arg);

/* One drill-down level: the figures grouped by `by` over the contracts f
 * selects: table "rows" (and "totals": the same figures per currency).
 * Contract rows also carry the end, status and outcome.  RD_ENOTFOUND (a
 * product or customer outside the scope or unknown), RD_EINVAL. */
int rd_reports_drill(struct rd_txn *t, struct rd_domain *d, const struct rd_rep_scope *s, int by,
		     const struct rd_rep_filter *f, const struct rd_rep_opts *o, json_t **out, struct rd_serr *e);

/* The same by a walk of the report keys over every contract (the levels
 * above read the counters, or keep a page of a list, or join a
 * customer's contracts one by one): the reference, not on any request
 * path. */
int rd_reports_drill_walk(struct rd_txn *t, struct rd_domain *d, const struct rd_rep_scope *s, int by,
			  const struct rd_rep_filter *f, const struct rd_rep_opts *o, json_t **out, struct rd_serr *e);

/* The vendor's list of a whole line's contracts reads the contracts' end
 * index (reports.c "a whole line's contract list") when the reads it
 * would take, each weighed as this many keys of a walk, are fewer than
 * the line's keys; 0 takes it whenever it can (a setting for tests).
 * rd_reports_line_plans counts the lists it answered (for tests). */
extern unsigned rd_reports_lookup_keys;
extern unsigned long rd_reports_line_plans;
/* The vendor's customer levels answered by ranking the keys without the
 * joins and walking the page's customers only (reports.c; for tests). */
extern unsigned long rd_reports_customer_pages;

/* Rankings: customers, resellers, distributors or sales people, per
 * currency, best and worst by renewed value (table "by_value") and by
 * renewal rate by value (table "by_rate"). */
int rd_reports_rankings(struct rd_txn *t, struct rd_domain *d, const struct rd_rep_scope *s, int by,
			const struct rd_rep_opts *o, json_t **out, struct rd_serr *e);
/* The same by the walk (the rankings by partner and sales person read the
 * channel's counters): the reference, not on any request path. */
int rd_reports_rankings_walk(struct rd_txn *t, struct rd_domain *d, const struct rd_rep_scope *s, int by,
			     const struct rd_rep_opts *o, json_t **out, struct rd_serr *e);

/* The programmes: deal registrations by currency and state (table
 * "deal_states": count and expected value) and lead quality by source
 * ("lead_sources": leads, accepted, won, lost, returned, not yet accepted,
 * conversion = won of all; "lead_value": the value won per currency).  A
 * partner sees its channel's registrations and the leads it accepted; a
 * sales person the registrations they made and the leads they accepted. */
int rd_reports_programme(struct rd_txn *t, struct rd_domain *d, const struct rd_rep_scope *s,
			 const struct rd_rep_opts *o, json_t **out, struct rd_serr *e);

/* Partner scorecards: per partner, against the programme (every partner of
 * the vendor): table "cards" (publish decisions made and the mean hours to
 * decide, pullbacks and their share, leads accepted and the mean hours from
 * arrival to acceptance, registrations won, lost, expired; the programme's
 * counts are means per partner, its hours and shares pooled) and "rates"
 * (the renewal rate split over the period and the commission earned in it,
 * per currency: a reseller's over the contracts it resells, a
 * distributor's over its channel; the programme's over every contract, its
 * commission the mean per partner).  A partner sees its own cards (a
 * distributor's and its resellers') and the programme's row. */
int rd_reports_scorecards(struct rd_txn *t, struct rd_domain *d, const struct rd_rep_scope *s,
			  const struct rd_rep_opts *o, json_t **out, struct rd_serr *e);

/* One spreadsheet-safe CSV cell appended to buf (jansson-free: a growing
 * buffer the caller frees): quoted when it holds a comma, quote, CR or LF;
 * a cell starting with = + - @ TAB or CR is prefixed with ' so that a
 * spreadsheet reads it as text, never as a formula. */
struct rd_rep_buf {
	char *p;
	size_t len, cap;
};
void rd_rep_buf_add(struct rd_rep_buf *b, const char *s, size_t n);
void rd_rep_csv_cell(struct rd_rep_buf *b, const char *s);
/* A report table (as the functions above give it) as CSV, a piece at a
 * time: a header line of column names, then the rows, money as plain
 * decimals, rates as percentages with two decimals.  begin: RD_ENOTFOUND
 * when the report has no such table (the report must outlive the cursor);
 * next appends rows to out until it holds max_bytes, and answers whether
 * rows remain. */
struct rd_rep_csv {
	json_t *cols, *rows; /* borrowed from the report */
	size_t row, cur_col;
	bool head_done;
};
int rd_rep_csv_begin(struct rd_rep_csv *c, json_t *report, const char *table);
bool rd_rep_csv_next(struct rd_rep_csv *c, struct rd_rep_buf *out, size_t max_bytes);

/* Fills the report indexes of a store that holds records written before
 * they existed (once; a meta key remembers it).  Called at start. */
int rd_reports_prepare(struct rd_store *store, struct rd_domain *d);
/* The counters alone, cleared and counted from the records (what
 * renewctl migrate-store does to its target; nothing else is written). */
int rd_reports_count(struct rd_store *store, struct rd_domain *d);

#endif
