/* model.c: field tables, the generic codec and the domain's tables. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "domain/model.h"
#include "domain/money.h"
#include "store/record.h"
#include "store/store.h"
#include "util/err.h"

#define F(no, type, st, m, json) { no, type, offsetof(st, m), sizeof(((st *)0)->m), json, NULL, 0, 0 }
#define FF(no, type, st, m, json, fl) { no, type, offsetof(st, m), sizeof(((st *)0)->m), json, NULL, 0, fl }
#define FE(no, type, st, m, json, names) { no, type, offsetof(st, m), sizeof(((st *)0)->m), json, names, 0, 0 }
#define FEF(no, type, st, m, json, names, fl) { no, type, offsetof(st, m), sizeof(((st *)0)->m), json, names, 0, fl }
#define FA(no, type, st, m, json, cnt) { no, type, offsetof(st, m), sizeof(((st *)0)->m), json, NULL, offsetof(st, cnt), 0 }
#define RO RD_FF_READONLY
#define PRIV (RD_FF_PRIVATE | RD_FF_READONLY)

static const char *const publish_names[] = { "", "vendor", "partner", NULL };
static const char *const partner_kinds[] = { "", "distributor", "reseller", NULL };
static const char *const tiers[] = { "", "platinum", "gold", "silver", "vendor", NULL };
static const char *const terms[] = { "", "annual", "quarterly", "monthly", "flex", NULL };
static const char *const statuses[] = { "", "live", "renewed", "cancelled", "expired", "renewal_ordered", NULL };
static const char *const flag_names[] = { "warranty_only", "consolidated", NULL };
static const char *const role_names[] = { "", "vendor-admin", "channel-manager", "vendor-sales", "partner-admin",
					  "partner-sales", NULL };
static const char *const token_kinds[] = { "", "api", "session", "customer", NULL };
static const char *const audit_actions[] = { "", "create", "update", "delete", "merge", "import", "login", "revoke", "access", NULL };

static const struct rd_field vendor_fields[] = {
	F(1, RD_F_U64, struct rd_vendor, id, "id"),
	F(2, RD_F_STR, struct rd_vendor, name, "name"),
	F(3, RD_F_STR, struct rd_vendor, slug, "slug"),
	F(4, RD_F_STR, struct rd_vendor, currency, "currency"),
	F(5, RD_F_U32, struct rd_vendor, renewal_window_days, "renewal_window_days"),
	F(6, RD_F_U32, struct rd_vendor, decision_window_days, "decision_window_days"),
	FE(7, RD_F_U8ENUM, struct rd_vendor, publish_default, "publish_default", publish_names),
	F(8, RD_F_U32, struct rd_vendor, max_seats, "max_seats"),
	F(9, RD_F_U32, struct rd_vendor, statement_day, "statement_day"),
	F(10, RD_F_U32, struct rd_vendor, deal_bonus_bp, "deal_bonus_bp"),
	F(11, RD_F_U32, struct rd_vendor, distributor_bp, "distributor_bp"),
	F(12, RD_F_U32, struct rd_vendor, policy_memory_kb, "policy_memory_kb"),
	F(13, RD_F_U32, struct rd_vendor, policy_instructions, "policy_instructions"),
	FF(14, RD_F_U32, struct rd_vendor, margin_version, "margin_version", RO),
	FF(15, RD_F_U32, struct rd_vendor, routing_version, "routing_version", RO),
	F(16, RD_F_STR, struct rd_vendor, notify_email, "notify_email"),
	F(17, RD_F_STR, struct rd_vendor, reminder_days, "reminder_days"),
	F(18, RD_F_STR, struct rd_vendor, portal_url, "portal_url"),
	F(19, RD_F_U32, struct rd_vendor, max_discount_bp, "max_discount_bp"),
	FF(20, RD_F_U32, struct rd_vendor, max_discount_set, "max_discount_set", PRIV),
	F(21, RD_F_U64, struct rd_vendor, sales_user_id, "sales_user_id"),
	F(30, RD_F_U32, struct rd_vendor, deal_expiry_days, "deal_expiry_days"),
	F(31, RD_F_U32, struct rd_vendor, deal_extension_limit, "deal_extension_limit"),
	F(32, RD_F_U32, struct rd_vendor, deal_response_hours, "deal_response_hours"),
	F(33, RD_F_U32, struct rd_vendor, deal_extension_days, "deal_extension_days"),
	F(35, RD_F_U32, struct rd_vendor, lead_reroute_limit, "lead_reroute_limit"),
	F(36, RD_F_U32, struct rd_vendor, lead_form_min_seconds, "lead_form_min_seconds"),
	F(37, RD_F_U32, struct rd_vendor, lead_form_per_hour, "lead_form_per_hour"),
	F(38, RD_F_U32, struct rd_vendor, lead_form_enabled, "lead_form_enabled"),
	F(40, RD_F_STR, struct rd_vendor, feed_precedence, "feed_precedence"),
	FF(70, RD_F_U32, struct rd_vendor, suspended, "suspended", RO),
	FF(71, RD_F_TIME, struct rd_vendor, suspended_at, "suspended_at", RO),
	FF(72, RD_F_STR, struct rd_vendor, suspended_reason, "suspended_reason", RO),
};

static const struct rd_field partner_fields[] = {
	F(1, RD_F_U64, struct rd_partner, id, "id"),
	F(2, RD_F_STR, struct rd_partner, external_id, "external_id"),
	F(3, RD_F_STR, struct rd_partner, name, "name"),
	FE(4, RD_F_U8ENUM, struct rd_partner, kind, "kind", partner_kinds),
	FE(5, RD_F_U8ENUM, struct rd_partner, tier, "tier", tiers),
	F(6, RD_F_U64, struct rd_partner, parent_id, "parent_id"),
	F(7, RD_F_STR, struct rd_partner, email, "email"),
	F(8, RD_F_STR, struct rd_partner, phone, "phone"),
	F(9, RD_F_STR, struct rd_partner, logo_url, "logo_url"),
	F(10, RD_F_STR, struct rd_partner, colour_primary, "colour_primary"),
	F(11, RD_F_STR, struct rd_partner, colour_accent, "colour_accent"),
	F(12, RD_F_STR, struct rd_partner, contact_block, "contact_block"),
	F(13, RD_F_U32, struct rd_partner, opt_out_notices, "opt_out_notices"),
	F(14, RD_F_U64, struct rd_partner, sales_user_id, "sales_user_id"),
	F(35, RD_F_STR, struct rd_partner, lead_regions, "lead_regions"),
	F(36, RD_F_STR, struct rd_partner, lead_products, "lead_products"),
	F(37, RD_F_U32, struct rd_partner, lead_weight, "lead_weight"),
	F(40, RD_F_STR, struct rd_partner, feed_mapping, "feed_mapping"),
	F(41, RD_F_U32, struct rd_partner, feed_drop, "feed_drop"),
};

static const struct rd_field customer_fields[] = {
	F(1, RD_F_U64, struct rd_customer, id, "id"),
	F(2, RD_F_STR, struct rd_customer, external_id, "external_id"),
	F(3, RD_F_STR, struct rd_customer, name, "name"),
	F(4, RD_F_STR, struct rd_customer, email, "email"),
	F(5, RD_F_STR, struct rd_customer, phone, "phone"),
	F(6, RD_F_STR, struct rd_customer, address_line1, "address_line1"),
	F(7, RD_F_STR, struct rd_customer, address_line2, "address_line2"),
	F(8, RD_F_STR, struct rd_customer, city, "city"),
	F(9, RD_F_STR, struct rd_customer, region, "region"),
	F(10, RD_F_STR, struct rd_customer, postcode, "postcode"),
	F(11, RD_F_STR, struct rd_customer, country, "country"),
	F(12, RD_F_STR, struct rd_customer, segment, "segment"),
};

static const struct rd_field product_fields[] = {
	F(1, RD_F_U64, struct rd_product, id, "id"),
	F(2, RD_F_STR, struct rd_product, external_id, "sku"),
	F(3, RD_F_STR, struct rd_product, name, "name"),
	F(4, RD_F_STR, struct rd_product, line, "line"),
	FA(5, RD_F_PRICES, struct rd_product, prices, "prices", n_prices),
	FA(6, RD_F_IDS, struct rd_product, upsell, "upsell", n_upsell),
	FA(7, RD_F_IDS, struct rd_product, crosssell, "crosssell", n_crosssell),
};

static const char *const feed_source_names[] = { "vendor", "distributor", "reseller", NULL };
static const struct rd_field contract_fields[] = {
	F(1, RD_F_U64, struct rd_contract, id, "id"),
	F(2, RD_F_STR, struct rd_contract, external_id, "external_id"),
	F(3, RD_F_U64, struct rd_contract, customer_id, "customer_id"),
	F(4, RD_F_U64, struct rd_contract, product_id, "product_id"),
	F(5, RD_F_U64, struct rd_contract, reseller_id, "reseller_id"),
	F(6, RD_F_U64, struct rd_contract, distributor_id, "distributor_id"),
	F(7, RD_F_U32, struct rd_contract, quantity, "quantity"),
	F(8, RD_F_I32DATE, struct rd_contract, start, "start"),
	F(9, RD_F_I32DATE, struct rd_contract, end, "end"),
	FE(10, RD_F_U8ENUM, struct rd_contract, term, "term", terms),
	F(11, RD_F_STR, struct rd_contract, currency, "currency"),
	FE(12, RD_F_U8ENUM, struct rd_contract, status, "status", statuses),
	FE(13, RD_F_U8FLAGS, struct rd_contract, flags, "flags", flag_names),
	FF(14, RD_F_U32, struct rd_contract, quoted, "quoted", PRIV),
	FEF(40, RD_F_U8FLAGS, struct rd_contract, feed_sources, "feed_sources", feed_source_names, RO),
	FF(41, RD_F_TIME, struct rd_contract, received_vendor, "received_vendor", RO),
	FF(42, RD_F_TIME, struct rd_contract, received_distributor, "received_distributor", RO),
	FF(43, RD_F_TIME, struct rd_contract, received_reseller, "received_reseller", RO),
	F(50, RD_F_STR, struct rd_contract, licence_key, "licence_key"),
};

static const struct rd_field user_fields[] = {
	F(1, RD_F_U64, struct rd_user, id, "id"),
	F(2, RD_F_STR, struct rd_user, email, "email"),
	F(3, RD_F_STR, struct rd_user, name, "name"),
	FE(4, RD_F_U8ENUM, struct rd_user, role, "role", role_names),
	F(5, RD_F_U64, struct rd_user, partner_id, "partner_id"),
	FF(6, RD_F_STR, struct rd_user, password_hash, "password_hash", PRIV),
	F(7, RD_F_U32, struct rd_user, disabled, "disabled"),
	FF(8, RD_F_TIME, struct rd_user, created_at, "created_at", RO),
};

static const struct rd_field token_fields[] = {
	F(1, RD_F_U64, struct rd_token, id, "id"),
	FF(2, RD_F_STR, struct rd_token, hash, "hash", PRIV),
	FF(3, RD_F_U64, struct rd_token, vendor_id, "vendor_id", PRIV),
	FF(4, RD_F_U64, struct rd_token, user_id, "user_id", RO),
	F(5, RD_F_STR, struct rd_token, name, "name"),
	FEF(6, RD_F_U8ENUM, struct rd_token, kind, "kind", token_kinds, RO),
	FF(7, RD_F_TIME, struct rd_token, created_at, "created_at", RO),
	FF(8, RD_F_TIME, struct rd_token, expires_at, "expires_at", RO),
	FF(9, RD_F_TIME, struct rd_token, revoked_at, "revoked_at", RO),
	FF(10, RD_F_U64, struct rd_token, customer_id, "customer_id", PRIV),
	FF(11, RD_F_U64, struct rd_token, opportunity_id, "opportunity_id", PRIV),
	FF(12, RD_F_U64, struct rd_token, link_id, "link_id", PRIV),
};

static const struct rd_field operator_token_fields[] = {
	F(1, RD_F_U64, struct rd_operator_token, id, "id"),
	FF(2, RD_F_STR, struct rd_operator_token, hash, "hash", PRIV),
	F(3, RD_F_STR, struct rd_operator_token, name, "name"),
	FF(4, RD_F_TIME, struct rd_operator_token, created_at, "created_at", RO),
	FF(5, RD_F_TIME, struct rd_operator_token, revoked_at, "revoked_at", RO),
};

static const struct rd_field contact_fields[] = {
	F(1, RD_F_U64, struct rd_contact, id, "id"),
	F(2, RD_F_STR, struct rd_contact, external_id, "external_id"),
	F(3, RD_F_U64, struct rd_contact, customer_id, "customer_id"),
	F(4, RD_F_STR, struct rd_contact, name, "name"),
	F(5, RD_F_STR, struct rd_contact, email, "email"),
	F(6, RD_F_STR, struct rd_contact, phone, "phone"),
	F(7, RD_F_STR, struct rd_contact, title, "title"),
};

static const struct rd_field audit_fields[] = {
	F(1, RD_F_U64, struct rd_audit, id, "id"),
	F(2, RD_F_U64, struct rd_audit, at_ms, "at_ms"),
	F(3, RD_F_U64, struct rd_audit, user_id, "user_id"),
	FE(4, RD_F_U8ENUM, struct rd_audit, action, "action", audit_actions),
	F(5, RD_F_STR, struct rd_audit, object, "object"),
	F(6, RD_F_U64, struct rd_audit, object_id, "object_id"),
	F(7, RD_F_STR, struct rd_audit, before, "before"),
	F(8, RD_F_STR, struct rd_audit, after, "after"),
	F(9, RD_F_STR, struct rd_audit, note, "note"),
};

static const char *const import_statuses[] = { "", "running", "succeeded", "failed", NULL };

static const char *const import_sources[] = { "", "vendor", "distributor", "", "reseller", NULL };
static const struct rd_field import_fields[] = {
	F(1, RD_F_U64, struct rd_import_rec, id, "id"),
	F(2, RD_F_STR, struct rd_import_rec, kind, "kind"),
	F(3, RD_F_STR, struct rd_import_rec, format, "format"),
	FE(4, RD_F_U8ENUM, struct rd_import_rec, status, "status", import_statuses),
	F(5, RD_F_U32, struct rd_import_rec, dry_run, "dry_run"),
	F(6, RD_F_U32, struct rd_import_rec, atomic, "atomic"),
	F(7, RD_F_U64, struct rd_import_rec, user_id, "user_id"),
	F(8, RD_F_U64, struct rd_import_rec, bytes, "bytes"),
	F(9, RD_F_U64, struct rd_import_rec, rows, "rows"),
	F(10, RD_F_U64, struct rd_import_rec, rows_ok, "rows_ok"),
	F(11, RD_F_U64, struct rd_import_rec, rows_failed, "rows_failed"),
	F(12, RD_F_U64, struct rd_import_rec, created, "created"),
	F(13, RD_F_U64, struct rd_import_rec, updated, "updated"),
	FF(14, RD_F_TIME, struct rd_import_rec, started_at, "started_at", RO),
	FF(15, RD_F_TIME, struct rd_import_rec, finished_at, "finished_at", RO),
	F(16, RD_F_STR, struct rd_import_rec, message, "message"),
	F(17, RD_F_STR, struct rd_import_rec, errors, "errors"),
	FE(40, RD_F_U8ENUM, struct rd_import_rec, source, "source", import_sources),
	F(41, RD_F_U64, struct rd_import_rec, partner_id, "partner_id"),
	F(42, RD_F_U64, struct rd_import_rec, unchanged, "unchanged"),
	F(43, RD_F_U64, struct rd_import_rec, queued, "queued"),
};

static const char *const policy_statuses[] = { "", "ready", "active", "retired", NULL };

static const struct rd_field policy_fields[] = {
	F(1, RD_F_U64, struct rd_policy_rec, id, "id"),
	F(2, RD_F_STR, struct rd_policy_rec, kind, "kind"),
	F(3, RD_F_U32, struct rd_policy_rec, version, "version"),
	FE(4, RD_F_U8ENUM, struct rd_policy_rec, status, "status", policy_statuses),
	F(5, RD_F_U64, struct rd_policy_rec, user_id, "user_id"),
	FF(6, RD_F_TIME, struct rd_policy_rec, created_at, "created_at", RO),
	FF(7, RD_F_TIME, struct rd_policy_rec, activated_at, "activated_at", RO),
	F(8, RD_F_STR, struct rd_policy_rec, note, "note"),
	F(9, RD_F_STR, struct rd_policy_rec, source, "source"),
	F(10, RD_F_STR, struct rd_policy_rec, vectors, "vectors"),
	F(11, RD_F_U32, struct rd_policy_rec, vectors_passed, "vectors_passed"),
};

static const struct rd_field plugin_kv_fields[] = {
	F(1, RD_F_U64, struct rd_plugin_kv, id, "id"),
	F(2, RD_F_STR, struct rd_plugin_kv, plugin, "plugin"),
	F(3, RD_F_STR, struct rd_plugin_kv, key, "key"),
	{ 4, RD_F_BYTES, offsetof(struct rd_plugin_kv, value), sizeof(((struct rd_plugin_kv *)0)->value), "value", NULL,
	  offsetof(struct rd_plugin_kv, len), PRIV },
};

static const struct rd_field enablement_fields[] = {
	F(1, RD_F_U64, struct rd_enablement, id, "id"),
	F(2, RD_F_STR, struct rd_enablement, plugin, "plugin"),
	F(3, RD_F_U64, struct rd_enablement, partner_id, "partner_id"),
	F(4, RD_F_STR, struct rd_enablement, config, "config"),
	F(5, RD_F_U64, struct rd_enablement, user_id, "user_id"),
	FF(6, RD_F_TIME, struct rd_enablement, enabled_at, "enabled_at", RO),
};

static const char *const opp_states[] = { "", "pending_decision", "published_partner", "published_vendor",
					  "accepted", "won", "lost", "expired", NULL };
static const char *const msg_states[] = { "", "queued", "sent", "dead", NULL };
static const char *const task_kinds[] = { "", "callback", "contact_reseller", "reply", NULL };

static const struct rd_field opportunity_fields[] = {
	F(1, RD_F_U64, struct rd_opportunity, id, "id"),
	FF(2, RD_F_STR, struct rd_opportunity, number, "number", RO),
	FF(3, RD_F_U64, struct rd_opportunity, contract_id, "contract_id", RO),
	FF(4, RD_F_U64, struct rd_opportunity, customer_id, "customer_id", RO),
	FF(5, RD_F_U64, struct rd_opportunity, product_id, "product_id", RO),
	FF(6, RD_F_U64, struct rd_opportunity, reseller_id, "reseller_id", RO),
	FF(7, RD_F_U64, struct rd_opportunity, distributor_id, "distributor_id", RO),
	FEF(8, RD_F_U8ENUM, struct rd_opportunity, state, "state", opp_states, RO),
	FEF(9, RD_F_U8ENUM, struct rd_opportunity, publish, "publish", publish_names, RO),
	FF(10, RD_F_U32, struct rd_opportunity, decided_by_default, "decided_by_default", RO),
	FF(11, RD_F_I32DATE, struct rd_opportunity, contract_end, "contract_end", RO),
	FF(12, RD_F_I32DATE, struct rd_opportunity, decision_by, "decision_by", RO),
	FF(13, RD_F_I32DATE, struct rd_opportunity, valid_until, "valid_until", RO),
	FF(14, RD_F_STR, struct rd_opportunity, currency, "currency", RO),
	FF(15, RD_F_U64, struct rd_opportunity, list_total, "list_total", RO),
	FF(16, RD_F_U64, struct rd_opportunity, net_total, "net_total", RO),
	FF(17, RD_F_U32, struct rd_opportunity, policy_version, "policy_version", RO),
	FF(18, RD_F_U32, struct rd_opportunity, attention, "attention", RO),
	FF(19, RD_F_STR, struct rd_opportunity, attention_reason, "attention_reason", RO),
	/* 20: the lines as JSON text, as stores held them before field 26 */
	{ 20, RD_F_QUOTE_JSON, offsetof(struct rd_opportunity, lines), sizeof(((struct rd_opportunity *)0)->lines),
	  "lines", NULL, offsetof(struct rd_opportunity, n_lines), PRIV },
	FF(21, RD_F_TIME, struct rd_opportunity, created_at, "created_at", RO),
	FF(22, RD_F_U64, struct rd_opportunity, lost_reason_set, "lost_reason_set", PRIV),
	F(23, RD_F_STR, struct rd_opportunity, lost_reason, "lost_reason"),
	FF(24, RD_F_U32, struct rd_opportunity, discount_bp, "discount_bp", RO),
	FF(25, RD_F_STR, struct rd_opportunity, notes, "notes", RO),
	{ 26, RD_F_QUOTE, offsetof(struct rd_opportunity, lines), sizeof(((struct rd_opportunity *)0)->lines), "lines",
	  NULL, offsetof(struct rd_opportunity, n_lines), RO },
	FF(40, RD_F_TIME, struct rd_opportunity, decided_at, "decided_at", RO),
};

