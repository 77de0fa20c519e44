/*
 * model.h: the channel's nouns as C structs, and their stored encoding.
 *
 * Each entity has a field table (struct rd_field) that drives three things
 * at once: the binary record (core/store/record.h), the JSON at the HTTP
 * edge, and input validation of types and lengths.  Adding a field is one
 * row; its number is never reused.  Money is an integer count of minor units
 * with an ISO 4217 code; dates are rd_date; rates are basis points.
 */
#ifndef RD_DOMAIN_MODEL_H
#define RD_DOMAIN_MODEL_H

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "domain/date.h"
#include "domain/quote.h"

struct rd_store;
struct rd_table;
struct rd_txn;

enum rd_kind {
	RD_KIND_VENDOR = 1,
	RD_KIND_PARTNER = 2,
	RD_KIND_CUSTOMER = 3,
	RD_KIND_PRODUCT = 4,
	RD_KIND_CONTRACT = 5,
	RD_KIND_USER = 6,
	RD_KIND_TOKEN = 7,
	RD_KIND_CONTACT = 8,
	RD_KIND_AUDIT = 9,
	RD_KIND_IMPORT = 10,
	RD_KIND_POLICY = 11,
	RD_KIND_PLUGIN_KV = 12,
	RD_KIND_ENABLEMENT = 13,
	RD_KIND_OPPORTUNITY = 14,
	RD_KIND_ACTION = 15,
	RD_KIND_MESSAGE = 16,
	RD_KIND_TASK = 17,
	RD_KIND_LINK = 18,
	RD_KIND_ORDER = 19,
	RD_KIND_DOCUMENT = 30,
	RD_KIND_COMMISSION = 20,
	RD_KIND_STATEMENT = 21,
	RD_KIND_DEAL = 40,
	RD_KIND_LEAD = 42,
	RD_KIND_LEAD_ASSIGNMENT = 43,
	RD_KIND_HOOK_SUB = 60,
	RD_KIND_HOOK_DELIVERY = 61,
	RD_KIND_HOOK_INBOX = 62,
	RD_KIND_FEED_REVIEW = 50,
	RD_KIND_OPERATOR_TOKEN = 90, /* the platform operator's tokens (services/vendors.c) */
};

#define RD_NAME_MAX 128
#define RD_EXT_MAX 64

struct rd_vendor {
	uint64_t id; /* also the tenant of everything the vendor owns */
	char name[RD_NAME_MAX];
	char slug[RD_EXT_MAX];
	char currency[4];
	uint32_t renewal_window_days;  /* quotes this many days before the end; 90 */
	uint32_t decision_window_days; /* the partner decides within; 14 */
	uint8_t publish_default;       /* enum rd_publish, applied on no decision */
	uint32_t max_seats;            /* eligibility: contracts up to this many seats; 0: any */
	uint32_t statement_day;        /* commission statements by this day of the month; 20 */
	/* Policy settings and the versions in force (policies are Lua, per vendor). */
	uint32_t deal_bonus_bp;        /* extra reseller margin for a won deal registration */
	uint32_t distributor_bp;       /* the distributor of record's share */
	uint32_t policy_memory_kb;     /* the vendor's Lua memory cap; 0: 16384 */
	uint32_t policy_instructions;  /* per call; 0: 1,000,000 */
	uint32_t margin_version, routing_version; /* active; set by activation only */
	char notify_email[RD_NAME_MAX]; /* the vendor's renewals team: pullbacks, customer requests */
	char reminder_days[64];         /* cadence, days before the end: "60 30 14 7 0 -7" */
	char portal_url[RD_NAME_MAX];   /* base of links in e-mails; "": the daemon's own address */
	uint32_t max_discount_bp;       /* the largest discount a sales person may give; see max_discount_set */
	uint32_t max_discount_set;      /* 1: max_discount_bp was chosen; 0: the default applies */
	uint64_t sales_user_id;         /* the vendor's sales person for publish-vendor quotes (a vendor user);
					 * 0: the sales notice goes to notify_email */
	/* Deal registration (services/deals.c); 0: the default. */
	uint32_t deal_expiry_days;      /* an approval's time frame; 0: 90 */
	uint32_t deal_extension_limit;  /* extensions an approved registration may get; 0: 1 */
	uint32_t deal_response_hours;   /* the promise in the acknowledgement; 0: 48 */
	uint32_t deal_extension_days;   /* one extension's days; 0: 30 */
	/* Lead distribution (core/services/leads.c): */
	uint32_t lead_reroute_limit;    /* routings of one lead before it is returned; 0: 3 */
	uint32_t lead_form_min_seconds; /* the web-to-lead form is refused when sent sooner; 0: 3 */
	uint32_t lead_form_per_hour;    /* web-to-lead submissions per client address per hour; 0: 10 */
	uint32_t lead_form_enabled;     /* 1: the vendor's public web-to-lead form is open */
	/* Partner feeds: which source owns which contract field,
	 * "field=source;..." over the default (docs/connectors.md). */
	char feed_precedence[512];
	/* Set by the platform operator (services/vendors.c): a suspended
	 * vendor's users, tokens, sessions and customer links are refused. */
	uint32_t suspended;             /* 1: suspended */
	uint64_t suspended_at;          /* unix seconds */
	char suspended_reason[RD_NAME_MAX];
};

#define RD_DEAL_EXPIRY_DAYS 90
#define RD_DEAL_EXTENSION_LIMIT 1
#define RD_DEAL_RESPONSE_HOURS 48
#define RD_DEAL_EXTENSION_DAYS 30

/* The discount bound in force: the vendor's choice, else 1000 (10 %). */
#define RD_DEFAULT_MAX_DISCOUNT_BP 1000
uint32_t rd_vendor_max_discount(const struct rd_vendor *v);

