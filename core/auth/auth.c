/* auth.c: passwords, tokens and the failed-login limiter. */
#include <errno.h>
#include <pthread.h>
#include <sodium.h>
#include <string.h>

#include "auth/auth.h"
#include "util/err.h"

/* Verifying against this when a user does not exist makes a missing user
 * cost the same time as a wrong password.  Made once, on first need (on a
 * worker thread), so commands that never verify do not pay for it. */
static char dummy_hash[RD_PWHASH_MAX];
static pthread_once_t dummy_once = PTHREAD_ONCE_INIT;

static void make_dummy(void)
{
	char pw[33];
	uint8_t raw[16];
	randombytes_buf(raw, sizeof raw);
	sodium_bin2hex(pw, sizeof pw, raw, sizeof raw);
	if (rd_password_hash(pw, dummy_hash) < 0)
		dummy_hash[0] = 0;
}

int rd_auth_init(void)
{
	return sodium_init() < 0 ? RD_EINTERNAL : 0;
}

int rd_password_hash(const char *password, char out[RD_PWHASH_MAX])
{
	_Static_assert(crypto_pwhash_STRBYTES <= RD_PWHASH_MAX, "hash buffer");
	if (crypto_pwhash_str_alg(out, password, strlen(password), crypto_pwhash_OPSLIMIT_INTERACTIVE,
				  crypto_pwhash_MEMLIMIT_INTERACTIVE, crypto_pwhash_ALG_ARGON2ID13) != 0)
		return -ENOMEM;
	return 0;
}

bool rd_password_verify(const char *hash, const char *password)
{
	if (!hash[0]) {
		/* Same work, same time; the answer is no whatever it says. */
		pthread_once(&dummy_once, make_dummy);
		if (dummy_hash[0] && crypto_pwhash_str_verify(dummy_hash, password, strlen(password)) == 0)
			return false;
		return false;
	}
	return crypto_pwhash_str_verify(hash, password, strlen(password)) == 0;
}

const char *rd_password_weak(const char *password)
{
	size_t n = strlen(password);
	if (n < 10)
		return "a password needs at least 10 characters";
	if (n > 256)
		return "a password may have at most 256 characters";
	return NULL;
}

static void hex(const uint8_t *in, size_t n, char *out)
{
	static const char digits[] = "0123456789abcdef";
	for (size_t i = 0; i < n; i++) {
		out[2 * i] = digits[in[i] >> 4];
		out[2 * i + 1] = digits[in[i] & 15];
	}
	out[2 * n] = 0;
}

void rd_token_new(char token[RD_TOKEN_LEN + 1], char hash[RD_TOKEN_HASH_HEX])
{
	uint8_t raw[32];
	randombytes_buf(raw, sizeof raw);
	memcpy(token, "rd_", 3);
	sodium_bin2base64(token + 3, RD_TOKEN_LEN + 1 - 3, raw, sizeof raw, sodium_base64_VARIANT_URLSAFE_NO_PADDING);
	sodium_memzero(raw, sizeof raw);
	rd_token_hash(token, hash);
}

bool rd_token_hash(const char *token, char hash[RD_TOKEN_HASH_HEX])
{
	size_t n = strlen(token);
	if (n != RD_TOKEN_LEN || memcmp(token, "rd_", 3) != 0)
		return false;
	for (size_t i = 3; i < n; i++) {
		char c = token[i];
		if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '-' || c == '_'))
			return false;
	}
	uint8_t h[32];
	crypto_generichash(h, sizeof h, (const uint8_t *)token, n, NULL, 0);
	hex(h, sizeof h, hash);
	return true;
}

bool rd_hash_equal(const char *a, const char *b)
{
	size_t n = strlen(a);
	return n == strlen(b) && sodium_memcmp(a, b, n) == 0;
}

void rd_wipe(void *p, size_t n)
{
	sodium_memzero(p, n);
}

/* ---- failed logins -------------------------------------------------------- */

/* A fixed table of slots keyed by a keyed hash of the login key: memory is
 * bounded, and a collision can only make two keys share a budget. */
#define SLOTS 4096
#define MAX_FAILURES 5
#define WINDOW_S 900

struct slot {
	uint64_t key;
	uint64_t window_start;
	unsigned failures;
};
static struct slot slots[SLOTS];
static uint8_t salt[crypto_shorthash_KEYBYTES];
static bool salted;

static struct slot *slot_for(const char *key)
{
	if (!salted) {
		randombytes_buf(salt, sizeof salt);
		salted = true;
	}
	uint8_t h[crypto_shorthash_BYTES];
	crypto_shorthash(h, (const uint8_t *)key, strlen(key), salt);
	uint64_t k;
	memcpy(&k, h, sizeof k);
	struct slot *s = &slots[k % SLOTS];
	if (s->key != k)
		*s = (struct slot){ .key = k };
	return s;
}

bool rd_login_allowed(const char *key, uint64_t now_s, unsigned *retry_after)
{
	struct slot *s = slot_for(key);
	if (now_s >= s->window_start + WINDOW_S)
		s->failures = 0;
	if (s->failures < MAX_FAILURES)
		return true;
	*retry_after = (unsigned)(s->window_start + WINDOW_S - now_s);
	return false;
}

void rd_login_failed(const char *key, uint64_t now_s)
{
	struct slot *s = slot_for(key);
	if (s->failures == 0 || now_s >= s->window_start + WINDOW_S) {
		s->window_start = now_s;
		s->failures = 0;
	}
	s->failures++;
}

void rd_login_succeeded(const char *key)
{
	struct slot *s = slot_for(key);
	s->failures = 0;
}

void rd_login_forgive(const char *key)
{
	struct slot *s = slot_for(key);
	if (s->failures)
		s->failures--;
}