static const struct rd_field action_fields[] = {
	F(1, RD_F_U64, struct rd_sched_action, id, "id"),
	F(2, RD_F_STR, struct rd_sched_action, key, "key"),
	FF(3, RD_F_TIME, struct rd_sched_action, at, "at", RO),
	F(4, RD_F_I32DATE, struct rd_sched_action, day, "day"),
};

static const struct rd_field message_fields[] = {
	F(1, RD_F_U64, struct rd_message, id, "id"),
	F(2, RD_F_STR, struct rd_message, kind, "kind"),
	F(3, RD_F_STR, struct rd_message, to, "to"),
	F(4, RD_F_STR, struct rd_message, subject, "subject"),
	F(5, RD_F_STR, struct rd_message, text, "text"),
	F(6, RD_F_STR, struct rd_message, html, "html"),
	FE(7, RD_F_U8ENUM, struct rd_message, state, "state", msg_states),
	F(8, RD_F_U32, struct rd_message, attempts, "attempts"),
	FF(9, RD_F_TIME, struct rd_message, next_at, "next_at", RO),
	F(10, RD_F_STR, struct rd_message, last_error, "last_error"),
	FF(11, RD_F_TIME, struct rd_message, created_at, "created_at", RO),
	FF(12, RD_F_TIME, struct rd_message, sent_at, "sent_at", RO),
	F(13, RD_F_STR, struct rd_message, ref, "ref"),
	F(14, RD_F_U64, struct rd_message, opportunity_id, "opportunity_id"),
	F(15, RD_F_U64, struct rd_message, partner_id, "partner_id"),
	F(16, RD_F_U64, struct rd_message, customer_id, "customer_id"),
	FF(90, RD_F_STR, struct rd_message, template_version, "template_version", PRIV),
	FF(91, RD_F_STR, struct rd_message, params, "params", PRIV),
};

static const struct rd_field task_fields[] = {
	F(1, RD_F_U64, struct rd_task, id, "id"),
	FE(2, RD_F_U8ENUM, struct rd_task, kind, "kind", task_kinds),
	F(3, RD_F_U64, struct rd_task, opportunity_id, "opportunity_id"),
	F(4, RD_F_U64, struct rd_task, customer_id, "customer_id"),
	F(5, RD_F_U64, struct rd_task, partner_id, "partner_id"),
	F(6, RD_F_STR, struct rd_task, message, "message"),
	F(7, RD_F_U32, struct rd_task, done, "done"),
	FF(8, RD_F_TIME, struct rd_task, created_at, "created_at", RO),
	F(9, RD_F_U64, struct rd_task, assigned_to, "assigned_to"),
	FF(10, RD_F_TIME, struct rd_task, done_at, "done_at", RO),
	FF(11, RD_F_U64, struct rd_task, done_by, "done_by", RO),
	F(20, RD_F_I32DATE, struct rd_task, due_on, "due_on"),
};

static const struct rd_field link_fields[] = {
	F(1, RD_F_U64, struct rd_link, id, "id"),
	FF(2, RD_F_STR, struct rd_link, hash, "hash", PRIV),
	F(3, RD_F_U64, struct rd_link, vendor_id, "vendor_id"),
	F(4, RD_F_U64, struct rd_link, customer_id, "customer_id"),
	F(5, RD_F_U64, struct rd_link, opportunity_id, "opportunity_id"),
	FF(6, RD_F_TIME, struct rd_link, expires_at, "expires_at", RO),
	FF(7, RD_F_TIME, struct rd_link, revoked_at, "revoked_at", RO),
};

static const char *const order_states[] = { "", "created", "awaiting_payment", "paid", "failed", "cancelled",
					   "fulfilled", "refunded", NULL };

static const struct rd_field order_fields[] = {
	F(1, RD_F_U64, struct rd_order, id, "id"),
	FF(2, RD_F_STR, struct rd_order, number, "number", RO),
	FF(3, RD_F_U64, struct rd_order, opportunity_id, "opportunity_id", RO),
	FF(4, RD_F_U64, struct rd_order, contract_id, "contract_id", RO),
	FF(5, RD_F_U64, struct rd_order, customer_id, "customer_id", RO),
	FF(6, RD_F_U64, struct rd_order, reseller_id, "reseller_id", RO),
	FF(7, RD_F_U64, struct rd_order, distributor_id, "distributor_id", RO),
	FEF(8, RD_F_U8ENUM, struct rd_order, publish, "publish", publish_names, RO),
	FF(9, RD_F_STR, struct rd_order, payment_plugin, "payment_plugin", RO),
	FF(10, RD_F_STR, struct rd_order, payment_option, "payment_option", RO),
	FF(11, RD_F_STR, struct rd_order, po_number, "po_number", RO),
	FF(12, RD_F_STR, struct rd_order, currency, "currency", RO),
	FF(13, RD_F_U64, struct rd_order, total, "total", RO),
	FEF(14, RD_F_U8ENUM, struct rd_order, state, "state", order_states, RO),
	FF(15, RD_F_I32DATE, struct rd_order, due_date, "due_date", RO),
	FF(16, RD_F_STR, struct rd_order, idempotency_key, "idempotency_key", RO),
	FF(17, RD_F_STR, struct rd_order, fingerprint, "fingerprint", PRIV),
	FF(18, RD_F_TIME, struct rd_order, created_at, "created_at", RO),
	FF(19, RD_F_TIME, struct rd_order, paid_at, "paid_at", RO),
	FF(20, RD_F_TIME, struct rd_order, fulfilled_at, "fulfilled_at", RO),
	FF(21, RD_F_U64, struct rd_order, new_contract_id, "new_contract_id", RO),
	FF(22, RD_F_STR, struct rd_order, payment_ref, "payment_ref", RO),
	FF(23, RD_F_STR, struct rd_order, payment_message, "payment_message", RO),
	FF(24, RD_F_STR, struct rd_order, paid_reference, "paid_reference", RO),
	FF(25, RD_F_U64, struct rd_order, paid_amount, "paid_amount", RO),
	FF(26, RD_F_U64, struct rd_order, user_id, "user_id", RO),
	/* 40, 41: the lines frozen at placement (domain/quote.h) and the discount */
	{ 40, RD_F_QUOTE, offsetof(struct rd_order, lines), sizeof(((struct rd_order *)0)->lines), "lines", NULL,
	  offsetof(struct rd_order, n_lines), RO },
	FF(41, RD_F_U32, struct rd_order, discount_bp, "discount_bp", RO),
	FF(50, RD_F_STR, struct rd_order, billing_company, "billing_company", RO),
	FF(51, RD_F_STR, struct rd_order, billing_address1, "billing_address1", RO),
	FF(52, RD_F_STR, struct rd_order, billing_address2, "billing_address2", RO),
	FF(53, RD_F_STR, struct rd_order, billing_city, "billing_city", RO),
	FF(54, RD_F_STR, struct rd_order, billing_postcode, "billing_postcode", RO),
	FF(55, RD_F_STR, struct rd_order, billing_country, "billing_country", RO),
	FF(56, RD_F_STR, struct rd_order, billing_email, "billing_email", RO),
	FF(57, RD_F_STR, struct rd_order, invoice_number, "invoice_number", RO),
	FF(58, RD_F_STR, struct rd_order, checkout_url, "checkout_url", RO),
	FF(70, RD_F_STR, struct rd_order, edi_status, "edi_status", RO),
	FF(71, RD_F_STR, struct rd_order, edi_control, "edi_control", RO),
	FF(72, RD_F_STR, struct rd_order, edi_ack, "edi_ack", RO),
	FF(73, RD_F_STR, struct rd_order, edi_invoice, "edi_invoice", RO),
	FF(74, RD_F_U64, struct rd_order, invoiced_amount, "invoiced_amount", RO),
	FF(80, RD_F_U32, struct rd_order, edi_attempts, "edi_attempts", RO),
	FF(81, RD_F_STR, struct rd_order, edi_error, "edi_error", RO),
};

static const char *const document_kinds[] = { "", "contract", "certificate", "invoice", "other", NULL };

static const struct rd_field document_fields[] = {
	F(1, RD_F_U64, struct rd_document, id, "id"),
	FF(2, RD_F_U64, struct rd_document, contract_id, "contract_id", RO),
	FF(3, RD_F_U64, struct rd_document, customer_id, "customer_id", RO),
	FE(4, RD_F_U8ENUM, struct rd_document, kind, "kind", document_kinds),
	F(5, RD_F_STR, struct rd_document, name, "name"),
	FF(6, RD_F_STR, struct rd_document, content_type, "content_type", RO),
	FF(7, RD_F_U32, struct rd_document, size, "size", RO),
	FF(8, RD_F_STR, struct rd_document, sha256, "sha256", RO),
	FF(9, RD_F_TIME, struct rd_document, created_at, "created_at", RO),
	FF(10, RD_F_U64, struct rd_document, user_id, "user_id", RO),
};

#define ENTITY(var, nm, tbl, k, st, flds) \
	const struct rd_entity var = { nm, tbl, k, 1, sizeof(st), flds, sizeof flds / sizeof *flds }
ENTITY(rd_entity_vendor, "vendor", "vendors", RD_KIND_VENDOR, struct rd_vendor, vendor_fields);
ENTITY(rd_entity_partner, "partner", "partners", RD_KIND_PARTNER, struct rd_partner, partner_fields);
ENTITY(rd_entity_customer, "customer", "customers", RD_KIND_CUSTOMER, struct rd_customer, customer_fields);
ENTITY(rd_entity_product, "product", "products", RD_KIND_PRODUCT, struct rd_product, product_fields);
ENTITY(rd_entity_contract, "contract", "contracts", RD_KIND_CONTRACT, struct rd_contract, contract_fields);
ENTITY(rd_entity_user, "user", "users", RD_KIND_USER, struct rd_user, user_fields);
ENTITY(rd_entity_token, "token", "tokens", RD_KIND_TOKEN, struct rd_token, token_fields);
ENTITY(rd_entity_operator_token, "operator token", "operator_tokens", RD_KIND_OPERATOR_TOKEN, struct rd_operator_token,
       operator_token_fields);