enum rd_publish { RD_PUBLISH_VENDOR = 1, RD_PUBLISH_PARTNER = 2 };
enum rd_partner_kind { RD_PARTNER_DISTRIBUTOR = 1, RD_PARTNER_RESELLER = 2 };
enum rd_tier { RD_TIER_PLATINUM = 1, RD_TIER_GOLD = 2, RD_TIER_SILVER = 3, RD_TIER_VENDOR = 4 };

struct rd_partner {
	uint64_t id;
	char external_id[RD_EXT_MAX];
	char name[RD_NAME_MAX];
	uint8_t kind;       /* enum rd_partner_kind */
	uint8_t tier;       /* enum rd_tier */
	uint64_t parent_id; /* a reseller's distributor; 0: none */
	char email[RD_NAME_MAX];     /* who receives its notifications */
	char phone[40];
	char logo_url[256];
	char colour_primary[8];      /* #rrggbb */
	char colour_accent[8];
	char contact_block[512];     /* shown on every customer page and e-mail */
	uint32_t opt_out_notices;    /* 1: renewd sends no customer notices for its opportunities */
	uint64_t sales_user_id;      /* its sales contact for the quotes it sells (one of its users); 0: its email */
	/* What lead routing sees of it (core/services/leads.c): */
	char lead_regions[256];      /* regions and countries it covers, space-separated: "GB london" */
	char lead_products[256];     /* products it specialises in (SKUs or lines), space-separated */
	uint32_t lead_weight;        /* its share of leads relative to others; 0: 1 */
	/* Partner feeds: its column layout, kept by the vendor:
	 * "Its Column=renewd_column;..." (docs/connectors.md). */
	char feed_mapping[1024];
	uint32_t feed_drop;          /* 1: connector-csv watches its drop folder (set by the vendor) */
};

struct rd_customer {
	uint64_t id;
	char external_id[RD_EXT_MAX];
	char name[RD_NAME_MAX];
	char email[RD_NAME_MAX];
	char phone[40];
	char address_line1[RD_NAME_MAX];
	char address_line2[RD_NAME_MAX];
	char city[64];
	char region[64];
	char postcode[16];
	char country[3];  /* ISO 3166-1 alpha-2 */
	char segment[32]; /* smb, mid-market, enterprise, ... */
};

enum rd_term { RD_TERM_ANNUAL = 1, RD_TERM_QUARTERLY = 2, RD_TERM_MONTHLY = 3, RD_TERM_FLEX = 4 };

#define RD_MAX_PRICES 8
#define RD_MAX_RELATED 8
struct rd_price {
	char currency[4];
	uint8_t term; /* enum rd_term */
	int64_t amount; /* minor units per seat per term */
};

struct rd_product {
	uint64_t id;
	char external_id[RD_EXT_MAX]; /* the SKU */
	char name[RD_NAME_MAX];
	char line[64];                /* product line */
	uint8_t n_prices;
	struct rd_price prices[RD_MAX_PRICES];
	uint8_t n_upsell, n_crosssell;
	uint64_t upsell[RD_MAX_RELATED];
	uint64_t crosssell[RD_MAX_RELATED];
};

enum rd_contract_status { RD_CONTRACT_LIVE = 1, RD_CONTRACT_RENEWED = 2, RD_CONTRACT_CANCELLED = 3, RD_CONTRACT_EXPIRED = 4,
			  /* past its end, covered: its renewal is ordered and the order awaits payment (the sweep) */
			  RD_CONTRACT_ORDERED = 5 };
enum rd_contract_flag { RD_FLAG_WARRANTY_ONLY = 1, RD_FLAG_CONSOLIDATED = 2 };
enum rd_colour { RD_RED = 1, RD_AMBER = 2, RD_GREEN = 3, RD_BLACK = 4, RD_BLUE = 5 /* renewal ordered */ };

struct rd_contract {
	uint64_t id;
	char external_id[RD_EXT_MAX];
	uint64_t customer_id, product_id, reseller_id, distributor_id;
	uint32_t quantity;
	rd_date start, end; /* end is the last day covered */
	uint8_t term;       /* enum rd_term */
	char currency[4];
	uint8_t status;     /* enum rd_contract_status */
	uint8_t flags;      /* enum rd_contract_flag bits */
	uint32_t quoted;    /* the renewal engine's: 0 not yet, RD_QUOTED_* (never from input) */
	/* Partner feeds (services/imports.c): which sources described it and
	 * when each last sent it (never from input). */
	uint8_t feed_sources;                 /* enum rd_feed_source bits */
	uint64_t received_vendor, received_distributor, received_reseller; /* unix seconds; 0: never */
	/* A serial number or licence key naming the contract outside renewd
	 * (feeds match by it: services/imports.c); "": none. */
	char licence_key[RD_EXT_MAX];
};

/* Where a contract feed came from. */
enum rd_feed_source { RD_FEED_VENDOR = 1, RD_FEED_DISTRIBUTOR = 2, RD_FEED_RESELLER = 4 };

enum { RD_QUOTED_YES = 1, RD_QUOTED_INELIGIBLE = 2 };

/* A login, scoped to the vendor or to one partner. */
struct rd_user {
	uint64_t id;
	char email[RD_NAME_MAX]; /* unique within the vendor, stored lower-case */
	char name[RD_NAME_MAX];
	uint8_t role;            /* enum rd_role (auth/auth.h) */
	uint64_t partner_id;     /* partner roles: the partner; else 0 */
	char password_hash[128]; /* argon2id; never leaves the store */
	uint32_t disabled;       /* 1: may not log in or use tokens */
	uint64_t created_at;     /* unix seconds */
};

enum rd_token_kind { RD_TOKEN_API = 1, RD_TOKEN_SESSION = 2, RD_TOKEN_CUSTOMER = 3 };

/* An API token or a login session; tenant 0, found by the hash of the
 * secret, which itself is never stored. */
