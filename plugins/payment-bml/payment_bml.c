/*
 * payment-bml: Bill Me Later.  The customer buys on net terms; the order is
 * accepted pending payment of the invoice within the terms.  A credit limit
 * per customer is kept in the plugin's private storage: the open amount per
 * customer e-mail, raised on authorise, lowered on capture (the invoice
 * paid).  Concurrent authorisations for one customer may race on the open
 * amount: renewd serialises a customer's orders.
 *
 * Configuration: {"terms_days": 30, "credit_limit": 1000000}  (credit_limit
 * optional, minor units).
 */
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../builtin.h"

static const struct rd_host_api *host;

static int init(rd_plugin_ctx *ctx, const struct rd_host_api *h)
{
	if (!RD_HOST_HAS(h, kv_put)) {
		h->error(ctx, "this renewd has no plugin storage");
		return RD_EINVAL;
	}
	host = h;
	return 0;
}

struct settings {
	json_int_t terms, limit;
};

static int settings(rd_plugin_ctx *ctx, const char *text, struct settings *s, int report)
{
	json_t *j = json_loads(text, 0, NULL);
	s->terms = 30;
	s->limit = 0;
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
		if (!strcmp(key, "terms_days")) {
			s->terms = json_integer_value(v);
			if ((!json_is_integer(v) || s->terms < 1 || s->terms > 120) && (bad = 1) && report)
				host->field_error(ctx, key, "must be a whole number of days from 1 to 120");
		} else if (!strcmp(key, "credit_limit")) {
			s->limit = json_integer_value(v);
			if ((!json_is_integer(v) || s->limit <= 0) && (bad = 1) && report)
				host->field_error(ctx, key, "must be a positive amount in minor units");
		} else {
			bad = 1;
			if (report)
				host->field_error(ctx, key, "unknown setting (terms_days, credit_limit)");
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

static long long open_amount(rd_plugin_ctx *ctx, const char *key)
{
	char buf[32];
	size_t len = 0;
	if (host->kv_get(ctx, key, buf, sizeof buf - 1, &len) < 0)
		return 0;
	buf[len] = 0;
	return atoll(buf);
}

static int set_open(rd_plugin_ctx *ctx, const char *key, long long v)
{
	char buf[32];
	int n = snprintf(buf, sizeof buf, "%lld", v < 0 ? 0 : v);
	return host->kv_put(ctx, key, buf, (size_t)n);
}

static void exposure_key(const char *customer_json, char *out, size_t cap)
{
	json_t *c = json_loads(customer_json ? customer_json : "{}", 0, NULL);
	const char *email = json_string_value(json_object_get(c, "email"));
	snprintf(out, cap, "open:%.100s", email ? email : "unknown");
	json_decref(c);
}

static int authorise(rd_plugin_ctx *ctx, const struct rd_payment_request *req, struct rd_payment_result *res)
{
	struct settings s;
	if (settings(ctx, host->config(ctx), &s, 0) < 0) {
		host->error(ctx, "the configuration is not valid");
		return RD_EINVAL;
	}
	/* Repeat-safe: a request already authorised under this idempotency key
	 * answers as it did, without raising the open amount again. */
	char idem[128], ref[128];
	size_t rlen = 0;
	snprintf(idem, sizeof idem, "auth:%.100s", req->idempotency_key ? req->idempotency_key : "");
	if (req->idempotency_key && host->kv_get(ctx, idem, ref, sizeof ref - 1, &rlen) == 0) {
		ref[rlen] = 0;
		res->state = RD_PAY_PENDING;
		snprintf(res->reference, sizeof res->reference, "%s", ref);
		snprintf(res->message, sizeof res->message, "Bill Me Later: the invoice is due in %lld days", (long long)s.terms);
		return 0;
	}
	char key[128];
	exposure_key(req->customer_json, key, sizeof key);
	long long open = open_amount(ctx, key);
	if (s.limit && open + req->amount > s.limit) {
		res->state = RD_PAY_DECLINED;
		snprintf(res->message, sizeof res->message, "Bill Me Later is not available for this amount");
		return 0;
	}
	int rc = set_open(ctx, key, open + req->amount);
	if (rc < 0) {
		host->error(ctx, "the open amount could not be stored");
		return rc;
	}
	int64_t due = host->now(ctx) + (int64_t)s.terms * 86400;
	res->state = RD_PAY_PENDING;
	snprintf(res->reference, sizeof res->reference, "BML-%.60s-%lld", req->order_ref, (long long)due);
	snprintf(res->message, sizeof res->message, "Bill Me Later: the invoice is due in %lld days", (long long)s.terms);
	if (req->idempotency_key && (rc = host->kv_put(ctx, idem, res->reference, strlen(res->reference))) < 0) {
		host->error(ctx, "the authorisation could not be stored");
		return rc;
	}
	/* Which customer's open amount the invoice lowers when it is paid. */
	char rkey[160];
	snprintf(rkey, sizeof rkey, "ref:%.120s", res->reference);
	if ((rc = host->kv_put(ctx, rkey, key, strlen(key))) < 0) {
		host->error(ctx, "the authorisation could not be stored");
		return rc;
	}
	return 0;
}

static int capture(rd_plugin_ctx *ctx, const char *reference, int64_t amount, const char *currency,
		   struct rd_payment_result *res)
{
	/* The paid invoice no longer counts against the customer's limit; a
	 * repeated capture finds the reference gone and changes nothing. */
	char rkey[160], key[128];
	size_t len = 0;
	snprintf(rkey, sizeof rkey, "ref:%.120s", reference ? reference : "");
	if (reference && host->kv_get(ctx, rkey, key, sizeof key - 1, &len) == 0) {
		key[len] = 0;
		int rc = set_open(ctx, key, open_amount(ctx, key) - amount);
		if (rc == 0)
			rc = host->kv_del(ctx, rkey);
		if (rc < 0) {
			host->error(ctx, "the open amount could not be updated");
			return rc;
		}
	}
	res->state = RD_PAY_CAPTURED;
	snprintf(res->reference, sizeof res->reference, "%.120s", reference);
	snprintf(res->message, sizeof res->message, "invoice paid");
	return 0;
}

static const char *const options[] = { "bill_me_later", NULL };
/* What the customer reads on the checkout page (ops V2). */
static const char *const labels[] = { "Bill Me Later (pay on invoice terms)", NULL };

static const struct rd_payment_ops ops = {
	.version = RD_PAYMENT_OPS_V2,
	.options = options,
	.labels = labels,
	.authorise = authorise,
	.capture = capture,
};

static const struct rd_plugin desc = {
	.abi = RENEWD_PLUGIN_ABI,
	.size = sizeof(struct rd_plugin),
	.name = "payment-bml",
	.version = "1.0.0",
	.kind = RD_PLUGIN_PAYMENT,
	.description = "Bill Me Later: buy now on net terms, with a credit limit per customer",
	.init = init,
	.configure = configure,
	.ops = &ops,
};

RD_PLUGIN_ENTRY_DEFINE(rd_builtin_payment_bml)
{
	return &desc;
}
