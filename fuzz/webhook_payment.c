/*
 * webhook_payment.c: a payment gateway's event (POST /api/v1/webhooks/
 * {plugin}/{vendor}) through rd_webhook_receive (core/services/webhooks.c):
 * payment-card verifies the Gateway-Signature header and reads the event,
 * then renewd applies it.  The input is SIGNATURE \n BODY; an empty
 * signature line is replaced by a valid signature of the body (now, the
 * enablement's webhook secret), so the event's parsing is reached too.
 */
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "fuzz.h"
#include "services/webhooks.h"

#define SECRET "whsec_fuzz_0123456789"

static void done(const struct rd_webhook_answer *a, void *arg)
{
	(void)a;
	*(bool *)arg = true;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static bool enabled;
	struct rd_app *app = fz_app();
	if (!enabled) {
		fz_enable("payment-card", 0,
			  "{\"base_url\": \"http://127.0.0.1:9\", \"secret_key\": \"sk_test_fuzz\", \"webhook_secret\": \"" SECRET
			  "\", \"capture\": \"auto\", \"timeout_ms\": 1000}");
		enabled = true;
	}
	char *sig, *body;
	size_t len;
	fz_split(data, size, '\n', &sig, &body, &len);
	char good[200];
	if (!sig[0]) {
		unsigned char mac[crypto_auth_hmacsha256_BYTES];
		char ts[24], hex[2 * sizeof mac + 1];
		int tn = snprintf(ts, sizeof ts, "%lld.", (long long)time(NULL));
		crypto_auth_hmacsha256_state st;
		crypto_auth_hmacsha256_init(&st, (const unsigned char *)SECRET, strlen(SECRET));
		crypto_auth_hmacsha256_update(&st, (const unsigned char *)ts, (unsigned long long)tn);
		crypto_auth_hmacsha256_update(&st, (const unsigned char *)body, len);
		crypto_auth_hmacsha256_final(&st, mac);
		sodium_bin2hex(hex, sizeof hex, mac, sizeof mac);
		ts[tn - 1] = 0;
		snprintf(good, sizeof good, "t=%s,v1=%s", ts, hex);
	}
	const struct rd_actor who = { .vendor = fz_vendor()->id };
	bool finished = false;
	if (rd_webhook_receive(app, &who, "payment-card", body, len, sig[0] ? sig : good, done, &finished) == 0)
		fz_run_until(&finished);
	free(sig);
	free(body);
	return 0;
}