struct rd_token {
	uint64_t id;
	char hash[65];
	uint64_t vendor_id, user_id;
	char name[RD_NAME_MAX];
	uint8_t kind;       /* enum rd_token_kind */
	uint64_t created_at, expires_at; /* unix seconds; expires 0: never */
	uint64_t revoked_at;
	uint64_t customer_id, opportunity_id; /* customer sessions (from a link): the one customer */
	uint64_t link_id;
};

/* A platform operator's API token (outside every vendor): tenant 0, found
 * by the hash of its secret ("hash" index); made by renewctl operator
 * token create, used on /api/v1/operator/ (docs/security.md). */
struct rd_operator_token {
	uint64_t id;
	char hash[65];
	char name[RD_NAME_MAX];
	uint64_t created_at, revoked_at; /* unix seconds */
};

/* A person at a customer. */
struct rd_contact {
	uint64_t id;
	char external_id[RD_EXT_MAX];
	uint64_t customer_id;
	char name[RD_NAME_MAX];
	char email[RD_NAME_MAX];
	char phone[40];
	char title[64];
};

enum rd_audit_action {
	RD_AUDIT_CREATE = 1,
	RD_AUDIT_UPDATE = 2,
	RD_AUDIT_DELETE = 3,
	RD_AUDIT_MERGE = 4,
	RD_AUDIT_IMPORT = 5,
	RD_AUDIT_LOGIN = 6,
	RD_AUDIT_REVOKE = 7,
	RD_AUDIT_ACCESS = 8, /* a customer link, or the session it opened, was used (object "links") */
};

/* Who changed what, when, from what to what. */
struct rd_audit {
	uint64_t id;
	uint64_t at_ms;      /* unix milliseconds */
	uint64_t user_id;    /* 0: renewd itself or the operator's CLI */
	uint8_t action;      /* enum rd_audit_action */
	char object[32];     /* the resource: "contracts", "users", ... */
	uint64_t object_id;
	char before[4096];   /* JSON of the record before (empty: none) */
	char after[4096];    /* JSON after (empty: none) */
	char note[256];
};

enum rd_import_status { RD_IMPORT_RUNNING = 1, RD_IMPORT_SUCCEEDED = 2, RD_IMPORT_FAILED = 3 };

/* One import of a file: what it was asked to do and what came of it. */
struct rd_import_rec {
	uint64_t id;
	char kind[16];        /* customers, contacts, products, contracts */
	char format[8];       /* csv, jsonl */
	uint8_t status;       /* enum rd_import_status */
	uint32_t dry_run, atomic;
	uint64_t user_id;
	uint64_t bytes, rows, rows_ok, rows_failed, created, updated;
	uint64_t started_at, finished_at;
	char message[256];
	char errors[8192];    /* JSON array of {row, column, message}, the first 100 */
	/* Partner feeds: */
	uint8_t source;       /* enum rd_feed_source; 0: a plain import */
	uint64_t partner_id;  /* the sending partner; 0: the vendor */
	uint64_t unchanged;   /* rows that matched the store exactly */
	uint64_t queued;      /* values held for review (feed_reviews) */
};

enum rd_policy_status { RD_POLICY_READY = 1, RD_POLICY_ACTIVE = 2, RD_POLICY_RETIRED = 3 };

/* One uploaded version of a vendor's policy script. */
struct rd_policy_rec {
	uint64_t id;
	char kind[16];          /* margin, routing */
	uint32_t version;       /* 1, 2, ... per kind */
	uint8_t status;         /* enum rd_policy_status */
	uint64_t user_id;
	uint64_t created_at, activated_at;
	char note[256];
	char source[65536];
	char vectors[65536];    /* JSON */
	uint32_t vectors_passed;
};

/* A plugin's private value (host->kv_put); tenant: the vendor, 0 global. */
struct rd_plugin_kv {
	uint64_t id;
	char plugin[64];
	char key[129];
	uint32_t len;
	uint8_t value[65536];
};

/* A plugin enabled for a vendor (partner_id 0) or for one partner. */
struct rd_enablement {
	uint64_t id;
	char plugin[64];
	uint64_t partner_id;
	char config[16384];  /* JSON, as the plugin validated it */
	uint64_t user_id;
	uint64_t enabled_at;
};

enum rd_opp_state {
	RD_OPP_PENDING_DECISION = 1,
	RD_OPP_PUBLISHED_PARTNER = 2,
	RD_OPP_PUBLISHED_VENDOR = 3,
	RD_OPP_ACCEPTED = 4,
	RD_OPP_WON = 5,
	RD_OPP_LOST = 6,
	RD_OPP_EXPIRED = 7,
};

/* A renewal opportunity and its quote: created when a contract enters the
 * renewal window. */
struct rd_opportunity {
	uint64_t id;
	char number[24];          /* the human quote number, Q-2026-000123 */
	uint64_t contract_id, customer_id, product_id, reseller_id, distributor_id;
	uint8_t state;            /* enum rd_opp_state */
	uint8_t publish;          /* enum rd_publish once decided; 0 before */
	uint32_t decided_by_default; /* 1: the decision window passed (pullback) */
	rd_date contract_end, decision_by, valid_until;
	char currency[4];
	int64_t list_total;       /* the renewal line at list price, minor units */
	int64_t net_total;        /* list less the channel's shares */
	uint32_t policy_version;  /* the margin policy version that priced it */
	uint32_t attention;       /* 1: could not be priced: a person must look */
	char attention_reason[256];
	uint8_t n_lines;          /* the quote: the renewal line, then optional up/cross-sell lines */
	struct rd_quote_line lines[RD_QUOTE_MAX_LINES]; /* domain/quote.h; the first n_lines are valid */
	uint64_t created_at;
	uint64_t lost_reason_set;
	char lost_reason[128];
	uint32_t discount_bp;     /* the sales person's discount on the quote's total, basis points */
	char notes[4096];         /* JSON: [{at, user_id, text}], the sales notes, oldest dropped first */
	uint64_t decided_at;      /* when the publish mode was decided (rd_publish); 0 before */
};

