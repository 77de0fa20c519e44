/*
 * payment-po: pay by purchase order.  The customer gives a PO number; the
 * order is accepted pending the invoice (state pending), captured when the
 * invoice is paid.  No network.
 *
 * Configuration (all optional):
 *   {"require_po_number": true, "max_amount": 5000000, "approver_email": "ap@vendor.example"}
 */
#include <jansson.h>
#include <stdio.h>
#include <string.h>

#include "../builtin.h"

static const struct rd_host_api *host;

static int init(rd_plugin_ctx *ctx, const struct rd_host_api *h)
{
	host = h;
	return 0;
}

struct settings {
	int require_po;
	json_int_t max_amount;
};

/* Parses (and with ctx in configure, reports) the configuration. */
static int settings(rd_plugin_ctx *ctx, const char *text, struct settings *s, int report)
{
	json_error_t je;
	json_t *j = json_loads(text, 0, &je);
	s->require_po = 1;
	s->max_amount = 0;
	if (!json_is_object(j)) {
		if (report)
			host->field_error(ctx, "", "the configuration must be a JSON object");
		json_decref(j);
		return RD_EINVAL;
	}
	int bad = 0;
	const char *key;
	json_t *v;
	json_object_foreach(j, key, v) {
		if (!strcmp(key, "require_po_number")) {
			if (!json_is_boolean(v) && (bad = 1) && report)
				host->field_error(ctx, key, "must be true or false");
			s->require_po = json_is_true(v);
		} else if (!strcmp(key, "max_amount")) {
			if ((!json_is_integer(v) || json_integer_value(v) <= 0) && (bad = 1) && report)
				host->field_error(ctx, key, "must be a positive amount in minor units");
			s->max_amount = json_integer_value(v);
		} else if (!strcmp(key, "approver_email")) {
			const char *e = json_string_value(v);
			if ((!e || !strchr(e, '@')) && (bad = 1) && report)
				host->field_error(ctx, key, "must be an e-mail address");
		} else {
			bad = 1;
			if (report)
				host->field_error(ctx, key, "unknown setting (require_po_number, max_amount, approver_email)");
		}
	}
	json_decref(j);
	return bad ? RD_EINVAL : 0;
}

static int configure(rd_plugin_ctx *ctx, const char *config)
{
	struct settings s;
	return settings(ctx, config, &s, 1);
}

static int authorise(rd_plugin_ctx *ctx, const struct rd_payment_request *req, struct rd_payment_result *res)
{
	struct settings s;
	if (settings(ctx, host->config(ctx), &s, 0) < 0) {
		host->error(ctx, "the configuration is not valid");
		return RD_EINVAL;
	}
	json_t *m = json_loads(req->method_json ? req->method_json : "{}", 0, NULL);
	const char *po = json_string_value(json_object_get(m, "po_number"));
	if (s.require_po && (!po || !*po)) {
		res->state = RD_PAY_DECLINED;
		snprintf(res->message, sizeof res->message, "a purchase order number is required");
	} else if (s.max_amount && req->amount > s.max_amount) {
		res->state = RD_PAY_DECLINED;
		snprintf(res->message, sizeof res->message, "orders above %lld %s need another payment option",
			 (long long)s.max_amount, req->currency);
	} else {
		res->state = RD_PAY_PENDING;
		snprintf(res->reference, sizeof res->reference, "PO-%.100s", po && *po ? po : req->order_ref);
		snprintf(res->message, sizeof res->message, "accepted on purchase order; the invoice follows");
	}
	json_decref(m);
	return 0;
}

static int capture(rd_plugin_ctx *ctx, const char *reference, int64_t amount, const char *currency,
		   struct rd_payment_result *res)
{
	res->state = RD_PAY_CAPTURED;
	snprintf(res->reference, sizeof res->reference, "%.120s", reference);
	snprintf(res->message, sizeof res->message, "invoice paid");
	return 0;
}

static int refund(rd_plugin_ctx *ctx, const char *reference, int64_t amount, const char *currency,
		  struct rd_payment_result *res)
{
	res->state = RD_PAY_REFUNDED;
	snprintf(res->reference, sizeof res->reference, "%.120s", reference);
	snprintf(res->message, sizeof res->message, "credit note issued");
	return 0;
}

static int probe(rd_plugin_ctx *ctx)
{
	return 0; /* nothing outside to ask */
}

static const char *const options[] = { "purchase_order", NULL };
/* What the customer reads on the checkout page (ops V2). */
static const char *const labels[] = { "Purchase order", NULL };

static const struct rd_payment_ops ops = {
	.version = RD_PAYMENT_OPS_V2,
	.options = options,
	.labels = labels,
	.authorise = authorise,
	.capture = capture,
	.refund = refund,
};

static const struct rd_plugin desc = {
	.abi = RENEWD_PLUGIN_ABI,
	.size = sizeof(struct rd_plugin),
	.name = "payment-po",
	.version = "1.0.0",
	.kind = RD_PLUGIN_PAYMENT,
	.description = "Pay by purchase order: accepted pending the invoice",
	.init = init,
	.configure = configure,
	.probe = probe,
	.ops = &ops,
};

RD_PLUGIN_ENTRY_DEFINE(rd_builtin_payment_po)
{
	return &desc;
}