ENTITY(rd_entity_contact, "contact", "contacts", RD_KIND_CONTACT, struct rd_contact, contact_fields);
ENTITY(rd_entity_audit, "audit entry", "audit", RD_KIND_AUDIT, struct rd_audit, audit_fields);
ENTITY(rd_entity_import, "import", "imports", RD_KIND_IMPORT, struct rd_import_rec, import_fields);
ENTITY(rd_entity_policy, "policy version", "policies", RD_KIND_POLICY, struct rd_policy_rec, policy_fields);
ENTITY(rd_entity_plugin_kv, "plugin value", "plugin_kv", RD_KIND_PLUGIN_KV, struct rd_plugin_kv, plugin_kv_fields);
ENTITY(rd_entity_enablement, "enablement", "enablements", RD_KIND_ENABLEMENT, struct rd_enablement, enablement_fields);
ENTITY(rd_entity_opportunity, "opportunity", "opportunities", RD_KIND_OPPORTUNITY, struct rd_opportunity, opportunity_fields);
ENTITY(rd_entity_action, "action", "actions", RD_KIND_ACTION, struct rd_sched_action, action_fields);
ENTITY(rd_entity_message, "message", "outbox", RD_KIND_MESSAGE, struct rd_message, message_fields);
ENTITY(rd_entity_task, "task", "tasks", RD_KIND_TASK, struct rd_task, task_fields);
ENTITY(rd_entity_link, "link", "links", RD_KIND_LINK, struct rd_link, link_fields);
ENTITY(rd_entity_order, "order", "orders", RD_KIND_ORDER, struct rd_order, order_fields);
ENTITY(rd_entity_document, "document", "documents", RD_KIND_DOCUMENT, struct rd_document, document_fields);

static const char *const hook_sub_states[] = { "", "active", "paused", NULL };
static const struct rd_field hook_sub_fields[] = {
	F(1, RD_F_U64, struct rd_hook_sub, id, "id"),
	F(2, RD_F_STR, struct rd_hook_sub, url, "url"),
	F(3, RD_F_STR, struct rd_hook_sub, events, "events"),
	FF(4, RD_F_STR, struct rd_hook_sub, secret, "secret", RO),
	FF(5, RD_F_STR, struct rd_hook_sub, secret_prev, "secret_prev", RO),
	FF(6, RD_F_TIME, struct rd_hook_sub, prev_until, "previous_secret_until", RO),
	FE(7, RD_F_U8ENUM, struct rd_hook_sub, active, "state", hook_sub_states),
	F(8, RD_F_STR, struct rd_hook_sub, description, "description"),
	FF(9, RD_F_TIME, struct rd_hook_sub, created_at, "created_at", RO),
	F(10, RD_F_U64, struct rd_hook_sub, partner_id, "partner_id"),
};
static const char *const hook_states[] = { "", "queued", "delivered", "exhausted", NULL };
static const struct rd_field hook_delivery_fields[] = {
	F(1, RD_F_U64, struct rd_hook_delivery, id, "id"),
	FF(2, RD_F_U64, struct rd_hook_delivery, sub_id, "subscription_id", RO),
	FF(3, RD_F_STR, struct rd_hook_delivery, event_id, "event_id", RO),
	FF(4, RD_F_STR, struct rd_hook_delivery, type, "type", RO),
	FF(5, RD_F_STR, struct rd_hook_delivery, subject, "subject", RO),
	FF(6, RD_F_STR, struct rd_hook_delivery, data, "data", RO),
	FEF(7, RD_F_U8ENUM, struct rd_hook_delivery, state, "state", hook_states, RO),
	FF(8, RD_F_U32, struct rd_hook_delivery, attempts, "attempts", RO),
	FF(9, RD_F_TIME, struct rd_hook_delivery, next_at, "next_at", RO),
	FF(10, RD_F_U32, struct rd_hook_delivery, last_status, "last_status", RO),
	FF(11, RD_F_STR, struct rd_hook_delivery, last_error, "last_error", RO),
	FF(12, RD_F_TIME, struct rd_hook_delivery, created_at, "created_at", RO),
	FF(13, RD_F_TIME, struct rd_hook_delivery, delivered_at, "delivered_at", RO),
	FF(14, RD_F_TIME, struct rd_hook_delivery, event_time, "event_time", RO),
};
ENTITY(rd_entity_hook_sub, "webhook subscription", "hook_subs", RD_KIND_HOOK_SUB, struct rd_hook_sub, hook_sub_fields);
ENTITY(rd_entity_hook_delivery, "webhook delivery", "hook_deliveries", RD_KIND_HOOK_DELIVERY, struct rd_hook_delivery,
       hook_delivery_fields);

static const struct rd_field hook_inbox_fields[] = {
	F(1, RD_F_U64, struct rd_hook_inbox, id, "id"),
	FF(2, RD_F_U64, struct rd_hook_inbox, sub_id, "subscription_id", RO),
	FF(3, RD_F_U64, struct rd_hook_inbox, partner_id, "partner_id", RO),
	FF(4, RD_F_STR, struct rd_hook_inbox, webhook_id, "webhook_id", RO),
	FF(5, RD_F_TIME, struct rd_hook_inbox, received_at, "received_at", RO),
	FF(6, RD_F_U32, struct rd_hook_inbox, verified, "verified", RO),
	FF(7, RD_F_STR, struct rd_hook_inbox, result, "result", RO),
	FF(8, RD_F_STR, struct rd_hook_inbox, body, "body", RO),
	FF(20, RD_F_U64, struct rd_hook_inbox, feed_id, "feed_id", RO),
};
ENTITY(rd_entity_hook_inbox, "webhook batch", "hook_inbox", RD_KIND_HOOK_INBOX, struct rd_hook_inbox, hook_inbox_fields);

static const char *const assign_kinds[] = { "", "rep", "partner", "pool", NULL };
static const char *const lead_states[] = { "", "new", "qualified", "assigned", "accepted", "won", "lost", "returned",
					  NULL };
static const struct rd_field lead_fields[] = {
	F(1, RD_F_U64, struct rd_lead, id, "id"),
	FF(2, RD_F_STR, struct rd_lead, source, "source", RO),
	F(3, RD_F_STR, struct rd_lead, external_id, "external_id"),
	FEF(4, RD_F_U8ENUM, struct rd_lead, state, "state", lead_states, RO),
	F(5, RD_F_STR, struct rd_lead, company, "company"),
	F(6, RD_F_STR, struct rd_lead, contact_name, "contact_name"),
	F(7, RD_F_STR, struct rd_lead, email, "email"),
	F(8, RD_F_STR, struct rd_lead, phone, "phone"),
	F(9, RD_F_STR, struct rd_lead, country, "country"),
	F(10, RD_F_STR, struct rd_lead, region, "region"),
	F(11, RD_F_STR, struct rd_lead, company_size, "company_size"),
	F(12, RD_F_STR, struct rd_lead, product, "product"),
	F(13, RD_F_STR, struct rd_lead, situation, "situation"),
	F(14, RD_F_STR, struct rd_lead, time_frame, "time_frame"),
	F(15, RD_F_U32, struct rd_lead, score, "score"),
	F(16, RD_F_STR, struct rd_lead, notes, "notes"),
	FF(17, RD_F_U64, struct rd_lead, assignment_id, "assignment_id", RO),
	FF(18, RD_F_U32, struct rd_lead, routings, "routings", RO),
	FF(19, RD_F_STR, struct rd_lead, excluded, "excluded", RO),
	FF(20, RD_F_U64, struct rd_lead, partner_id, "partner_id", RO),
	FF(21, RD_F_U64, struct rd_lead, rep_id, "rep_id", RO),
	FF(22, RD_F_U64, struct rd_lead, value, "value", RO),
	FF(23, RD_F_STR, struct rd_lead, currency, "currency", RO),
	FF(24, RD_F_STR, struct rd_lead, lost_reason, "lost_reason", RO),
	FF(25, RD_F_STR, struct rd_lead, returned_reason, "returned_reason", RO),
	FF(26, RD_F_TIME, struct rd_lead, created_at, "created_at", RO),
	FF(27, RD_F_TIME, struct rd_lead, accepted_at, "accepted_at", RO),
	FF(28, RD_F_TIME, struct rd_lead, closed_at, "closed_at", RO),
	FF(29, RD_F_STR, struct rd_lead, offered, "offered", PRIV),
	FEF(30, RD_F_U8ENUM, struct rd_lead, offered_kind, "offered_kind", assign_kinds, PRIV),
};

static const char *const assign_states[] = { "", "offered", "accepted", "declined", "lapsed", NULL };
static const struct rd_field lead_assignment_fields[] = {
	F(1, RD_F_U64, struct rd_lead_assignment, id, "id"),
	FF(2, RD_F_U64, struct rd_lead_assignment, lead_id, "lead_id", RO),
	FEF(3, RD_F_U8ENUM, struct rd_lead_assignment, kind, "kind", assign_kinds, RO),
	FF(4, RD_F_STR, struct rd_lead_assignment, targets, "targets", RO),
	FF(5, RD_F_U32, struct rd_lead_assignment, hours, "hours", RO),
	FF(6, RD_F_TIME, struct rd_lead_assignment, deadline, "deadline", RO),
	FF(7, RD_F_STR, struct rd_lead_assignment, reason, "reason", RO),
	FF(8, RD_F_U32, struct rd_lead_assignment, policy_version, "policy_version", RO),
	FF(9, RD_F_STR, struct rd_lead_assignment, inputs, "inputs", RO),
	FEF(10, RD_F_U8ENUM, struct rd_lead_assignment, state, "state", assign_states, RO),
	FF(11, RD_F_U64, struct rd_lead_assignment, accepted_by, "accepted_by", RO),
	FF(12, RD_F_U64, struct rd_lead_assignment, user_id, "user_id", RO),
	FF(13, RD_F_STR, struct rd_lead_assignment, declined, "declined", RO),
	FF(14, RD_F_STR, struct rd_lead_assignment, decline_reason, "decline_reason", RO),
	FF(15, RD_F_TIME, struct rd_lead_assignment, created_at, "created_at", RO),
	FF(16, RD_F_TIME, struct rd_lead_assignment, closed_at, "closed_at", RO),
};
ENTITY(rd_entity_lead, "lead", "leads", RD_KIND_LEAD, struct rd_lead, lead_fields);
static const char *const review_states[] = { "", "open", "kept", "taken", NULL };
static const struct rd_field feed_review_fields[] = {
	F(1, RD_F_U64, struct rd_feed_review, id, "id"),
	F(2, RD_F_U64, struct rd_feed_review, contract_id, "contract_id"),
	F(3, RD_F_STR, struct rd_feed_review, field, "field"),
	F(4, RD_F_STR, struct rd_feed_review, current, "current"),
	F(5, RD_F_STR, struct rd_feed_review, proposed, "proposed"),
	FE(6, RD_F_U8ENUM, struct rd_feed_review, owner, "owner", import_sources),
	FE(7, RD_F_U8ENUM, struct rd_feed_review, source, "source", import_sources),
	F(8, RD_F_U64, struct rd_feed_review, import_id, "import_id"),
	F(9, RD_F_U64, struct rd_feed_review, partner_id, "partner_id"),
	FE(10, RD_F_U8ENUM, struct rd_feed_review, state, "state", review_states),
	FF(11, RD_F_TIME, struct rd_feed_review, created_at, "created_at", RO),
	FF(12, RD_F_TIME, struct rd_feed_review, decided_at, "decided_at", RO),
	F(13, RD_F_U64, struct rd_feed_review, decided_by, "decided_by"),
};
ENTITY(rd_entity_feed_review, "feed review", "feed_reviews", RD_KIND_FEED_REVIEW, struct rd_feed_review,
       feed_review_fields);
ENTITY(rd_entity_lead_assignment, "lead assignment", "lead_assignments", RD_KIND_LEAD_ASSIGNMENT,
       struct rd_lead_assignment, lead_assignment_fields);

static const char *const commission_kinds[] = { "", "earned", "retained", "reversal", NULL };

static const struct rd_field commission_fields[] = {
	F(1, RD_F_U64, struct rd_commission, id, "id"),
	FF(2, RD_F_U64, struct rd_commission, partner_id, "partner_id", RO),
	FF(3, RD_F_U64, struct rd_commission, order_id, "order_id", RO),
	FF(4, RD_F_U64, struct rd_commission, opportunity_id, "opportunity_id", RO),
	FF(5, RD_F_STR, struct rd_commission, party, "party", RO),
	FEF(6, RD_F_U8ENUM, struct rd_commission, kind, "kind", commission_kinds, RO),
	FF(7, RD_F_U32, struct rd_commission, bp, "bp", RO),
	FF(8, RD_F_U64, struct rd_commission, amount, "amount", RO),
	FF(9, RD_F_STR, struct rd_commission, currency, "currency", RO),
	FF(10, RD_F_STR, struct rd_commission, month, "month", RO),
	FF(11, RD_F_STR, struct rd_commission, order_number, "order_number", RO),
	FF(12, RD_F_TIME, struct rd_commission, created_at, "created_at", RO),
};

static const struct rd_field statement_fields[] = {
	F(1, RD_F_U64, struct rd_statement, id, "id"),
	FF(2, RD_F_U64, struct rd_statement, partner_id, "partner_id", RO),
	FF(3, RD_F_STR, struct rd_statement, month, "month", RO),
	FF(4, RD_F_STR, struct rd_statement, number, "number", RO),
	FF(5, RD_F_U32, struct rd_statement, lines, "lines", RO),
	FF(6, RD_F_STR, struct rd_statement, totals, "totals", RO),
	FF(7, RD_F_I32DATE, struct rd_statement, issued_on, "issued_on", RO),
	FF(8, RD_F_TIME, struct rd_statement, issued_at, "issued_at", RO),
};

ENTITY(rd_entity_commission, "commission", "commissions", RD_KIND_COMMISSION, struct rd_commission, commission_fields);
ENTITY(rd_entity_statement, "statement", "statements", RD_KIND_STATEMENT, struct rd_statement, statement_fields);

enum rd_colour rd_contract_colour(const struct rd_contract *c, rd_date today, uint32_t window_days)
{
	if (c->status == RD_CONTRACT_CANCELLED)
		return RD_BLACK;
	if (c->status == RD_CONTRACT_RENEWED)
		return RD_GREEN;
	if (c->status == RD_CONTRACT_ORDERED)
		return RD_BLUE;
	if (c->status == RD_CONTRACT_EXPIRED || c->end < today)
		return RD_RED;
	if ((int64_t)c->end - today <= (int64_t)window_days)
		return RD_AMBER;
	return RD_GREEN;
}

uint32_t rd_vendor_max_discount(const struct rd_vendor *v)
{
	return v->max_discount_set ? v->max_discount_bp : RD_DEFAULT_MAX_DISCOUNT_BP;
}

const char *rd_colour_name(enum rd_colour c)
{
	static const char *const n[] = { "", "red", "amber", "green", "black", "blue" };
	return c >= RD_RED && c <= RD_BLUE ? n[c] : "";
}

/* ---- record codec ------------------------------------------------------------ */

static uint64_t get_uint(const void *p, size_t size)
{
	switch (size) {
	case 1: return *(const uint8_t *)p;
	case 4: return *(const uint32_t *)p;
	default: return *(const uint64_t *)p;
	}
}

static void set_uint(void *p, size_t size, uint64_t v)
{
	switch (size) {
	case 1: *(uint8_t *)p = (uint8_t)v; break;
	case 4: *(uint32_t *)p = (uint32_t)v; break;
	default: *(uint64_t *)p = v; break;
	}
}