/* An action the scheduler took, by its idempotency key ("quote:12",
 * "reminder:30:12", "digest:3:2027-W05"), written with its effect. */
struct rd_sched_action {
	uint64_t id;
	char key[96];
	uint64_t at;              /* the platform clock when it was taken */
	rd_date day;              /* the day swept */
};

enum rd_msg_state { RD_MSG_QUEUED = 1, RD_MSG_SENT = 2, RD_MSG_DEAD = 3 };

/* A message in the outbox, written in the transaction of its cause. */
struct rd_message {
	uint64_t id;
	char kind[24];            /* quote_notice, pullback, customer_notice, reminder, digest, task */
	char to[RD_NAME_MAX];
	char subject[256];
	char text[8192];          /* text and html: contiguous and followed by state (notify.c */
	char html[16384];         /* zeroes all but these two) */
	uint8_t state;            /* enum rd_msg_state */
	uint32_t attempts;
	uint64_t next_at;         /* queued: when to try (real time) */
	char last_error[256];
	uint64_t created_at, sent_at;
	char ref[96];             /* the action key that caused it */
	uint64_t opportunity_id, partner_id, customer_id;
	/* Rendered at send time (notify.c, docs/performance.md): text and html
	 * are empty and the message holds the parameters its templates read
	 * (a JSON object) and the version of the pack's templates it was queued
	 * with (their sources are kept in the store's meta under tmpl:VERSION).
	 * Empty template: stored rendered (the format before, still read). */
	char template_version[40];
	char params[8192];
};

enum rd_task_kind { RD_TASK_CALLBACK = 1, RD_TASK_CONTACT_RESELLER = 2, RD_TASK_REPLY = 3 };

/* Something a person must do: a customer asked to be called back, ... */
struct rd_task {
	uint64_t id;
	uint8_t kind;             /* enum rd_task_kind */
	uint64_t opportunity_id, customer_id, partner_id; /* partner_id: the partner whose people act; 0: the vendor's */
	char message[2048];
	uint8_t done;
	uint64_t created_at;
	uint64_t assigned_to;     /* the user who handles it; 0: nobody yet (core/services/tasks.c) */
	uint64_t done_at, done_by; /* when and by whom it was closed */
	rd_date due_on;           /* when it is to be done; 0: no date (core/services/tasks.c) */
};

/* A customer's secure link: tenant 0, found by the hash of its token. */
struct rd_link {
	uint64_t id;
	char hash[65];
	uint64_t vendor_id, customer_id, opportunity_id;
	uint64_t expires_at, revoked_at;
};

enum rd_order_state {
	RD_ORDER_CREATED = 1,          /* recorded; the payment plugin has not answered yet */
	RD_ORDER_AWAITING_PAYMENT = 2, /* authorised on terms (PO, Bill Me Later): paid when recorded */
	RD_ORDER_PAID = 3,
	RD_ORDER_FAILED = 4,           /* the payment option declined it */
	RD_ORDER_CANCELLED = 5,
	RD_ORDER_FULFILLED = 6,        /* the renewed term is a new contract */
	RD_ORDER_REFUNDED = 7,
};

/* An order for an accepted quote (core/api/orders.c).  One live order per
 * opportunity; one order per idempotency key and vendor. */
struct rd_order {
	uint64_t id;
	char number[24];             /* O-2027-000123 */
	uint64_t opportunity_id, contract_id, customer_id, reseller_id, distributor_id;
	uint8_t publish;             /* enum rd_publish of the opportunity */
	char payment_plugin[64];     /* the plugin that offers the option */
	char payment_option[32];     /* purchase_order, bill_me_later, ... */
	char po_number[64];
	char currency[4];
	int64_t total;               /* minor units: the accepted lines less the discount */
	uint8_t state;               /* enum rd_order_state */
	rd_date due_date;            /* Bill Me Later: order day + terms_days; else 0 */
	char idempotency_key[128];   /* unique per vendor */
	char fingerprint[256];       /* what was asked under the key: a replay must ask the same */
	uint64_t created_at, paid_at, fulfilled_at;
	uint64_t new_contract_id;
	char payment_ref[128];       /* the plugin's reference */
	char payment_message[256];   /* the plugin's words for people */
	char paid_reference[128];    /* the reference the payment was recorded with */
	int64_t paid_amount;
	uint64_t user_id;            /* who placed it; 0: the customer in the portal */
	/* The quote as ordered, frozen at placement (rd_quote_select): what the
	 * order charges, fulfils and commissions, and what its PDF prints. */
	uint32_t discount_bp;        /* the quote's discount when ordered */
	uint8_t n_lines;
	struct rd_quote_line lines[RD_QUOTE_MAX_LINES]; /* the first n_lines are valid */
	/* The billing details the order was placed with (services/checkout.c):
	 * the purchase page's, else the customer record's at placement. */
	char billing_company[RD_NAME_MAX];
	char billing_address1[RD_NAME_MAX];
	char billing_address2[RD_NAME_MAX];
	char billing_city[64];
	char billing_postcode[16];
	char billing_country[3];
	char billing_email[RD_NAME_MAX];
	char invoice_number[32];     /* INV-000042: per vendor, sequential, never reused; "" until invoiced */
	char checkout_url[512];      /* a hosted card payment: the gateway's page the customer pays on */
	/* The distributor's EDI connector (services/edi.c, docs/connectors.md). */
	char edi_status[16];         /* "" | queued | retrying | sent | failed | accepted | rejected | acknowledged | invoiced */
	char edi_control[16];        /* the interchange control number of the 850 */
	char edi_ack[4];             /* BAK02 of the distributor's 855: AC, AD, AE, AK, RD, RJ */
	char edi_invoice[32];        /* the distributor's invoice number (810 BIG02) */
	int64_t invoiced_amount;     /* minor units: the 810's TDS01 total */
	uint32_t edi_attempts;       /* failed writes of the order document (retried with backoff) */
	char edi_error[200];         /* why the last write failed; "" once sent */
};

