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

struct rd_store;
struct rd_table;
struct rd_txn;

enum rd_kind {
	RD_KIND_VENDOR = 1,
	RD_KIND_PARTNER = 2,
	RD_KIND_CUSTOMER = 3,
	RD_KIND_PRODUCT = 4,
	RD_KIND_CONTRACT = 5,
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
};

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

enum rd_contract_status { RD_CONTRACT_LIVE = 1, RD_CONTRACT_RENEWED = 2, RD_CONTRACT_CANCELLED = 3, RD_CONTRACT_EXPIRED = 4 };
enum rd_contract_flag { RD_FLAG_WARRANTY_ONLY = 1, RD_FLAG_CONSOLIDATED = 2 };
enum rd_colour { RD_RED = 1, RD_AMBER = 2, RD_GREEN = 3, RD_BLACK = 4 };

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
};

/* Derived colour: red = expired and not renewed; amber = live and ending
 * within the renewal window; green = live; black = cancelled. */
enum rd_colour rd_contract_colour(const struct rd_contract *c, rd_date today, uint32_t window_days);
const char *rd_colour_name(enum rd_colour c);

/* ---- encoding (field tables) ---------------------------------------------- */

enum rd_ftype { RD_F_U64, RD_F_U32, RD_F_I32DATE, RD_F_U8ENUM, RD_F_U8FLAGS, RD_F_STR, RD_F_PRICES, RD_F_IDS };

struct rd_field {
	uint32_t no;         /* record field number: never reused */
	enum rd_ftype type;
	size_t off, size;    /* offset and size of the member */
	const char *json;    /* JSON name */
	const char *const *names; /* RD_F_U8ENUM / RD_F_U8FLAGS: value names, [0] unused */
	size_t count_off;    /* RD_F_PRICES / RD_F_IDS: offset of the uint8_t count */
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
	rd_entity_contract;

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

/* ---- tables ------------------------------------------------------------------ */

struct rd_domain {
	struct rd_table *vendors, *partners, *customers, *products, *contracts;
};

/* Registers renewd's tables and indexes on an open store. */
int rd_domain_register(struct rd_store *s, struct rd_domain *d);

/* The contract index the scheduler scans: by end date. Key: end as a
 * big-endian u32 of (days + 2^31). */
#define RD_IDX_CONTRACT_END "end"
void rd_date_key(rd_date d, uint8_t out[4]);

#endif