void rd_entity_encode(const struct rd_entity *e, const void *obj, struct rd_rec_writer *w)
{
	const char *base = obj;
	rd_rec_begin(w, e->kind, e->version);
	for (size_t i = 0; i < e->n_fields; i++) {
		const struct rd_field *f = &e->fields[i];
		const void *p = base + f->off;
		switch (f->type) {
		case RD_F_U64:
		case RD_F_U32:
		case RD_F_TIME:
		case RD_F_U8ENUM:
		case RD_F_U8FLAGS: {
			uint64_t v = get_uint(p, f->size);
			if (v)
				rd_rec_uint(w, f->no, v);
			break;
		}
		case RD_F_I32DATE:
			if (*(const int32_t *)p)
				rd_rec_sint(w, f->no, *(const int32_t *)p);
			break;
		case RD_F_STR:
			if (*(const char *)p) /* an empty string is an absent field */
				rd_rec_bytes(w, f->no, p, strnlen(p, f->size));
			break;
		case RD_F_PRICES: {
			uint8_t n = *(const uint8_t *)(base + f->count_off);
			const struct rd_price *pr = p;
			for (uint8_t k = 0; k < n; k++) {
				/* currency(3) term(1) amount(zigzag varint) in one bytes field */
				uint8_t buf[16];
				memcpy(buf, pr[k].currency, 3);
				buf[3] = pr[k].term;
				int64_t a = pr[k].amount;
				size_t len = 4 + rd_uvarint_put(buf + 4, ((uint64_t)a << 1) ^ (uint64_t)(a >> 63));
				rd_rec_bytes(w, f->no, buf, len);
			}
			break;
		}
		case RD_F_IDS: {
			uint8_t n = *(const uint8_t *)(base + f->count_off);
			const uint64_t *ids = p;
			for (uint8_t k = 0; k < n; k++)
				rd_rec_uint(w, f->no, ids[k]);
			break;
		}
		case RD_F_BYTES: {
			uint32_t n = *(const uint32_t *)(base + f->count_off);
			if (n)
				rd_rec_bytes(w, f->no, p, n <= f->size ? n : f->size);
			break;
		}
		case RD_F_QUOTE: {
			uint8_t n = *(const uint8_t *)(base + f->count_off);
			const struct rd_quote_line *l = p;
			struct rd_rec_writer lw = { 0 };
			rd_require(n <= f->size / sizeof *l);
			for (uint8_t k = 0; k < n; k++) {
				rd_quote_line_encode(&l[k], &lw);
				rd_rec_bytes(w, f->no, lw.buf, lw.len);
			}
			rd_rec_writer_free(&lw);
			break;
		}
		case RD_F_QUOTE_JSON: /* never written: read from old stores only */
			break;
		}
	}
}

static const struct rd_field *field_by_no(const struct rd_entity *e, uint32_t no)
{
	for (size_t i = 0; i < e->n_fields; i++)
		if (e->fields[i].no == no)
			return &e->fields[i];
	return NULL;
}

/* Zeroes obj before a decode, all but the bodies of its large text fields
 * (an opportunity's quote lines and notes, a message's text and HTML), which
 * get an empty string: a field is read up to its NUL, and zeroing kilobytes
 * nobody reads was an eighth of a renewal sweep. */
static void clear(const struct rd_entity *e, void *obj)
{
	enum { BIG = 256, MAX_BIG = 8 };
	size_t at[MAX_BIG], size[MAX_BIG], n = 0;
	for (size_t i = 0; i < e->n_fields && n < MAX_BIG; i++) {
		const struct rd_field *f = &e->fields[i];
		if ((f->type != RD_F_STR && f->type != RD_F_QUOTE) || f->size < BIG)
			continue;
		size_t k = n++;
		for (; k > 0 && at[k - 1] > f->off; k--) { /* by offset */
			at[k] = at[k - 1];
			size[k] = size[k - 1];
		}
		at[k] = f->off;
		size[k] = f->size;
	}
	char *base = obj;
	size_t from = 0;
	for (size_t k = 0; k < n; k++) {
		memset(base + from, 0, at[k] - from);
		base[at[k]] = 0;
		from = at[k] + size[k];
	}
	memset(base + from, 0, e->size - from);
}

int rd_entity_decode(const struct rd_entity *e, const void *rec, size_t len, void *obj)
{
	struct rd_rec_reader r;
	int rc = rd_rec_open(&r, rec, len, e->kind, e->version);
	if (rc < 0)
		return rc;
	char *base = obj;
	clear(e, obj);
	struct rd_rec_field fld;
	while ((rc = rd_rec_next(&r, &fld)) > 0) {
		const struct rd_field *f = field_by_no(e, fld.no);
		if (!f)
			continue; /* written by a newer layout: skip */
		void *p = base + f->off;
		switch (f->type) {
		case RD_F_U64:
		case RD_F_U32:
		case RD_F_TIME:
		case RD_F_U8ENUM:
		case RD_F_U8FLAGS:
			if (fld.wire != RD_WIRE_UINT)
				return RD_ECORRUPT;
			set_uint(p, f->size, fld.u);
			break;
		case RD_F_I32DATE:
			if (fld.wire != RD_WIRE_SINT)
				return RD_ECORRUPT;
			*(int32_t *)p = (int32_t)fld.i;
			break;
		case RD_F_STR:
			if (fld.wire != RD_WIRE_BYTES || fld.len >= f->size)
				return RD_ECORRUPT;
			memcpy(p, fld.data, fld.len);
			((char *)p)[fld.len] = 0;
			break;
		case RD_F_PRICES: {
			uint8_t *n = (uint8_t *)(base + f->count_off);
			if (fld.wire != RD_WIRE_BYTES || fld.len < 5 || *n >= RD_MAX_PRICES)
				return RD_ECORRUPT;
			struct rd_price *pr = (struct rd_price *)p + *n;
			memcpy(pr->currency, fld.data, 3);
			pr->currency[3] = 0;
			pr->term = fld.data[3];
			uint64_t zz;
			if (!rd_uvarint_get(fld.data + 4, fld.data + fld.len, &zz))
				return RD_ECORRUPT;
			pr->amount = (int64_t)(zz >> 1) ^ -(int64_t)(zz & 1);
			(*n)++;
			break;
		}
		case RD_F_IDS: {
			uint8_t *n = (uint8_t *)(base + f->count_off);
			if (fld.wire != RD_WIRE_UINT || *n >= RD_MAX_RELATED)
				return RD_ECORRUPT;
			((uint64_t *)p)[(*n)++] = fld.u;
			break;
		}
		case RD_F_BYTES:
			if (fld.wire != RD_WIRE_BYTES || fld.len > f->size)
				return RD_ECORRUPT;
			memcpy(p, fld.data, fld.len);
			*(uint32_t *)(base + f->count_off) = (uint32_t)fld.len;
			break;
		case RD_F_QUOTE: {
			uint8_t *n = (uint8_t *)(base + f->count_off);
			if (fld.wire != RD_WIRE_BYTES || *n >= f->size / sizeof(struct rd_quote_line) ||
			    rd_quote_line_decode(fld.data, fld.len, (struct rd_quote_line *)p + *n) < 0)
				return RD_ECORRUPT;
			(*n)++;
			break;
		}
		case RD_F_QUOTE_JSON: {
			uint8_t *n = (uint8_t *)(base + f->count_off);
			if (fld.wire != RD_WIRE_BYTES)
				return RD_ECORRUPT;
			if (*n) /* the typed form came first: it wins */
				break;
			/* An old store's lines that do not parse were shown as none. */
			if (rd_quote_lines_from_json((const char *)fld.data, fld.len, p,
						     f->size / sizeof(struct rd_quote_line), n) < 0)
				*n = 0;
			break;
		}
		}
	}
	return rc < 0 ? rc : 0;
}

/* ---- JSON ----------------------------------------------------------------------- */

json_t *rd_entity_to_json(const struct rd_entity *e, const void *obj)
{
	const char *base = obj;
	json_t *j = json_object();
	for (size_t i = 0; i < e->n_fields; i++) {
		const struct rd_field *f = &e->fields[i];
		const void *p = base + f->off;
		json_t *v = NULL;
		if ((f->flags & RD_FF_PRIVATE) || f->type == RD_F_BYTES)
			continue;
		switch (f->type) {
		case RD_F_TIME: {
			char t[21];
			uint64_t x = get_uint(p, f->size);
			rd_time_format(x, t);
			v = x ? json_string(t) : json_null();
			break;
		}
		case RD_F_U64:
		case RD_F_U32: {
			uint64_t x = get_uint(p, f->size);
			/* A zero reference ("..._id") is absent; a zero count is 0. */
			size_t jl = strlen(f->json);
			bool ref = f->no != 1 && jl > 3 && strcmp(f->json + jl - 3, "_id") == 0;
			v = x || !ref ? json_integer((json_int_t)x) : json_null();
			break;
		}
		case RD_F_I32DATE: {
			char d[11];
			rd_date_format(*(const int32_t *)p, d);
			v = *(const int32_t *)p ? json_string(d) : json_null();
			break;
		}
		case RD_F_U8ENUM: {
			uint8_t x = *(const uint8_t *)p;
			size_t n = 0;
			while (f->names[n])
				n++;
			v = x && x < n ? json_string(f->names[x]) : json_null();
			break;
		}
		case RD_F_U8FLAGS: {
			uint8_t x = *(const uint8_t *)p;
			v = json_array();
			for (size_t k = 0; f->names[k]; k++)
				if (x & (1u << k))
					json_array_append_new(v, json_string(f->names[k]));
			break;
		}
		case RD_F_STR:
			v = json_stringn(p, strnlen(p, f->size));
			break;
		case RD_F_PRICES: {
			uint8_t n = *(const uint8_t *)(base + f->count_off);
			const struct rd_price *pr = p;
			v = json_array();
			for (uint8_t k = 0; k < n; k++)
				json_array_append_new(v, json_pack("{s:s, s:s, s:I}", "currency", pr[k].currency, "term",
								   pr[k].term < 5 ? terms[pr[k].term] : "", "amount",
								   (json_int_t)pr[k].amount));
			break;
		}
		case RD_F_IDS: {
			uint8_t n = *(const uint8_t *)(base + f->count_off);
			v = json_array();
			for (uint8_t k = 0; k < n; k++)
				json_array_append_new(v, json_integer((json_int_t)((const uint64_t *)p)[k]));
			break;
		}
		case RD_F_QUOTE:
			v = rd_quote_lines_json(p, *(const uint8_t *)(base + f->count_off));
			break;
		case RD_F_BYTES: /* skipped above: never shown */
		case RD_F_QUOTE_JSON:
			break;
		}
		json_object_set_new(j, f->json, v);
	}
	return j;
}

static int enum_value(const struct rd_field *f, const char *s)
{
	for (int k = 1; f->names[k]; k++)
		if (strcmp(f->names[k], s) == 0)
			return k;
	return -1;
}

static int names_list(const struct rd_field *f, int from, char *out, size_t cap)
{
	size_t n = 0;
	out[0] = 0;
	for (int k = from; f->names[k]; k++)
		n += (size_t)snprintf(out + n, n < cap ? cap - n : 0, "%s%s", k > from ? ", " : "", f->names[k]);
	return 0;
}

/* An active ISO 4217 code (the money module's table). */
static bool valid_currency(const char *s)
{
	return rd_money_currency_valid(s);
}

int rd_entity_from_json(const struct rd_entity *e, json_t *j, void *obj, const char **bad, char *why, size_t whylen)
{
	char *base = obj;
	const char *key;
	json_t *v;
	json_object_foreach(j, key, v) {
		const struct rd_field *f = NULL;
		for (size_t i = 0; i < e->n_fields; i++)
			if (strcmp(e->fields[i].json, key) == 0)
				f = &e->fields[i];
		*bad = f ? f->json : key;
		if (!f) {
			snprintf(why, whylen, "unknown field \"%s\" for a %s", key, e->name);
			return RD_EINVAL;
		}
		void *p = base + f->off;
		if (f->no == 1 || (f->flags & RD_FF_READONLY)) {
			snprintf(why, whylen, "field %s is set by renewd and cannot be written", key);
			return RD_EINVAL;
		}
		switch (f->type) {
		case RD_F_TIME:
		case RD_F_BYTES:
		case RD_F_QUOTE:
		case RD_F_QUOTE_JSON:
			return RD_EINVAL; /* always read-only */
		case RD_F_U64:
		case RD_F_U32: {
			if (json_is_null(v) && f->type == RD_F_U64) {
				set_uint(p, f->size, 0);
				break;
			}
			json_int_t x = json_is_integer(v) ? json_integer_value(v) : -1;
			uint64_t max = f->type == RD_F_U32 ? UINT32_MAX : (uint64_t)INT64_MAX;
			if (!json_is_integer(v) || x < 0 || (uint64_t)x > max) {
				snprintf(why, whylen, "field %s must be a whole number from 0 to %llu", key,
					 (unsigned long long)max);
				return RD_EINVAL;
			}
			set_uint(p, f->size, (uint64_t)x);
			break;
		}
		case RD_F_I32DATE: {
			rd_date d;
			if (!json_is_string(v) || rd_date_parse(json_string_value(v), &d) < 0) {
				snprintf(why, whylen, "field %s must be a calendar date YYYY-MM-DD", key);
				return RD_EINVAL;
			}
			*(int32_t *)p = d;
			break;
		}
		case RD_F_U8ENUM: {
			int x = json_is_string(v) ? enum_value(f, json_string_value(v)) : -1;
			if (x < 0) {
				char list[160];
				names_list(f, 1, list, sizeof list);
				snprintf(why, whylen, "field %s must be one of: %s", key, list);
				return RD_EINVAL;
			}
			*(uint8_t *)p = (uint8_t)x;
			break;
		}
		case RD_F_U8FLAGS: {
			uint8_t bits = 0;
			size_t k;
			json_t *it;
			if (!json_is_array(v))
				goto bad_flags;
			json_array_foreach(v, k, it) {
				int bit = -1;
				for (int b = 0; json_is_string(it) && f->names[b]; b++)
					if (strcmp(f->names[b], json_string_value(it)) == 0)
						bit = b;
				if (bit < 0)
					goto bad_flags;
				bits |= (uint8_t)(1u << bit);
			}
			*(uint8_t *)p = bits;
			break;
		bad_flags: {
			char list[160];
			names_list(f, 0, list, sizeof list);
			snprintf(why, whylen, "field %s must be a list drawn from: %s", key, list);
			return RD_EINVAL;
		}
		}
		case RD_F_STR: {
			if (!json_is_string(v)) {
				snprintf(why, whylen, "field %s must be a string", key);
				return RD_EINVAL;
			}
			size_t n = json_string_length(v);
			const char *s = json_string_value(v);
			if (n >= f->size || memchr(s, 0, n)) {
				snprintf(why, whylen, "field %s must be text of at most %zu bytes", key, f->size - 1);
				return RD_EINVAL;
			}
			if (strcmp(key, "currency") == 0 && !valid_currency(s)) {
				snprintf(why, whylen, "field currency: \"%.16s\" is not an active ISO 4217 currency code (such as EUR, JPY)", s);
				return RD_EINVAL;
			}
			memcpy(p, s, n + 1);
			break;
		}
		case RD_F_PRICES: {
			uint8_t *n = (uint8_t *)(base + f->count_off);
			struct rd_price *pr = p;
			size_t k;
			json_t *it;
			if (!json_is_array(v) || json_array_size(v) > RD_MAX_PRICES) {
				snprintf(why, whylen, "field %s must be a list of at most %d prices", key, RD_MAX_PRICES);
				return RD_EINVAL;
			}
			*n = 0;
			json_array_foreach(v, k, it) {
				const char *cur = NULL, *term = NULL;
				json_int_t amount = -1;
				if (json_unpack(it, "{s:s, s:s, s:I !}", "currency", &cur, "term", &term, "amount", &amount) != 0 ||
				    amount < 0) {
					snprintf(why, whylen,
						 "field %s[%zu] must be {\"currency\": ISO 4217, \"term\": annual|quarterly|monthly|flex, \"amount\": minor units >= 0}",
						 key, k);
					return RD_EINVAL;
				}
				if (!valid_currency(cur)) {
					snprintf(why, whylen, "field %s[%zu]: currency \"%.16s\" is not an active ISO 4217 currency code (such as EUR, JPY)",
						 key, k, cur);
					return RD_EINVAL;
				}
				int t = -1;
				for (int x = 1; terms[x]; x++)
					if (strcmp(terms[x], term) == 0)
						t = x;
				if (t < 0) {
					snprintf(why, whylen, "field %s[%zu].term must be annual, quarterly, monthly or flex", key, k);
					return RD_EINVAL;
				}
				memcpy(pr[*n].currency, cur, 4);
				pr[*n].term = (uint8_t)t;
				pr[*n].amount = amount;
				(*n)++;
			}
			break;
		}
		case RD_F_IDS: {
			uint8_t *n = (uint8_t *)(base + f->count_off);
			size_t k;
			json_t *it;
			if (!json_is_array(v) || json_array_size(v) > RD_MAX_RELATED) {
				snprintf(why, whylen, "field %s must be a list of at most %d ids", key, RD_MAX_RELATED);
				return RD_EINVAL;
			}
			*n = 0;
			json_array_foreach(v, k, it) {
				if (!json_is_integer(it) || json_integer_value(it) <= 0) {
					snprintf(why, whylen, "field %s[%zu] must be an id", key, k);
					return RD_EINVAL;
				}
				((uint64_t *)p)[(*n)++] = (uint64_t)json_integer_value(it);
			}
			break;
		}
		}
	}
	*bad = NULL;
	return 0;
}