enum rd_commission_kind {
	RD_COMMISSION_EARNED = 1,   /* publish-vendor: the party's share, paid on its statement */
	RD_COMMISSION_RETAINED = 2, /* publish-partner: the margin the partner kept (reporting only) */
	RD_COMMISSION_REVERSAL = 3, /* a refund's reversal of an earned entry: negative amount */
};
/* One channel party's share of one paid order (core/api/commissions.c):
 * at most one per order, kind and party (index "order"). */
struct rd_commission {
	uint64_t id;
	uint64_t partner_id, order_id, opportunity_id;
	char party[16];              /* reseller, distributor, referral: the margin policy's party */
	uint8_t kind;                /* enum rd_commission_kind */
	uint32_t bp;                 /* the renewal line's share in basis points */
	int64_t amount;              /* minor units: the shares of the ordered lines; negative for a reversal */
	char currency[4];
	char month[8];               /* YYYY-MM of the payment: the statement it belongs to */
	char order_number[24];
	uint64_t created_at;
};
/* A partner's monthly commission statement (issued by the daily sweep). */
struct rd_statement {
	uint64_t id;
	uint64_t partner_id;
	char month[8];               /* YYYY-MM the statement covers */
	char number[32];             /* ST-2027-01-000003 */
	uint32_t lines;              /* commission entries on it */
	char totals[1024];           /* JSON [{currency, amount, lines}] */
	rd_date issued_on;
	uint64_t issued_at;
};

/* Derived colour: red = expired and not renewed; amber = live and ending
 * within the renewal window; green = live; black = cancelled. */
enum rd_colour rd_contract_colour(const struct rd_contract *c, rd_date today, uint32_t window_days);
const char *rd_colour_name(enum rd_colour c);

/* ---- encoding (field tables) ---------------------------------------------- */

enum rd_ftype { RD_F_U64, RD_F_U32, RD_F_I32DATE, RD_F_U8ENUM, RD_F_U8FLAGS, RD_F_STR, RD_F_PRICES, RD_F_IDS, RD_F_TIME,
	       RD_F_BYTES, /* a byte array; count_off: its uint32_t length; always private */
	       RD_F_QUOTE, /* struct rd_quote_line[]; count_off: its uint8_t count; one record per line (domain/quote.h) */
	       RD_F_QUOTE_JSON /* read only: the same lines as the JSON text stores held before; never written */ };

enum rd_field_flag {
	RD_FF_PRIVATE = 1,  /* never shown in JSON */
	RD_FF_READONLY = 2, /* set by renewd, refused in input */
};

struct rd_field {
	uint32_t no;         /* record field number: never reused */
	enum rd_ftype type;
	size_t off, size;    /* offset and size of the member */
	const char *json;    /* JSON name */
	const char *const *names; /* RD_F_U8ENUM / RD_F_U8FLAGS: value names, [0] unused */
	size_t count_off;    /* RD_F_PRICES / RD_F_IDS: offset of the uint8_t count */
	unsigned flags;      /* enum rd_field_flag */
};

struct rd_entity {
	const char *name;      /* "contract" */
	const char *table;     /* "contracts" */
	uint8_t kind;
	uint16_t version;      /* layout version written now */
	size_t size;           /* sizeof the struct */
	const struct rd_field *fields;
	size_t n_fields;
};

extern const struct rd_entity rd_entity_vendor, rd_entity_partner, rd_entity_customer, rd_entity_product,
	rd_entity_contract, rd_entity_user, rd_entity_token, rd_entity_contact, rd_entity_audit, rd_entity_import, rd_entity_policy, rd_entity_plugin_kv, rd_entity_enablement, rd_entity_opportunity,
	rd_entity_action, rd_entity_message, rd_entity_task, rd_entity_link, rd_entity_order, rd_entity_document,
	rd_entity_commission, rd_entity_statement, rd_entity_deal, rd_entity_lead,
	rd_entity_lead_assignment, rd_entity_hook_sub, rd_entity_hook_delivery, rd_entity_hook_inbox, rd_entity_feed_review,
	rd_entity_operator_token;

enum rd_review_state { RD_REVIEW_OPEN = 1, RD_REVIEW_KEPT = 2, RD_REVIEW_TAKEN = 3 };

/* A feed's value for a contract field that another source owns and that
 * differs from the stored one: held for a person to decide. */
struct rd_feed_review {
	uint64_t id;
	uint64_t contract_id;
	char field[32];       /* the contract's JSON field */
	char current[128];    /* the stored value when it was queued, as text */
	char proposed[128];   /* the feed's value, as text */
	uint8_t owner;        /* enum rd_feed_source: who owns the field */
	uint8_t source;       /* enum rd_feed_source: who proposed it */
	uint64_t import_id, partner_id;
	uint8_t state;        /* enum rd_review_state */
	uint64_t created_at, decided_at, decided_by;
};

/* Struct -> record bytes in a writer (owned by the caller). */
struct rd_rec_writer;
void rd_entity_encode(const struct rd_entity *e, const void *obj, struct rd_rec_writer *w);
/* Record bytes -> struct (zeroed first).  RD_ECORRUPT, RD_EVERSION, RD_EINVAL. */
int rd_entity_decode(const struct rd_entity *e, const void *rec, size_t len, void *obj);
/* Struct -> JSON object (new reference). */
json_t *rd_entity_to_json(const struct rd_entity *e, const void *obj);
/* JSON object -> struct fields present in j (others untouched).  Unknown
 * fields, wrong types, bad enum names, over-long strings and bad dates fail
 * with RD_EINVAL and the JSON name in *bad_field; "id" is read-only. */
int rd_entity_from_json(const struct rd_entity *e, json_t *j, void *obj, const char **bad_field, char *why,
			size_t whylen);

/* Sets one field from text, as a CSV cell gives it: numbers in decimal,
 * dates YYYY-MM-DD, enums by name, flags as names separated by ';'.
 * Returns 0, RD_ENOTFOUND when the entity has no such (writable, text-
 * settable) field, or RD_EINVAL with the reason in why. */
int rd_entity_set_text(const struct rd_entity *e, void *obj, const char *name, const char *text, char *why,
		       size_t whylen);
/* The same for a field found once (rd_entity_field: by JSON name, NULL when
 * none), as an import resolves its columns at the header. */
const struct rd_field *rd_entity_field(const struct rd_entity *e, const char *name);
int rd_field_set_text(const struct rd_field *f, void *obj, const char *text, char *why, size_t whylen);

/* ---- tables ------------------------------------------------------------------ */

/* A file about a contract (the contract itself, a certificate, an invoice):
 * the record holds what it is; its bytes are in document_data under the
 * same id, read only when someone downloads it. */
enum rd_document_kind { RD_DOC_CONTRACT = 1, RD_DOC_CERTIFICATE = 2, RD_DOC_INVOICE = 3, RD_DOC_OTHER = 4 };

struct rd_document {
	uint64_t id;
	uint64_t contract_id, customer_id; /* customer_id: the contract's, when uploaded */
	uint8_t kind;                      /* enum rd_document_kind */
	char name[128];                    /* the file name shown and offered on download */
	char content_type[64];
	uint32_t size;                     /* bytes */
	char sha256[65];                   /* hex */
	uint64_t created_at, user_id;
};

enum rd_deal_state {
	RD_DEALREG_SUBMITTED = 1,
	RD_DEALREG_APPROVED = 2, /* with an expiry */
	RD_DEALREG_REJECTED = 3, /* with a reason */
	RD_DEALREG_WON = 4,      /* with proof of performance (a document) */
	RD_DEALREG_LOST = 5,     /* with a reason */
	RD_DEALREG_EXPIRED = 6,  /* the approval's time frame passed (the sweep) */
};

#define RD_DEAL_MAX_PRODUCTS 8

/* A partner's deal registration (services/deals.c): a deal it sourced, for
 * one customer and one product line. */
struct rd_dealreg {
	uint64_t id;
	uint64_t partner_id, customer_id;
	uint8_t n_products;
	uint64_t products[RD_DEAL_MAX_PRODUCTS]; /* products of interest, of one line */
	char product_line[64];     /* theirs */
	uint32_t seats;
	int64_t expected_value;    /* minor units of currency */
	char currency[4];
	rd_date close_date;        /* expected */
	char situation[512];       /* the customer's current situation */
	char notes[2048];
	uint8_t state;             /* enum rd_deal_state */
	rd_date expires_on;        /* approved: the last day it holds */
	uint32_t extensions;       /* extensions granted */
	uint64_t previous_id;      /* a resubmission: the registration it follows */
	uint64_t next_id;          /* resubmitted as this one */
	char reason[256];          /* rejected or lost: why */
	uint64_t proof_document_id; /* won: the proof of performance */
	uint64_t user_id;          /* who registered it */
	uint64_t submitted_at, decided_at, decided_by, closed_at;
	char customer_ref[RD_EXT_MAX]; /* the customer's external id as the partner gave it (matched on) */
	uint64_t extension_requested_at; /* the partner asked for an extension; 0 again once extended */
};

enum rd_lead_state {
	RD_LEAD_NEW = 1, RD_LEAD_QUALIFIED = 2, RD_LEAD_ASSIGNED = 3, RD_LEAD_ACCEPTED = 4,
	RD_LEAD_WON = 5, RD_LEAD_LOST = 6, RD_LEAD_RETURNED = 7,
};

/* A lead for the channel (core/services/leads.c). */
struct rd_lead {
	uint64_t id;
	char source[16];             /* api, import, form */
	char external_id[RD_EXT_MAX];
	uint8_t state;               /* enum rd_lead_state */
	char company[RD_NAME_MAX];
	char contact_name[RD_NAME_MAX];
	char email[RD_NAME_MAX];
	char phone[40];
	char country[3];
	char region[64];
	char company_size[32];       /* smb, mid-market, enterprise, ... */
	char product[64];            /* product of interest (SKU or line) */
	char situation[512];         /* the current situation, as qualified */
	char time_frame[64];
	uint32_t score;
	char notes[1024];
	uint64_t assignment_id;      /* the current (or last) assignment */
	uint32_t routings;           /* how many times the policy placed it */
	char excluded[512];          /* partners that let it lapse or declined it: ids, space-separated */
	uint64_t partner_id;         /* who accepted it (a partner) */
	uint64_t rep_id;             /* who accepted it (a vendor rep) */
	uint64_t value;              /* won: the deal's value, minor units */
	char currency[4];
	char lost_reason[256];
	char returned_reason[256];
	uint64_t created_at, accepted_at, closed_at;
	char offered[1024];          /* assigned: the partners (or rep) it is offered to now; never shown */
	uint8_t offered_kind;        /* enum rd_assign_kind of offered */
};

enum rd_assign_kind { RD_ASSIGN_REP = 1, RD_ASSIGN_PARTNER = 2, RD_ASSIGN_POOL = 3 };
enum rd_assign_state {
	RD_ASSIGN_OFFERED = 1, RD_ASSIGN_ACCEPTED = 2, RD_ASSIGN_DECLINED = 3, RD_ASSIGN_LAPSED = 4,
};

/* One placement of a lead by the routing policy: who, until when, why, and
 * what the policy saw. */