const struct rd_field *rd_entity_field(const struct rd_entity *e, const char *name)
{
	const struct rd_field *f = NULL;
	for (size_t i = 0; i < e->n_fields; i++)
		if (strcmp(e->fields[i].json, name) == 0)
			f = &e->fields[i];
	return f;
}

int rd_entity_set_text(const struct rd_entity *e, void *obj, const char *name, const char *text, char *why,
		       size_t whylen)
{
	return rd_field_set_text(rd_entity_field(e, name), obj, text, why, whylen);
}

int rd_field_set_text(const struct rd_field *f, void *obj, const char *text, char *why, size_t whylen)
{
	if (!f)
		return RD_ENOTFOUND;
	const char *name = f->json;
	if (f->no == 1 || (f->flags & RD_FF_READONLY) || f->type == RD_F_PRICES || f->type == RD_F_IDS ||
	    f->type == RD_F_TIME)
		return RD_ENOTFOUND;
	void *p = (char *)obj + f->off;
	switch (f->type) {
	case RD_F_U64:
	case RD_F_U32: {
		uint64_t max = f->type == RD_F_U32 ? UINT32_MAX : (uint64_t)INT64_MAX, v = 0;
		const char *s = text;
		if (!*s)
			goto bad_number;
		for (; *s; s++) {
			if (*s < '0' || *s > '9' || v > (max - (uint64_t)(*s - '0')) / 10)
				goto bad_number;
			v = v * 10 + (uint64_t)(*s - '0');
		}
		set_uint(p, f->size, v);
		return 0;
	bad_number:
		snprintf(why, whylen, "%s must be a whole number from 0 to %llu", name, (unsigned long long)max);
		return RD_EINVAL;
	}
	case RD_F_I32DATE:
		if (rd_date_parse(text, (rd_date *)p) < 0) {
			snprintf(why, whylen, "%s must be a calendar date YYYY-MM-DD, not \"%.40s\"", name, text);
			return RD_EINVAL;
		}
		return 0;
	case RD_F_U8ENUM: {
		int v = enum_value(f, text);
		if (v < 0) {
			char list[160];
			names_list(f, 1, list, sizeof list);
			snprintf(why, whylen, "%s must be one of: %s", name, list);
			return RD_EINVAL;
		}
		*(uint8_t *)p = (uint8_t)v;
		return 0;
	}
	case RD_F_U8FLAGS: {
		uint8_t bits = 0;
		const char *s = text;
		while (*s) {
			size_t n = strcspn(s, ";,");
			int bit = -1;
			for (int b = 0; f->names[b]; b++)
				if (strlen(f->names[b]) == n && strncmp(f->names[b], s, n) == 0)
					bit = b;
			if (bit < 0 && n) {
				char list[160];
				names_list(f, 0, list, sizeof list);
				snprintf(why, whylen, "%s must list names from: %s (separated by ;)", name, list);
				return RD_EINVAL;
			}
			if (bit >= 0)
				bits |= (uint8_t)(1u << bit);
			s += n;
			if (*s)
				s++;
		}
		*(uint8_t *)p = bits;
		return 0;
	}
	case RD_F_STR: {
		size_t n = strlen(text);
		if (n >= f->size) {
			snprintf(why, whylen, "%s must be text of at most %zu bytes", name, f->size - 1);
			return RD_EINVAL;
		}
		if (strcmp(name, "currency") == 0 && !valid_currency(text)) {
			snprintf(why, whylen, "currency: \"%.16s\" is not an active ISO 4217 currency code (such as EUR, JPY)", text);
			return RD_EINVAL;
		}
		memcpy(p, text, n + 1);
		return 0;
	}
	default:
		return RD_ENOTFOUND;
	}
}

/* ---- tables and indexes ------------------------------------------------------------- */

void rd_date_key(rd_date d, uint8_t out[4])
{
	uint32_t u = (uint32_t)d + 0x80000000u; /* order negative dates first */
	out[0] = (uint8_t)(u >> 24);
	out[1] = (uint8_t)(u >> 16);
	out[2] = (uint8_t)(u >> 8);
	out[3] = (uint8_t)u;
}

/* Finds one field in a record without decoding the rest. */
/* The fields of the last two records the index keys were taken from, so
 * that a record's keys (nine indexes of a contract, its counters' report
 * key) decode it once: a record's keys are a function of its bytes alone,
 * so a record whose bytes equal a kept one's is answered from it (its
 * fields' bytes read from the caller's record, at the same offsets).  Per
 * thread; records longer than MEMO_MAX are decoded as ever. */
#define MEMO_MAX 2048
#define MEMO_FIRST 64 /* find_field: a field's first occurrence */
#define MEMO_LAST 32  /* rep_collect: a field's last occurrence */
#define MEMO_NOFF UINT16_MAX

struct rec_memo {
	size_t len; /* 0: empty */
	int rc;     /* the scan's end: 0, or the error that stopped it */
	uint64_t has_first;
	uint32_t has_last;
	struct rd_rec_field first[MEMO_FIRST], last[MEMO_LAST];
	uint16_t first_off[MEMO_FIRST], last_off[MEMO_LAST]; /* data's offset in the record */
	uint8_t rec[MEMO_MAX];
};

static _Thread_local struct rec_memo memo[2];
static _Thread_local unsigned memo_hit; /* the slot last answered from */

static _Thread_local const void *memo_seen; /* the record a look-up last missed */
static _Thread_local size_t memo_seen_len;

/* The record's fields, decoded now if need be; NULL (the caller scans for
 * its field itself) when only part of it may be wanted: a single field's
 * look-up (`fill` false) decodes the whole record only for the second
 * look-up of the same record in a row, so that a walk asking one key of
 * each record scans each as far as that field alone, as before. */
static struct rec_memo *memo_get(const void *rec, size_t len, bool fill)
{
	if (!len || len > MEMO_MAX)
		return NULL;
	for (unsigned s = 0; s < 2; s++)
		if (memo[s].len == len && memcmp(memo[s].rec, rec, len) == 0) {
			memo_hit = s;
			return &memo[s];
		}
	if (!fill && (memo_seen != rec || memo_seen_len != len)) {
		memo_seen = rec;
		memo_seen_len = len;
		return NULL;
	}
	memo_seen = NULL;
	unsigned s = memo_hit ^ 1u;
	struct rec_memo *m = &memo[s];
	struct rd_rec_reader r;
	struct rd_rec_field f;
	m->len = 0;
	m->has_first = 0;
	m->has_last = 0;
	int rc = rd_rec_open(&r, rec, len, 0, UINT16_MAX);
	if (rc >= 0) {
		while ((rc = rd_rec_next(&r, &f)) > 0) {
			uint16_t off = MEMO_NOFF;
			if (f.data && f.data >= (const uint8_t *)rec && f.data <= (const uint8_t *)rec + len)
				off = (uint16_t)(f.data - (const uint8_t *)rec);
			if (f.no < MEMO_FIRST && !(m->has_first >> f.no & 1)) {
				m->has_first |= 1ull << f.no;
				m->first[f.no] = f;
				m->first_off[f.no] = off;
			}
			if (f.no < MEMO_LAST) {
				m->has_last |= 1u << f.no;
				m->last[f.no] = f;
				m->last_off[f.no] = off;
			}
		}
	}
	m->rc = rc;
	memcpy(m->rec, rec, len);
	m->len = len;
	memo_hit = s;
	return m;
}

static void memo_field(const struct rd_rec_field *f, uint16_t off, const void *rec, struct rd_rec_field *out)
{
	*out = *f;
	if (off != MEMO_NOFF)
		out->data = (const uint8_t *)rec + off;
}

static int find_field(const void *rec, size_t len, uint32_t no, struct rd_rec_field *out)
{
	struct rec_memo *m = no < MEMO_FIRST ? memo_get(rec, len, false) : NULL;
	if (m) {
		if (!(m->has_first >> no & 1))
			return m->rc;
		memo_field(&m->first[no], m->first_off[no], rec, out);
		return 1;
	}
	struct rd_rec_reader r;
	int rc = rd_rec_open(&r, rec, len, 0, UINT16_MAX);
	if (rc < 0)
		return rc;
	while ((rc = rd_rec_next(&r, out)) > 0)
		if (out->no == no)
			return 1;
	return rc;
}

static int key_string(const void *rec, size_t len, uint32_t no, uint8_t *key, size_t cap)
{
	struct rd_rec_field f;
	int rc = find_field(rec, len, no, &f);
	if (rc <= 0)
		return rc;
	if (f.wire != RD_WIRE_BYTES || f.len + 1 > cap || memchr(f.data, 0, f.len))
		return RD_ECORRUPT;
	memcpy(key, f.data, f.len);
	key[f.len] = 0; /* self-delimiting */
	return (int)f.len + 1;
}

static int key_u64(const void *rec, size_t len, uint32_t no, uint8_t *key, size_t cap)
{
	struct rd_rec_field f;
	int rc = find_field(rec, len, no, &f);
	if (rc <= 0)
		return rc;
	if (f.wire != RD_WIRE_UINT || cap < 8)
		return RD_ECORRUPT;
	rd_key_put_u64(key, f.u);
	return 8;
}

static int key_ext(const void *rec, size_t len, uint8_t *key, size_t cap) { return key_string(rec, len, 2, key, cap); }
/* Leads: their external id is field 3. */
static int key_lead_ext(const void *rec, size_t len, uint8_t *key, size_t cap) { return key_string(rec, len, 3, key, cap); }
static const struct rd_index_def lead_idx[] = { { "ext", key_lead_ext } };
static int key_customer(const void *rec, size_t len, uint8_t *key, size_t cap) { return key_u64(rec, len, 3, key, cap); }
static int key_reseller(const void *rec, size_t len, uint8_t *key, size_t cap) { return key_u64(rec, len, 5, key, cap); }
/* The distributor of record (field 6); none without one. */
static int key_distributor(const void *rec, size_t len, uint8_t *key, size_t cap) { return key_u64(rec, len, 6, key, cap); }
static int key_partner_parent(const void *rec, size_t len, uint8_t *key, size_t cap) { return key_u64(rec, len, 6, key, cap); }

static int key_end(const void *rec, size_t len, uint8_t *key, size_t cap)
{
	struct rd_rec_field f;
	int rc = find_field(rec, len, 9, &f);
	if (rc <= 0)
		return rc;
	if (f.wire != RD_WIRE_SINT || cap < 4)
		return RD_ECORRUPT;
	rd_date_key((rd_date)f.i, key);
	return 4;
}

/* Live (status 1) and not yet quoted (field 14 absent or 0): by end date. */
static int key_unquoted(const void *rec, size_t len, uint8_t *key, size_t cap)
{
	struct rd_rec_field f;
	int rc = find_field(rec, len, 12, &f);
	if (rc <= 0 || f.wire != RD_WIRE_UINT || f.u != RD_CONTRACT_LIVE)
		return rc < 0 ? rc : 0;
	if ((rc = find_field(rec, len, 14, &f)) < 0)
		return rc;
	if (rc > 0 && (f.wire != RD_WIRE_UINT || f.u != 0))
		return 0;
	return key_end(rec, len, key, cap);
}

/* Contracts by serial or licence key (field 50).  A record without one has
 * no entry, so a store written before the field existed needs no rebuild:
 * none of its contracts holds a key. */
static int key_licence(const void *rec, size_t len, uint8_t *key, size_t cap) { return key_string(rec, len, 50, key, cap); }
/* ---- the reports' indexes (core/services/reports.c) --------------------------------------
 * Each carries, in its key, every value the reports read of a record, so a
 * report walks the index keys alone (rd_iter keys_only) and never decodes a
 * record.  Layouts: RD_REPKEY_* in model.h. */

/* Collects the record's plain fields numbered below 32 (the rest are skipped). */
/* The fields of a record a report key reads (each field's last
 * occurrence): only those of the caller's mask are filled, from the
 * record's memo when it has one. */
struct rep_fields {
	uint32_t has; /* bit no: f[no] is filled */
	struct rd_rec_field f[32];
};

#define REP(no) (UINT32_C(1) << (no))

static int rep_collect(const void *rec, size_t len, struct rep_fields *out, uint32_t mask)
{
	out->has = 0;
	struct rec_memo *m = memo_get(rec, len, true);
	if (m) {
		for (uint32_t want = m->has_last & mask; want; want &= want - 1) {
			uint32_t no = (uint32_t)__builtin_ctz(want);
			memo_field(&m->last[no], m->last_off[no], rec, &out->f[no]);
		}
		out->has = m->has_last & mask;
		return m->rc;
	}
	struct rd_rec_reader r;
	struct rd_rec_field f;
	int rc = rd_rec_open(&r, rec, len, 0, UINT16_MAX);
	if (rc < 0)
		return rc;
	while ((rc = rd_rec_next(&r, &f)) > 0)
		if (f.no < 32 && (mask >> f.no & 1)) {
			out->has |= REP(f.no);
			out->f[f.no] = f;
		}
	return rc;
}

static uint64_t rep_u(const struct rep_fields *x, uint32_t no)
{
	return (x->has >> no & 1) && x->f[no].wire == RD_WIRE_UINT ? x->f[no].u : 0;
}

static void rep_cur(const struct rep_fields *x, uint32_t no, uint8_t out[3])
{
	memset(out, 0, 3);
	if ((x->has >> no & 1) && x->f[no].wire == RD_WIRE_BYTES)
		memcpy(out, x->f[no].data, x->f[no].len < 3 ? x->f[no].len : 3);
}

static void put_u32(uint8_t *p, uint32_t v)
{
	p[0] = (uint8_t)(v >> 24);
	p[1] = (uint8_t)(v >> 16);
	p[2] = (uint8_t)(v >> 8);
	p[3] = (uint8_t)v;
}

static int key_contract_report(const void *rec, size_t len, uint8_t *key, size_t cap)
{
	struct rep_fields x;
	int rc = rep_collect(rec, len, &x, REP(3) | REP(4) | REP(5) | REP(6) | REP(7) | REP(9) | REP(10) | REP(11) | REP(12));
	if (rc < 0)
		return rc;
	if (cap < RD_REPKEY_CONTRACT_LEN)
		return RD_ECORRUPT;
	rd_key_put_u64(key + 0, rep_u(&x, 4));  /* product */
	rd_key_put_u64(key + 8, rep_u(&x, 3));  /* customer */
	rd_key_put_u64(key + 16, rep_u(&x, 5)); /* reseller */
	rd_key_put_u64(key + 24, rep_u(&x, 6)); /* distributor */
	rd_date_key((x.has >> 9 & 1) && x.f[9].wire == RD_WIRE_SINT ? (rd_date)x.f[9].i : 0, key + 32);
	put_u32(key + 36, (uint32_t)rep_u(&x, 7)); /* quantity */
	key[40] = (uint8_t)rep_u(&x, 10);          /* term */
	key[41] = (uint8_t)rep_u(&x, 12);          /* status */
	rep_cur(&x, 11, key + 42);
	return RD_REPKEY_CONTRACT_LEN;
}

int rd_contract_report_key(const void *rec, size_t len, uint8_t key[RD_REPKEY_CONTRACT_LEN])
{
	return key_contract_report(rec, len, key, RD_REPKEY_CONTRACT_LEN);
}

int rd_contract_report_product(const void *rec, size_t len, uint64_t *product, uint8_t currency[3])
{
	/* As rep_collect reads them (the last of each field), without
	 * keeping the rest: most records asked are not the caller's. */
	struct rd_rec_reader r;
	struct rd_rec_field f;
	*product = 0;
	memset(currency, 0, 3);
	int rc = rd_rec_open(&r, rec, len, 0, UINT16_MAX);
	if (rc < 0)
		return rc;
	while ((rc = rd_rec_next(&r, &f)) > 0) {
		if (f.no == 4)
			*product = f.wire == RD_WIRE_UINT ? f.u : 0;
		else if (f.no == 11) {
			memset(currency, 0, 3);
			if (f.wire == RD_WIRE_BYTES)
				memcpy(currency, f.data, f.len < 3 ? f.len : 3);
		}
	}
	return rc;
}

/* The same with the customer first (RD_IDX_REPORT_CUSTOMER). */
static int key_contract_report_customer(const void *rec, size_t len, uint8_t *key, size_t cap)
{
	int n = key_contract_report(rec, len, key, cap);
	if (n == RD_REPKEY_CONTRACT_LEN) {
		uint8_t product[8];
		memcpy(product, key, 8);
		memcpy(key, key + 8, 8);
		memcpy(key + 8, product, 8);
	}
	return n;
}

static int key_opp_report(const void *rec, size_t len, uint8_t *key, size_t cap)
{
	struct rep_fields x;
	int rc = rep_collect(rec, len, &x, REP(3) | REP(8) | REP(9) | REP(11) | REP(14) | REP(15) | REP(23));
	if (rc < 0)
		return rc;
	if (cap < RD_REPKEY_OPP_LEN + 1)
		return RD_ECORRUPT;
	rd_key_put_u64(key + 0, rep_u(&x, 3)); /* contract */
	key[8] = (uint8_t)rep_u(&x, 8);        /* state */
	key[9] = (uint8_t)rep_u(&x, 9);        /* publish */
	rep_cur(&x, 14, key + 10);
	rd_key_put_u64(key + 13, rep_u(&x, 15)); /* list_total */
	rd_date_key((x.has >> 11 & 1) && x.f[11].wire == RD_WIRE_SINT ? (rd_date)x.f[11].i : 0, key + 21);
	size_t n = 0;
	if ((x.has >> 23 & 1) && x.f[23].wire == RD_WIRE_BYTES) {
		n = x.f[23].len;
		if (n > RD_REPKEY_REASON_MAX)
			n = RD_REPKEY_REASON_MAX;
		if (cap < RD_REPKEY_OPP_LEN + n + 1 || memchr(x.f[23].data, 0, n))
			return RD_ECORRUPT;
		memcpy(key + RD_REPKEY_OPP_LEN, x.f[23].data, n);
	}
	key[RD_REPKEY_OPP_LEN + n] = 0; /* self-delimiting */
	return (int)(RD_REPKEY_OPP_LEN + n + 1);
}

static int key_order_report(const void *rec, size_t len, uint8_t *key, size_t cap)
{
	struct rep_fields x;
	int rc = rep_collect(rec, len, &x, REP(4) | REP(8) | REP(12) | REP(13) | REP(14));
	if (rc < 0)
		return rc;
	if (cap < RD_REPKEY_ORDER_LEN)
		return RD_ECORRUPT;
	rd_key_put_u64(key + 0, rep_u(&x, 4)); /* contract */
	key[8] = (uint8_t)rep_u(&x, 14);       /* state */
	key[9] = (uint8_t)rep_u(&x, 8);        /* publish */
	rep_cur(&x, 12, key + 10);
	rd_key_put_u64(key + 13, rep_u(&x, 13)); /* total */
	return RD_REPKEY_ORDER_LEN;
}

/* ---- the reports' counters (model.h RD_CNT_*; store.h "Counters") ----------------------------
 * A contract's contributions, joined as services/reports.c's walk joins it:
 * its opportunity of the highest id, its paid (or fulfilled) order last in
 * the orders' report key order, its product's price for its term and
 * currency.  Opportunities, orders and products name the contracts whose
 * contributions they change (counter owners). */

struct cnt_join {
	bool has_opp, paid;
	uint64_t opp_id;
	uint8_t opp_state, publish;
	uint8_t opp_cur[3], order_cur[3];
	int64_t list, order_total;
	uint8_t opp_end[4];
	char reason[RD_REPKEY_REASON_MAX + 1];
};

static int cnt_join(struct rd_txn *t, uint64_t tenant, uint64_t contract, struct cnt_join *j)
{
	memset(j, 0, sizeof *j);
	uint8_t from[8], to[8];
	rd_key_put_u64(from, contract);
	rd_key_put_u64(to, contract + 1);
	struct rd_table *opps = rd_txn_table(t, "opportunities"), *orders = rd_txn_table(t, "orders");
	struct rd_iter it;
	struct rd_item item;
	int rc = opps ? rd_iter_index(&it, t, opps, RD_IDX_REPORT, tenant, from, 8, to, 8) : 0;
	if (opps) {
		it.keys_only = true;
		while (rc >= 0 && (rc = rd_iter_next(&it, &item)) > 0) {
			if (item.key_len < RD_REPKEY_OPP_LEN + 1 || (j->has_opp && j->opp_id > item.id))
				continue;
			const uint8_t *k = item.key;
			j->has_opp = true;
			j->opp_id = item.id;
			j->opp_state = k[8];
			j->publish = k[9];
			memcpy(j->opp_cur, k + 10, 3);
			j->list = (int64_t)rd_key_get_u64(k + 13);
			memcpy(j->opp_end, k + 21, 4);
			snprintf(j->reason, sizeof j->reason, "%s", (const char *)k + RD_REPKEY_OPP_LEN);
		}
		rd_iter_close(&it);
	}
	if (rc < 0 || !orders)
		return rc < 0 ? rc : 0;
	rc = rd_iter_index(&it, t, orders, RD_IDX_REPORT, tenant, from, 8, to, 8);
	it.keys_only = true;
	while (rc >= 0 && (rc = rd_iter_next(&it, &item)) > 0) {
		const uint8_t *k = item.key;
		if (item.key_len < RD_REPKEY_ORDER_LEN || (k[8] != RD_ORDER_PAID && k[8] != RD_ORDER_FULFILLED))
			continue;
		j->paid = true;
		memcpy(j->order_cur, k + 10, 3);
		j->order_total = (int64_t)rd_key_get_u64(k + 13);
	}
	rd_iter_close(&it);
	return rc < 0 ? rc : 0;
}

static void cnt_month(rd_date d, uint8_t out[4])
{
	int y, m, dd;
	rd_date_to_ymd(d, &y, &m, &dd);
	put_u32(out, (uint32_t)(y * 12 + m - 1));
}

/* A product's prices, kept per thread for the products last read (a slot
 * per id modulo PRICE_SLOTS), each with the record's bytes they were
 * decoded from: a record whose bytes equal the slot's is not decoded again
 * (the prices are a function of the bytes alone). */
#define PRICE_SLOTS 64
#define PRICE_REC_MAX 512

struct price_slot {
	size_t len; /* 0: empty */
	unsigned n;
	struct rd_price prices[RD_MAX_PRICES];
	uint8_t rec[PRICE_REC_MAX];
};

static _Thread_local struct price_slot price_cache[PRICE_SLOTS];

static const struct price_slot *product_prices(uint64_t id, const void *rec, size_t len)
{
	static _Thread_local struct price_slot big; /* a record too long to keep */
	struct price_slot *ps = len && len <= PRICE_REC_MAX ? &price_cache[id % PRICE_SLOTS] : &big;
	if (ps != &big && ps->len == len && memcmp(ps->rec, rec, len) == 0)
		return ps;
	struct rd_product *p = rd_malloc(sizeof *p);
	/* A product that does not decode prices nothing (a contract's write
	 * is not refused for it; renewctl check names the record). */
	if (rd_entity_decode(&rd_entity_product, rec, len, p) < 0)
		p->n_prices = 0;
	ps->len = 0;
	ps->n = p->n_prices <= RD_MAX_PRICES ? p->n_prices : 0;
	memcpy(ps->prices, p->prices, ps->n * sizeof *ps->prices);
	free(p);
	if (ps != &big) {
		memcpy(ps->rec, rec, len);
		ps->len = len;
	}
	return ps;
}

static int contract_contrib(struct rd_txn *t, uint64_t tenant, uint64_t id, const void *rec, size_t len,
			    rd_counter_emit_fn emit, void *arg)
{
	uint8_t rk[RD_REPKEY_CONTRACT_LEN];
	int rc = key_contract_report(rec, len, rk, sizeof rk);
	if (rc < 0)
		return rc;
	uint64_t product = rd_key_get_u64(rk), reseller = rd_key_get_u64(rk + 16), distributor = rd_key_get_u64(rk + 24);
	uint32_t qty = (uint32_t)rk[36] << 24 | (uint32_t)rk[37] << 16 | (uint32_t)rk[38] << 8 | rk[39];
	uint8_t term = rk[40], status = rk[41];
	const uint8_t *cur = rk + 42;
	rd_date end = (rd_date)(((uint32_t)rk[32] << 24 | (uint32_t)rk[33] << 16 | (uint32_t)rk[34] << 8 | rk[35]) -
				0x80000000u);
	struct cnt_join j;
	if ((rc = cnt_join(t, tenant, id, &j)) < 0)
		return rc;
	/* The value: the product's price for the term and currency times the seats. */
	int64_t value = 0;
	bool priced = false;
	struct rd_table *products = rd_txn_table(t, "products");
	const void *pv;
	size_t pl;
	if (products && (rc = rd_txn_get(t, products, tenant, product, &pv, &pl)) == 0) {
		const struct price_slot *ps = product_prices(product, pv, pl);
		char c3[4] = { (char)cur[0], (char)cur[1], (char)cur[2], 0 };
		for (unsigned i = 0; i < ps->n; i++)
			if (ps->prices[i].term == term && memcmp(ps->prices[i].currency, c3, 3) == 0) {
				priced = rd_money_mul(ps->prices[i].amount, qty, &value) == 0;
				break;
			}
	} else if (rc < 0 && rc != RD_ENOTFOUND) {
		return rc;
	}
	if (!priced)
		value = 0;
	bool won = status == RD_CONTRACT_RENEWED || status == RD_CONTRACT_ORDERED || j.opp_state == RD_OPP_WON || j.paid;
	bool cancelled = status == RD_CONTRACT_CANCELLED;
	bool lost = !won && (cancelled || status == RD_CONTRACT_EXPIRED || j.opp_state == RD_OPP_LOST ||
			     j.opp_state == RD_OPP_EXPIRED);
	bool resolved = won || lost;
	int64_t renewed = won ? value : 0;
	const uint8_t *rcur = cur;
	if (won && j.paid) {
		renewed = j.order_total;
		rcur = j.order_cur;
	}
	bool foreign = memcmp(rcur, cur, 3) != 0;
	uint8_t k[RD_COUNTER_KEY_MAX];
	uint8_t month[4];
	cnt_month(end, month);
	if ((rc = emit(arg, (const uint8_t *)"N", 1, 1, 0, 0)) < 0)
		return rc;
	k[0] = 'C';
	memcpy(k + 1, cur, 3);
	if ((rc = emit(arg, k, 4, 1, 0, 0)) < 0)
		return rc;
	if (won && j.paid) {
		memcpy(k + 1, j.order_cur, 3);
		if ((rc = emit(arg, k, 4, 1, 0, 0)) < 0)
			return rc;
	}
	bool open = j.has_opp && j.opp_state >= RD_OPP_PENDING_DECISION && j.opp_state <= RD_OPP_ACCEPTED;
	if (open) {
		memcpy(k + 1, j.opp_cur, 3);
		if ((rc = emit(arg, k, 4, 1, 0, 0)) < 0)
			return rc;
	}
	k[0] = 'M';
	memcpy(k + 1, month, 4);
	memcpy(k + 5, cur, 3);
	k[8] = (uint8_t)((priced ? RD_CNT_PRICED : 0) | (resolved ? RD_CNT_RESOLVED : 0) | (won ? RD_CNT_WON : 0) |
			 (lost ? RD_CNT_LOST : 0) | (cancelled ? RD_CNT_CANCELLED : 0));
	k[9] = distributor ? 2 : reseller ? 1 : 0;
	k[10] = !won ? 3 : j.publish == RD_PUBLISH_VENDOR ? 0 : j.publish == RD_PUBLISH_PARTNER ? 1 : 2;
	if ((rc = emit(arg, k, 11, 1, value, foreign ? 0 : renewed)) < 0)
		return rc;
	if (foreign && renewed) {
		k[0] = 'F';
		memcpy(k + 5, rcur, 3);
		if ((rc = emit(arg, k, 8, 0, renewed, 0)) < 0)
			return rc;
	}
	if (!resolved && status == RD_CONTRACT_LIVE) {
		k[0] = 'D';
		memcpy(k + 1, cur, 3);
		memcpy(k + 4, rk + 32, 4);
		k[8] = term;
		if ((rc = emit(arg, k, 9, 1, value, 0)) < 0)
			return rc;
	}
	/* The drill-down's, per product: the same figures with the product in the key. */
	k[0] = 'K';
	memcpy(k + 1, rk, 8);
	if ((rc = emit(arg, k, 9, 1, 0, 0)) < 0)
		return rc;
	k[0] = 'G';
	memcpy(k + 1, month, 4);
	memcpy(k + 5, rk, 8);
	memcpy(k + 13, cur, 3);
	k[16] = (uint8_t)((priced ? RD_CNT_PRICED : 0) | (resolved ? RD_CNT_RESOLVED : 0) | (won ? RD_CNT_WON : 0) |
			  (lost ? RD_CNT_LOST : 0) | (cancelled ? RD_CNT_CANCELLED : 0));
	if ((rc = emit(arg, k, 17, 1, value, foreign ? 0 : renewed)) < 0)
		return rc;
	if (foreign && renewed) {
		k[0] = 'H';
		memcpy(k + 13, rcur, 3);
		if ((rc = emit(arg, k, 16, 0, renewed, 0)) < 0)
			return rc;
	}
	if (!resolved && status == RD_CONTRACT_LIVE) {
		k[0] = 'E';
		memcpy(k + 13, cur, 3);
		if ((rc = emit(arg, k, 16, 1, value, 0)) < 0)
			return rc;
		k[0] = 'e';
		memcpy(k + 1, rk + 32, 4);
		if ((rc = emit(arg, k, 16, 1, value, 0)) < 0)
			return rc;
	}
	if (j.has_opp && j.opp_state == RD_OPP_LOST) {
		k[0] = 'R';
		memcpy(k + 1, month, 4);
		const char *why = j.reason[0] ? j.reason : RD_CNT_NO_REASON;
		size_t n = strlen(why);
		memcpy(k + 5, why, n + 1);
		if ((rc = emit(arg, k, 6 + n, 1, 0, 0)) < 0)
			return rc;
	}
	if (open) {
		k[0] = 'P';
		memcpy(k + 1, j.opp_cur, 3);
		memcpy(k + 4, j.opp_end, 4);
		if ((rc = emit(arg, k, 8, 1, j.list, 0)) < 0)
			return rc;
	}
	/* The channel's, per reseller, distributor and quote's publish (the
	 * scopes of partners and sales people, the rankings by partner and
	 * sales person): the dashboard's figures with those in the key. */
	uint8_t x[17];
	memcpy(x, rk + 16, 16);
	x[16] = j.has_opp ? j.publish : 0;
	k[0] = 'a';
	memcpy(k + 1, x, 17);
	if ((rc = emit(arg, k, 18, 1, 0, 0)) < 0)
		return rc;
	k[0] = 'c';
	memcpy(k + 18, cur, 3);
	if ((rc = emit(arg, k, 21, 1, 0, 0)) < 0)
		return rc;
	if (won && j.paid) {
		memcpy(k + 18, j.order_cur, 3);
		if ((rc = emit(arg, k, 21, 1, 0, 0)) < 0)
			return rc;
	}
	if (open) {
		memcpy(k + 18, j.opp_cur, 3);
		if ((rc = emit(arg, k, 21, 1, 0, 0)) < 0)
			return rc;
	}
	/* 'm' 'f' 'd' 'r' 'p' by month, 'y' 'q' by day: then the pair. */
	k[0] = 'm';
	memcpy(k + 1, month, 4);
	memcpy(k + 5, x, 17);
	memcpy(k + 22, cur, 3);
	k[25] = (uint8_t)((priced ? RD_CNT_PRICED : 0) | (resolved ? RD_CNT_RESOLVED : 0) | (won ? RD_CNT_WON : 0) |
			  (lost ? RD_CNT_LOST : 0) | (cancelled ? RD_CNT_CANCELLED : 0));
	k[26] = !won ? 3 : j.publish == RD_PUBLISH_VENDOR ? 0 : j.publish == RD_PUBLISH_PARTNER ? 1 : 2;
	if ((rc = emit(arg, k, 27, 1, value, foreign ? 0 : renewed)) < 0)
		return rc;
	if (foreign && renewed) {
		k[0] = 'f';
		memcpy(k + 22, rcur, 3);
		if ((rc = emit(arg, k, 25, 0, renewed, 0)) < 0)
			return rc;
	}
	if (!resolved && status == RD_CONTRACT_LIVE) {
		k[0] = 'd';
		memcpy(k + 22, cur, 3);
		k[25] = term;
		if ((rc = emit(arg, k, 26, 1, value, 0)) < 0)
			return rc;
		k[0] = 'y';
		memcpy(k + 1, rk + 32, 4);
		if ((rc = emit(arg, k, 26, 1, value, 0)) < 0)
			return rc;
	}
	if (j.has_opp && j.opp_state == RD_OPP_LOST) {
		k[0] = 'r';
		memcpy(k + 1, month, 4);
		const char *why = j.reason[0] ? j.reason : RD_CNT_NO_REASON;
		size_t n = strlen(why);
		memcpy(k + 22, why, n + 1);
		if ((rc = emit(arg, k, 23 + n, 1, 0, 0)) < 0)
			return rc;
	}
	if (open) {
		rd_date oend = (rd_date)(((uint32_t)j.opp_end[0] << 24 | (uint32_t)j.opp_end[1] << 16 |
					  (uint32_t)j.opp_end[2] << 8 | j.opp_end[3]) - 0x80000000u);
		k[0] = 'p';
		cnt_month(oend, k + 1);
		memcpy(k + 22, j.opp_cur, 3);
		if ((rc = emit(arg, k, 25, 1, j.list, 0)) < 0)
			return rc;
		k[0] = 'q';
		memcpy(k + 1, j.opp_end, 4);
		if ((rc = emit(arg, k, 25, 1, j.list, 0)) < 0)
			return rc;
	}
	return 0;
}