struct rd_lead_assignment {
	uint64_t id;
	uint64_t lead_id;
	uint8_t kind;                /* enum rd_assign_kind */
	char targets[1024];          /* rep: the user id; partner: its id; pool: ids, space-separated */
	uint32_t hours;
	uint64_t deadline;           /* unix seconds (business clock) */
	char reason[128];            /* the policy's */
	uint32_t policy_version;
	char inputs[65536];          /* JSON {lead, candidates, excluded}: what the policy was given */
	uint8_t state;               /* enum rd_assign_state */
	uint64_t accepted_by;        /* the partner (or rep user) that took it */
	uint64_t user_id;            /* the user who accepted, declined */
	char declined[512];          /* partners that declined: ids, space-separated */
	char decline_reason[256];    /* the last decline's reason */
	uint64_t created_at, closed_at;
};

/* An outbound webhook subscription (connector-webhook, core/services/hooks.c):
 * where a vendor's events go and the whsec_ secret(s) that sign them, sealed
 * like plugin secrets.  secret_prev signs too until prev_until (rotation). */
struct rd_hook_sub {
	uint64_t id;
	char url[512];
	char events[512];        /* event types, comma-separated; "*" every one */
	char secret[256];        /* sealed whsec_... */
	char secret_prev[256];   /* sealed; "" none */
	uint64_t prev_until;     /* unix s: the previous secret signs until then */
	uint8_t active;          /* 1 active, 2 paused */
	char description[256];
	uint64_t created_at;
	uint64_t partner_id;     /* the partner whose inbound batches this secret verifies; 0 outbound only */
};

enum rd_hook_state { RD_HOOK_QUEUED = 1, RD_HOOK_DELIVERED = 2, RD_HOOK_EXHAUSTED = 3 };

/* One event for one subscription, and its delivery: queued in the
 * transaction of the change it reports; delivered by the worker. */
struct rd_hook_delivery {
	uint64_t id;
	uint64_t sub_id;
	char event_id[48];       /* webhook-id and the CloudEvents id: msg_<vendor>_<n> */
	char type[64];           /* com.renewd.order.paid ... */
	char subject[96];        /* order/17 */
	char data[8192];         /* the event's data, JSON */
	uint8_t state;           /* enum rd_hook_state */
	uint32_t attempts;
	uint64_t next_at;        /* queued: when to try (unix s) */
	uint32_t last_status;    /* the subscriber's HTTP status; 0 none */
	char last_error[256];
	uint64_t created_at, delivered_at;
	uint64_t event_time;     /* when the change happened (unix s) */
};

/* A partner's inbound webhook batch, verified and kept (the inbox). */
struct rd_hook_inbox {
	uint64_t id;
	uint64_t sub_id, partner_id;
	char webhook_id[128];
	uint64_t received_at;
	uint8_t verified;        /* 1: the signature verified */
	char result[256];        /* what became of it */
	char body[65536];
	uint64_t feed_id;        /* the import record of its feed (its outcome); 0: none (before feeds) */
};

struct rd_domain {
	struct rd_table *vendors, *partners, *customers, *products, *contracts;
	struct rd_table *users, *tokens, *contacts, *audit, *imports, *policies, *plugin_kv, *enablements;
	struct rd_table *opportunities, *actions, *outbox, *tasks, *links, *orders;
	struct rd_table *documents, *document_data;
	struct rd_table *commissions, *statements;
	struct rd_table *deals;
	struct rd_table *leads, *lead_assignments;
	struct rd_table *hook_subs, *hook_deliveries, *hook_inbox;
	struct rd_table *feed_reviews;
	struct rd_table *operator_tokens;
};

/* Writes any entity: allocates the id when *id is 0 (RD_PUT_NEW), encodes
 * and puts.  The struct's first member must be its uint64_t id. */
int rd_entity_put(struct rd_txn *t, struct rd_table *tb, const struct rd_entity *e, uint64_t tenant, void *obj,
		  unsigned flags);
/* Reads and decodes one record; RD_ENOTFOUND when absent. */
int rd_entity_get(struct rd_txn *t, struct rd_table *tb, const struct rd_entity *e, uint64_t tenant, uint64_t id,
		  void *obj);
/* The id of the record whose index entry is exactly key; RD_ENOTFOUND. */
int rd_index_find(struct rd_txn *t, struct rd_table *tb, const char *index, uint64_t tenant, const void *key,
		  size_t len, uint64_t *id);
/* Formats unix seconds as RFC 3339 UTC into out[21]. */
void rd_time_format(uint64_t unix_s, char out[21]);

/* Whether the partner holds a deal registration for the customer and the
 * product line that adds the deal bonus to its margin on day `today`: 2 a
 * won one, 1 an approved one not past its expiry, 0 none (the values of
 * policy/policy.h's enum rd_deal), or the store's error.  By the deals'
 * "customer" index: the customer's registrations only. */
int rd_deal_margin_state(struct rd_txn *t, struct rd_domain *d, uint64_t vendor, uint64_t partner,
			 uint64_t customer, const char *product_line, rd_date today);

/* Registers renewd's tables and indexes on an open store. */
int rd_domain_register(struct rd_store *s, struct rd_domain *d);

/* The contract index the scheduler scans: by end date. Key: end as a
 * big-endian u32 of (days + 2^31). */
#define RD_IDX_CONTRACT_END "end"
/* Live contracts the engine has not quoted yet, by end date: each sweep
 * quotes the ones inside the window, however late they arrived. */
#define RD_IDX_CONTRACT_UNQUOTED "unquoted"
/* Contracts by licence_key (the text with its NUL); none without one. */
#define RD_IDX_CONTRACT_LICENCE "licence"
/* Contracts by distributor of record (u64 big-endian); none without one.
 * Added after stores existed: services/listing.c's rd_list_prepare fills it
 * for a store's contracts at start. */
#define RD_IDX_CONTRACT_DISTRIBUTOR "distributor"
#define RD_IDX_TOKEN_USER "user" /* tokens: vendor(8) user(8) */
/* Tokens by expiry: expires_at (u64 big-endian); none for a token that never
 * expires.  What the purge of expired tokens walks (services/users.h);
 * filled for an existing store by services/listing.c's rd_list_prepare. */