/* Opportunities and orders: the contract they name (field 3, field 4). */
static int owners_field(const void *old, size_t old_len, const void *rec, size_t len, uint32_t no,
			rd_counter_visit_fn visit, void *arg)
{
	const void *recs[2] = { old, rec };
	size_t lens[2] = { old_len, len };
	for (int i = 0; i < 2; i++) {
		struct rd_rec_field f;
		if (!recs[i] || find_field(recs[i], lens[i], no, &f) <= 0 || f.wire != RD_WIRE_UINT || !f.u)
			continue;
		int rc = visit(arg, f.u);
		if (rc < 0)
			return rc;
	}
	return 0;
}

static int opp_owners(struct rd_txn *t, uint64_t tenant, const void *old, size_t old_len, const void *rec, size_t len,
		      rd_counter_visit_fn visit, void *arg)
{
	(void)t, (void)tenant;
	return owners_field(old, old_len, rec, len, 3, visit, arg);
}

static int order_owners(struct rd_txn *t, uint64_t tenant, const void *old, size_t old_len, const void *rec, size_t len,
			rd_counter_visit_fn visit, void *arg)
{
	(void)t, (void)tenant;
	return owners_field(old, old_len, rec, len, 4, visit, arg);
}

/* A product whose prices change: every contract of it (its report key range). */
static int product_owners(struct rd_txn *t, uint64_t tenant, const void *old, size_t old_len, const void *rec,
			  size_t len, rd_counter_visit_fn visit, void *arg)
{
	struct rd_product *p[2] = { rd_calloc(1, sizeof **p), rd_calloc(1, sizeof **p) };
	const void *recs[2] = { old, rec };
	size_t lens[2] = { old_len, len };
	int rc = 0;
	for (int i = 0; i < 2 && rc >= 0; i++)
		if (recs[i])
			rc = rd_entity_decode(&rd_entity_product, recs[i], lens[i], p[i]);
	bool same = rc >= 0 && p[0]->n_prices == p[1]->n_prices && (old && rec) && p[0]->id == p[1]->id;
	for (unsigned i = 0; same && i < p[0]->n_prices; i++)
		same = p[0]->prices[i].term == p[1]->prices[i].term && p[0]->prices[i].amount == p[1]->prices[i].amount &&
		       memcmp(p[0]->prices[i].currency, p[1]->prices[i].currency, 3) == 0;
	uint64_t ids[2] = { old ? p[0]->id : 0, rec ? p[1]->id : 0 };
	free(p[0]);
	free(p[1]);
	if (rc < 0)
		return rc == RD_ECORRUPT && old && !rec ? 0 : rc;
	struct rd_table *contracts = rd_txn_table(t, "contracts");
	for (int i = 0; !same && contracts && i < 2 && rc >= 0; i++) {
		if (!ids[i] || (i == 1 && ids[1] == ids[0]))
			continue;
		uint8_t from[8], to[8];
		rd_key_put_u64(from, ids[i]);
		rd_key_put_u64(to, ids[i] + 1);
		struct rd_iter it;
		struct rd_item item;
		rc = rd_iter_index(&it, t, contracts, RD_IDX_REPORT, tenant, from, 8, to, 8);
		it.keys_only = true;
		while (rc >= 0 && (rc = rd_iter_next(&it, &item)) > 0)
			rc = visit(arg, item.id) < 0 ? RD_EINTERNAL : 1;
		rd_iter_close(&it);
	}
	return rc < 0 ? rc : 0;
}

static const struct rd_counter_def contract_counters = { "contracts.report", contract_contrib, NULL, NULL };
static const struct rd_counter_def opp_counters = { "opportunities", NULL, "contracts", opp_owners };
static const struct rd_counter_def order_counters = { "orders", NULL, "contracts", order_owners };
static const struct rd_counter_def product_counters = { "products", NULL, "contracts", product_owners };

static const struct rd_index_def ext_only[] = { { "ext", key_ext } };
static const struct rd_index_def partner_idx[] = { { "ext", key_ext }, { "parent", key_partner_parent } };
static const struct rd_index_def contract_idx[] = {
	{ "ext", key_ext },
	{ RD_IDX_CONTRACT_END, key_end },
	{ "customer", key_customer },
	{ "reseller", key_reseller },
	{ RD_IDX_CONTRACT_UNQUOTED, key_unquoted },
	{ RD_IDX_CONTRACT_LICENCE, key_licence },
	{ RD_IDX_REPORT, key_contract_report },
	{ RD_IDX_REPORT_CUSTOMER, key_contract_report_customer },
	{ RD_IDX_CONTRACT_DISTRIBUTOR, key_distributor },
};

static int key_user_email(const void *rec, size_t len, uint8_t *key, size_t cap) { return key_string(rec, len, 2, key, cap); }
static int key_token_hash(const void *rec, size_t len, uint8_t *key, size_t cap) { return key_string(rec, len, 2, key, cap); }
static int key_contact_customer(const void *rec, size_t len, uint8_t *key, size_t cap) { return key_u64(rec, len, 3, key, cap); }
static int key_audit_user(const void *rec, size_t len, uint8_t *key, size_t cap) { return key_u64(rec, len, 3, key, cap); }

/* Audit entries by object: the resource name, NUL, the object id. */
static int key_audit_object(const void *rec, size_t len, uint8_t *key, size_t cap)
{
	int n = key_string(rec, len, 5, key, cap);
	if (n <= 0)
		return n;
	int m = key_u64(rec, len, 6, key + n, cap - (size_t)n);
	if (m < 0)
		return m;
	if (m == 0) { /* object id 0 */
		if (cap - (size_t)n < 8)
			return RD_ECORRUPT;
		memset(key + n, 0, 8);
		m = 8;
	}
	return n + m;
}

/* Policy versions by kind and number: kind NUL version(4, big-endian). */
static int key_policy_version(const void *rec, size_t len, uint8_t *key, size_t cap)
{
	int n = key_string(rec, len, 2, key, cap);
	if (n <= 0)
		return n;
	struct rd_rec_field f;
	int rc = find_field(rec, len, 3, &f);
	if (rc < 0 || cap < (size_t)n + 4)
		return rc < 0 ? rc : RD_ECORRUPT;
	uint32_t v = rc > 0 ? (uint32_t)f.u : 0;
	key[n] = (uint8_t)(v >> 24);
	key[n + 1] = (uint8_t)(v >> 16);
	key[n + 2] = (uint8_t)(v >> 8);
	key[n + 3] = (uint8_t)v;
	return n + 4;
}

static const struct rd_index_def policy_idx[] = { { "version", key_policy_version } };

/* plugin NUL key NUL: both text fields, self-delimiting. */
static int key_plugin_kv(const void *rec, size_t len, uint8_t *key, size_t cap)
{
	int n = key_string(rec, len, 2, key, cap);
	if (n <= 0)
		return n;
	int m = key_string(rec, len, 3, key + n, cap - (size_t)n);
	return m <= 0 ? (m < 0 ? m : RD_ECORRUPT) : n + m;
}

/* plugin NUL partner(8): partner 0 is the vendor-wide enablement. */
static int key_enablement(const void *rec, size_t len, uint8_t *key, size_t cap)
{
	int n = key_string(rec, len, 2, key, cap);
	if (n <= 0)
		return n;
	int m = key_u64(rec, len, 3, key + n, cap - (size_t)n);
	if (m < 0)
		return m;
	if (m == 0) {
		if (cap < (size_t)n + 8)
			return RD_ECORRUPT;
		memset(key + n, 0, 8);
	}
	return n + 8;
}

static const struct rd_index_def plugin_kv_idx[] = { { "key", key_plugin_kv } };

static int key_opp_contract(const void *rec, size_t len, uint8_t *key, size_t cap) { return key_u64(rec, len, 3, key, cap); }
static int key_opp_reseller(const void *rec, size_t len, uint8_t *key, size_t cap) { return key_u64(rec, len, 6, key, cap); }
static int key_action(const void *rec, size_t len, uint8_t *key, size_t cap) { return key_string(rec, len, 2, key, cap); }
static int key_link(const void *rec, size_t len, uint8_t *key, size_t cap) { return key_string(rec, len, 2, key, cap); }

/* Opportunities awaiting a decision, by the day it is due (state 1 only). */
static int key_opp_deadline(const void *rec, size_t len, uint8_t *key, size_t cap)
{
	struct rd_rec_field f;
	int rc = find_field(rec, len, 8, &f);
	if (rc <= 0 || f.wire != RD_WIRE_UINT || f.u != RD_OPP_PENDING_DECISION)
		return rc < 0 ? rc : 0;
	if ((rc = find_field(rec, len, 12, &f)) <= 0 || f.wire != RD_WIRE_SINT || cap < 4)
		return rc < 0 ? rc : 0;
	rd_date_key((rd_date)f.i, key);
	return 4;
}

/* A queued outbox message or webhook delivery by when it is due: state(7)
 * is `queued`, next_at(9) the key; anything else has no entry. */
static int key_queued_due(const void *rec, size_t len, uint8_t *key, size_t cap, uint64_t queued)
{
	struct rd_rec_field f;
	int rc = find_field(rec, len, 7, &f);
	if (rc <= 0 || f.wire != RD_WIRE_UINT || f.u != queued)
		return rc < 0 ? rc : 0;
	uint64_t at = 0;
	if ((rc = find_field(rec, len, 9, &f)) < 0)
		return rc;
	if (rc > 0)
		at = f.u;
	if (cap < 8)
		return RD_ECORRUPT;
	rd_key_put_u64(key, at);
	return 8;
}

static int key_message_due(const void *rec, size_t len, uint8_t *key, size_t cap)
{
	return key_queued_due(rec, len, key, cap, RD_MSG_QUEUED);
}

static int key_order_idem(const void *rec, size_t len, uint8_t *key, size_t cap) { return key_string(rec, len, 16, key, cap); }

/* Live orders (not failed, cancelled or refunded) by opportunity: at most
 * one per opportunity, which orders.c keeps so in its write transaction. */
static int key_order_live(const void *rec, size_t len, uint8_t *key, size_t cap)
{
	struct rd_rec_field f;
	int rc = find_field(rec, len, 14, &f);
	if (rc <= 0 || f.wire != RD_WIRE_UINT || f.u == RD_ORDER_FAILED || f.u == RD_ORDER_CANCELLED ||
	    f.u == RD_ORDER_REFUNDED)
		return rc < 0 ? rc : 0;
	return key_u64(rec, len, 3, key, cap);
}

/* Orders awaiting payment on terms, by their due date (Bill Me Later): the
 * sweep's payment reminders. */
static int key_order_due(const void *rec, size_t len, uint8_t *key, size_t cap)
{
	struct rd_rec_field f;
	int rc = find_field(rec, len, 14, &f);
	if (rc <= 0 || f.wire != RD_WIRE_UINT || f.u != RD_ORDER_AWAITING_PAYMENT)
		return rc < 0 ? rc : 0;
	if ((rc = find_field(rec, len, 15, &f)) <= 0 || f.wire != RD_WIRE_SINT || cap < 4)
		return rc < 0 ? rc : 0;
	rd_date_key((rd_date)f.i, key);
	return 4;
}

/* A partner id field as an 8-byte key; none when it is 0 or absent: a
 * partner's own records (its lists, RD_IDX_PARTNER_*). */
static int key_partner_field(const void *rec, size_t len, uint32_t no, uint8_t *key, size_t cap)
{
	int rc = key_u64(rec, len, no, key, cap);
	return rc > 0 && !rd_key_get_u64(key) ? 0 : rc;
}
static int key_order_reseller(const void *rec, size_t len, uint8_t *key, size_t cap) { return key_partner_field(rec, len, 6, key, cap); }
static int key_order_distributor(const void *rec, size_t len, uint8_t *key, size_t cap) { return key_partner_field(rec, len, 7, key, cap); }
static int key_opp_distributor(const void *rec, size_t len, uint8_t *key, size_t cap) { return key_partner_field(rec, len, 7, key, cap); }
static int key_deal_partner(const void *rec, size_t len, uint8_t *key, size_t cap) { return key_partner_field(rec, len, 2, key, cap); }
static int key_task_partner(const void *rec, size_t len, uint8_t *key, size_t cap) { return key_partner_field(rec, len, 5, key, cap); }
static int key_statement_partner(const void *rec, size_t len, uint8_t *key, size_t cap) { return key_partner_field(rec, len, 2, key, cap); }

static const struct rd_index_def order_idx[] = { { "idem", key_order_idem }, { "live", key_order_live },
						 { RD_IDX_ORDER_DUE, key_order_due }, { RD_IDX_REPORT, key_order_report },
						 { RD_IDX_PARTNER_RESELLER, key_order_reseller },
						 { RD_IDX_PARTNER_DISTRIBUTOR, key_order_distributor } };

static const struct rd_index_def opportunity_idx[] = {
	{ "contract", key_opp_contract }, { "reseller", key_opp_reseller }, { "deadline", key_opp_deadline },
	{ RD_IDX_REPORT, key_opp_report }, { RD_IDX_PARTNER_DISTRIBUTOR, key_opp_distributor } };
static const struct rd_index_def task_idx[] = { { RD_IDX_PARTNER, key_task_partner } };
static const struct rd_index_def statement_idx[] = { { RD_IDX_PARTNER, key_statement_partner } };
static const struct rd_index_def action_idx[] = { { "key", key_action } };
static const struct rd_index_def message_idx[] = { { "due", key_message_due } };
static int key_hook_due(const void *rec, size_t len, uint8_t *key, size_t cap)
{
	return key_queued_due(rec, len, key, cap, RD_HOOK_QUEUED);
}
static const struct rd_index_def hook_delivery_idx[] = { { "due", key_hook_due } };
/* Inbound batches by subscription and webhook-id: sub(8) id NUL (replays). */
static int key_hook_wid(const void *rec, size_t len, uint8_t *key, size_t cap)
{
	int n = key_u64(rec, len, 2, key, cap);
	if (n <= 0)
		return n;
	struct rd_rec_field f;
	int rc = find_field(rec, len, 4, &f);
	if (rc <= 0 || f.wire != RD_WIRE_BYTES)
		return rc < 0 ? rc : 0;
	if ((size_t)n + f.len + 1 > cap)
		return RD_ECORRUPT;
	memcpy(key + n, f.data, f.len);
	key[n + f.len] = 0;
	return n + (int)f.len + 1;
}
static const struct rd_index_def hook_inbox_idx[] = { { "wid", key_hook_wid } };
static const struct rd_index_def link_idx[] = { { "hash", key_link } };
static int key_document_contract(const void *rec, size_t len, uint8_t *key, size_t cap) { return key_u64(rec, len, 2, key, cap); }
static const struct rd_index_def document_idx[] = { { "contract", key_document_contract } };
static const struct rd_index_def enablement_idx[] = { { "plugin", key_enablement } };
static const struct rd_index_def user_idx[] = { { "email", key_user_email } };
static const struct rd_index_def token_idx[] = { { "hash", key_token_hash } };
/* A user's tokens (sessions and API tokens): the vendor (field 3) and the
 * user (field 4), 16 bytes; none for a token of no user (a customer's
 * link).  What a new password's end of the other sessions walks. */
static int key_token_user(const void *rec, size_t len, uint8_t *key, size_t cap)
{
	if (cap < 16)
		return RD_ECORRUPT;
	int rc = key_u64(rec, len, 4, key + 8, 8);
	if (rc <= 0 || !rd_key_get_u64(key + 8))
		return rc < 0 ? rc : 0;
	if ((rc = key_u64(rec, len, 3, key, 8)) < 0)
		return rc;
	if (rc == 0)
		memset(key, 0, 8); /* no vendor field: vendor 0 */
	return 16;
}
/* A token's expiry (field 8), 8 bytes; none for one that never expires. */
static int key_token_expires(const void *rec, size_t len, uint8_t *key, size_t cap)
{
	int rc = key_u64(rec, len, 8, key, cap);
	return rc > 0 && !rd_key_get_u64(key) ? 0 : rc;
}
static const struct rd_index_def user_token_idx[] = { { "hash", key_token_hash },
						      { RD_IDX_TOKEN_USER, key_token_user },
						      { RD_IDX_TOKEN_EXPIRES, key_token_expires } };
static const struct rd_index_def contact_idx[] = { { "ext", key_ext }, { "customer", key_contact_customer } };
static const struct rd_index_def audit_idx[] = { { "object", key_audit_object }, { "user", key_audit_user } };

/* Commissions by order, kind and party: order(8) kind(1) party NUL; at most
 * one entry each, which commissions.c keeps so in the paying transaction. */
static int key_commission_order(const void *rec, size_t len, uint8_t *key, size_t cap)
{
	int n = key_u64(rec, len, 3, key, cap);
	if (n <= 0)
		return n;
	struct rd_rec_field f;
	int rc = find_field(rec, len, 6, &f);
	if (rc < 0 || cap < (size_t)n + 1)
		return rc < 0 ? rc : RD_ECORRUPT;
	key[n] = rc > 0 ? (uint8_t)f.u : 0;
	int m = key_string(rec, len, 5, key + n + 1, cap - (size_t)n - 1);
	return m <= 0 ? (m < 0 ? m : RD_ECORRUPT) : n + 1 + m;
}

/* Commissions by partner and month: partner(8) month NUL (a statement's lines). */
static int key_commission_partner(const void *rec, size_t len, uint8_t *key, size_t cap)
{
	int n = key_u64(rec, len, 2, key, cap);
	if (n <= 0)
		return n;
	int m = key_string(rec, len, 10, key + n, cap - (size_t)n);
	return m <= 0 ? (m < 0 ? m : RD_ECORRUPT) : n + m;
}

static const struct rd_index_def commission_idx[] = { { "order", key_commission_order },
						      { "partner", key_commission_partner } };

static const char *const deal_states[] = { "", "submitted", "approved", "rejected", "won", "lost", "expired", NULL };

static const struct rd_field deal_fields[] = {
	F(1, RD_F_U64, struct rd_dealreg, id, "id"),
	FF(2, RD_F_U64, struct rd_dealreg, partner_id, "partner_id", RO),
	FF(3, RD_F_U64, struct rd_dealreg, customer_id, "customer_id", RO),
	FA(4, RD_F_IDS, struct rd_dealreg, products, "products", n_products),
	FF(5, RD_F_STR, struct rd_dealreg, product_line, "product_line", RO),
	F(6, RD_F_U32, struct rd_dealreg, seats, "seats"),
	F(7, RD_F_U64, struct rd_dealreg, expected_value, "expected_value"),
	F(8, RD_F_STR, struct rd_dealreg, currency, "currency"),
	F(9, RD_F_I32DATE, struct rd_dealreg, close_date, "close_date"),
	F(10, RD_F_STR, struct rd_dealreg, situation, "situation"),
	F(11, RD_F_STR, struct rd_dealreg, notes, "notes"),
	FEF(12, RD_F_U8ENUM, struct rd_dealreg, state, "state", deal_states, RO),
	FF(13, RD_F_I32DATE, struct rd_dealreg, expires_on, "expires_on", RO),
	FF(14, RD_F_U32, struct rd_dealreg, extensions, "extensions", RO),
	FF(15, RD_F_U64, struct rd_dealreg, previous_id, "previous_id", RO),
	FF(16, RD_F_U64, struct rd_dealreg, next_id, "next_id", RO),
	FF(17, RD_F_STR, struct rd_dealreg, reason, "reason", RO),
	FF(18, RD_F_U64, struct rd_dealreg, proof_document_id, "proof_document_id", RO),
	FF(19, RD_F_U64, struct rd_dealreg, user_id, "user_id", RO),
	FF(20, RD_F_TIME, struct rd_dealreg, submitted_at, "submitted_at", RO),
	FF(21, RD_F_TIME, struct rd_dealreg, decided_at, "decided_at", RO),
	FF(22, RD_F_U64, struct rd_dealreg, decided_by, "decided_by", RO),
	FF(23, RD_F_TIME, struct rd_dealreg, closed_at, "closed_at", RO),
	FF(24, RD_F_STR, struct rd_dealreg, customer_ref, "customer_ref", RO),
	FF(25, RD_F_TIME, struct rd_dealreg, extension_requested_at, "extension_requested_at", RO),
};
ENTITY(rd_entity_deal, "deal registration", "deals", RD_KIND_DEAL, struct rd_dealreg, deal_fields);

/* Deal registrations by customer: the margin's lookup and the conflict report. */
static int key_deal_customer(const void *rec, size_t len, uint8_t *key, size_t cap) { return key_u64(rec, len, 3, key, cap); }
static const struct rd_index_def deal_idx[] = { { "customer", key_deal_customer },
						{ RD_IDX_PARTNER, key_deal_partner } };

static const struct rd_table_def tables[] = {
	{ "vendors", NULL, 0 },
	{ "partners", partner_idx, 2 },
	{ "customers", ext_only, 1 },
	{ "products", ext_only, 1 },
	{ "contracts", contract_idx, sizeof contract_idx / sizeof contract_idx[0] },
	{ "users", user_idx, 1 },
	{ "tokens", user_token_idx, 3 },
	{ "contacts", contact_idx, 2 },
	{ "audit", audit_idx, 2 },
	{ "imports", NULL, 0 },
	{ "policies", policy_idx, 1 },
	{ "plugin_kv", plugin_kv_idx, 1 },
	{ "enablements", enablement_idx, 1 },
	{ "opportunities", opportunity_idx, 5 },
	{ "actions", action_idx, 1 },
	{ "outbox", message_idx, 1 },
	{ "tasks", task_idx, 1 },
	{ "links", link_idx, 1 },
	{ "documents", document_idx, 1 },
	{ "document_data", NULL, 0 },
	{ "orders", order_idx, 6 },
	{ "commissions", commission_idx, 2 },
	{ "statements", statement_idx, 1 },
	{ "deals", deal_idx, 2 },
	{ "leads", lead_idx, 1 },
	{ "lead_assignments", NULL, 0 },
	{ "hook_subs", NULL, 0 },
	{ "hook_deliveries", hook_delivery_idx, 1 },
	{ "hook_inbox", hook_inbox_idx, 1 },
	{ "feed_reviews", NULL, 0 },
	{ "operator_tokens", token_idx, 1 }, /* "hash": field 2, as a token's */
};

int rd_domain_register(struct rd_store *s, struct rd_domain *d)
{
	struct rd_table **slots[] = { &d->vendors, &d->partners, &d->customers, &d->products, &d->contracts,
				      &d->users, &d->tokens, &d->contacts, &d->audit, &d->imports, &d->policies,
				      &d->plugin_kv, &d->enablements, &d->opportunities, &d->actions,
				      &d->outbox, &d->tasks, &d->links, &d->documents, &d->document_data, &d->orders,
				      &d->commissions, &d->statements, &d->deals, &d->leads,
				      &d->lead_assignments, &d->hook_subs, &d->hook_deliveries, &d->hook_inbox,
				      &d->feed_reviews, &d->operator_tokens };
	for (size_t i = 0; i < sizeof tables / sizeof *tables; i++) {
		int rc = rd_store_register(s, &tables[i], slots[i]);
		if (rc < 0)
			return rc;
	}
	/* The reports' counters (see "the reports' counters" above). */
	int rc = rd_store_register_counters(s, d->contracts, &contract_counters);
	if (rc >= 0)
		rc = rd_store_register_counters(s, d->opportunities, &opp_counters);
	if (rc >= 0)
		rc = rd_store_register_counters(s, d->orders, &order_counters);
	if (rc >= 0)
		rc = rd_store_register_counters(s, d->products, &product_counters);
	return rc < 0 ? rc : 0;
}

int rd_deal_margin_state(struct rd_txn *t, struct rd_domain *d, uint64_t vendor, uint64_t partner,
			 uint64_t customer, const char *product_line, rd_date today)
{
	if (!d->deals || !partner || !customer || !product_line || !product_line[0])
		return 0;
	uint8_t key[8];
	rd_key_put_u64(key, customer);
	struct rd_iter it;
	struct rd_item item;
	struct rd_dealreg *x = rd_malloc(sizeof *x);
	int best = 0;
	int rc = rd_iter_index(&it, t, d->deals, "customer", vendor, key, 8, NULL, 0);
	while (rc >= 0 && best < 2 && (rc = rd_iter_next(&it, &item)) > 0) {
		if (item.key_len != 8 || memcmp(item.key, key, 8) != 0)
			break;
		if (rd_entity_decode(&rd_entity_deal, item.val, item.len, x) < 0 || x->partner_id != partner ||
		    strcmp(x->product_line, product_line) != 0)
			continue;
		if (x->state == RD_DEALREG_WON)
			best = 2;
		else if (x->state == RD_DEALREG_APPROVED && x->expires_on >= today && best < 1)
			best = 1;
	}
	rd_iter_close(&it);
	free(x);
	return rc < 0 ? rc : best;
}

/* ---- helpers ---------------------------------------------------------------------- */

int rd_entity_put(struct rd_txn *t, struct rd_table *tb, const struct rd_entity *e, uint64_t tenant, void *obj,
		  unsigned flags)
{
	uint64_t *id = obj;
	int rc;
	if (*id == 0) {
		if ((rc = rd_txn_next_id(t, tb, tenant, id)) < 0)
			return rc;
		flags |= RD_PUT_NEW;
	}
	struct rd_rec_writer w = { 0 };
	rd_entity_encode(e, obj, &w);
	rc = rd_txn_put(t, tb, tenant, *id, w.buf, w.len, flags);
	rd_rec_writer_free(&w);
	return rc;
}

int rd_entity_get(struct rd_txn *t, struct rd_table *tb, const struct rd_entity *e, uint64_t tenant, uint64_t id,
		  void *obj)
{
	const void *val;
	size_t len;
	int rc = rd_txn_get(t, tb, tenant, id, &val, &len);
	if (rc < 0)
		return rc;
	return rd_entity_decode(e, val, len, obj);
}

int rd_index_find(struct rd_txn *t, struct rd_table *tb, const char *index, uint64_t tenant, const void *key,
		  size_t len, uint64_t *id)
{
	struct rd_iter it;
	struct rd_item item;
	int rc = rd_iter_index(&it, t, tb, index, tenant, key, len, NULL, 0);
	if (rc >= 0)
		rc = rd_iter_next(&it, &item);
	rd_iter_close(&it);
	if (rc < 0)
		return rc;
	if (rc == 0 || item.key_len != len || memcmp(item.key, key, len) != 0)
		return RD_ENOTFOUND;
	*id = item.id;
	return 0;
}

void rd_time_format(uint64_t unix_s, char out[21])
{
	int y, m, d;
	rd_date_to_ymd((rd_date)(unix_s / 86400), &y, &m, &d);
	unsigned sec = (unsigned)(unix_s % 86400);
	snprintf(out, 21, "%04u-%02u-%02uT%02u:%02u:%02uZ", (unsigned)y % 10000u, (unsigned)m % 100u, (unsigned)d % 100u,
		 sec / 3600 % 100u, sec / 60 % 60, sec % 60);
}

void rd_brand_contact_block(const struct rd_partner *p, const struct rd_vendor *v, char *out, size_t cap)
{
	if (p && p->contact_block[0])
		rd_strcopy(out, cap, p->contact_block);
	else if (p) {
		const char *part[] = { p->name, p->phone[0] ? ", " : "", p->phone, p->email[0] ? ", " : "", p->email };
		if (cap)
			out[0] = 0;
		for (size_t i = 0, n = 0; i < 5 && n + 1 < cap; i++, n += strlen(out + n))
			rd_strcopy(out + n, cap - n, part[i]);
	} else
		rd_strcopy(out, cap, v->name);
}

json_t *rd_brand_json(const struct rd_partner *p, const struct rd_vendor *v)
{
	char block[600];
	rd_brand_contact_block(p, v, block, sizeof block);
	return json_pack("{s:s, s:s, s:s, s:s, s:s, s:s, s:s}", "name", p ? p->name : v->name, "logo_url",
			 p ? p->logo_url : "", "colour_primary", p && p->colour_primary[0] ? p->colour_primary : "#1f3a5f",
			 "colour_accent", p && p->colour_accent[0] ? p->colour_accent : "#f2a900", "contact_block", block,
			 "email", p ? p->email : v->notify_email, "phone", p ? p->phone : "");
}

json_t *rd_date_json(rd_date d)
{
	char s[11];
	if (!d)
		return json_string("");
	rd_date_format(d, s);
	return json_string(s);
}