#define RD_IDX_TOKEN_EXPIRES "expires"
/* A partner's own records, by the partner's id (u64 big-endian); none for a
 * record of no partner.  The lists of a partner-scoped caller walk them
 * (edge/page.c, rd_page_records_scoped):
 *   RD_IDX_PARTNER             deals, tasks, statements: partner_id
 *   RD_IDX_PARTNER_RESELLER    orders: reseller_id (opportunities: "reseller")
 *   RD_IDX_PARTNER_DISTRIBUTOR orders, opportunities: distributor_id
 * Added after stores existed: services/listing.c's rd_list_prepare fills
 * them for a store's records at start. */
#define RD_IDX_PARTNER "partner"
#define RD_IDX_PARTNER_RESELLER "reseller"
#define RD_IDX_PARTNER_DISTRIBUTOR "distributor"
/* Orders awaiting payment on terms, by due date. */
#define RD_IDX_ORDER_DUE "due"
void rd_date_key(rd_date d, uint8_t out[4]);

/* The reports' index (core/services/reports.c) on contracts, opportunities
 * and orders: every value a report reads of a record, in the index key, so
 * that a report walks keys and decodes no record.  Layouts (u64 and u32
 * big-endian, dates as rd_date_key, currency 3 bytes, zero-padded):
 *   contract:    product(8) customer(8) reseller(8) distributor(8) end(4)
 *                quantity(4) term(1) status(1) currency(3)          = 45 bytes
 *   opportunity: contract(8) state(1) publish(1) currency(3) list_total(8)
 *                contract_end(4) lost_reason (up to 120 bytes) NUL
 *   order:       contract(8) state(1) publish(1) currency(3) total(8) = 21 bytes
 * Contracts by product first: a product's contracts are one key range.
 * RD_IDX_REPORT_CUSTOMER is the contract key with customer(8) and product(8)
 * swapped: a customer's contracts are one key range, and a walk by customer
 * meets each customer's contracts together. */
#define RD_IDX_REPORT "report"
#define RD_IDX_REPORT_CUSTOMER "report_customer"
#define RD_REPKEY_CONTRACT_LEN 45
#define RD_REPKEY_OPP_LEN 25
#define RD_REPKEY_ORDER_LEN 21
#define RD_REPKEY_REASON_MAX 120
/* A contract record's RD_IDX_REPORT key, as the index holds it (a record
 * found by another index: its product, currency and end without a decode
 * of its own).  RD_REPKEY_CONTRACT_LEN, or the record's error. */
int rd_contract_report_key(const void *rec, size_t len, uint8_t key[RD_REPKEY_CONTRACT_LEN]);
/* The product and currency of that key alone (its bytes 0-7 and 42-44),
 * cheaper than the whole key; 0 or the record's error. */
int rd_contract_report_product(const void *rec, size_t len, uint64_t *product, uint8_t currency[3]);

/* The reports' counters on contracts (store.h "Counters"; model.c keeps
 * their contributions, services/reports.c reads them).  Each contract,
 * joined as the report walk joins it (its latest opportunity, its paid
 * order, its product's price), contributes to these buckets (currency 3
 * bytes; month u32 big-endian, year * 12 + month - 1; day as rd_date_key):
 *   'N'                                        every contract: count
 *   'C' currency                               a currency its figures name: count
 *   'M' month currency class channel publish   ends in that month: count, value,
 *                                              value renewed in its currency
 *   'F' month currency                         ends in that month, renewed in that
 *                                              other currency: (count 0) amount renewed
 *   'D' currency day term                      unresolved and live, ends that day:
 *                                              count, value
 *   'R' month reason NUL                       ends in that month, its quote lost
 *                                              for that reason: count
 *   'P' currency day                           its quote open, the contract ending
 *                                              that day: count, list value
 * and for the drill-down's line and product levels, per product:
 *   'K' product                                every contract: count
 *   'G' month product currency class           as 'M' without channel and publish
 *   'H' month product currency                 as 'F'
 *   'E' month product currency                 unresolved and live, ends that month
 *   'e' day product currency                   unresolved and live, ends that day
 * and the channel's, for scopes (a partner's, a sales person's) and the
 * rankings by partner and sales person, X being the contract's reseller
 * (u64), distributor (u64) and its quote's publish (0: no quote):
 *   'a' X                                      every contract: count
 *   'c' X currency                             as 'C'
 *   'm' month X currency class publish         as 'M' (the channel from X)
 *   'f' month X currency                       as 'F'
 *   'd' month X currency term                  as 'D', by month
 *   'y' day X currency term                    as 'D'
 *   'r' month X reason NUL                     as 'R'
 *   'p' month X currency                       as 'P', by month
 *   'q' day X currency                         as 'P'
 * class: RD_CNT_* bits; channel 0 direct, 1 reseller, 2 distributor;
 * publish (won only, else 3): 0 vendor, 1 partner, 2 undecided. */
enum { RD_CNT_PRICED = 1, RD_CNT_RESOLVED = 2, RD_CNT_WON = 4, RD_CNT_LOST = 8, RD_CNT_CANCELLED = 16 };
#define RD_CNT_NO_REASON "(no reason given)"

/* A date as JSON text, YYYY-MM-DD; "" for no date (0). */
json_t *rd_date_json(rd_date d);

/* The brand a page or an e-mail shows: the partner's (name, logo, colours,
 * contact block, e-mail, phone) or, when p is NULL, the vendor's with the
 * default colours. Pages and notices both take it from here. */
/* The brand's contact block: the partner's own, else its name, phone and
 * e-mail, else (no partner) the vendor's name. */
void rd_brand_contact_block(const struct rd_partner *p, const struct rd_vendor *v, char *out, size_t cap);
json_t *rd_brand_json(const struct rd_partner *p, const struct rd_vendor *v);

#endif
