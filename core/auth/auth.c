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

/* A fixed table keyed by a keyed hash of the login key (a salt drawn at
 * start, so nobody outside can aim two keys at one place): memory is
 * bounded whatever the traffic.  The table is set-associative: a key lives
 * in one of its set's WAYS slots.  A slot whose failures are still inside
 * their window is never taken from its key: a newcomer takes an empty or
 * expired slot of the set.  When every slot of the set is live (a flood of
 * failing keys, more than the table holds inside one window), the newcomer
 * shares one of them, chosen by its hash: it counts its failures there and
 * is refused by that slot's count, and the shared slot's window restarts
 * at each failure counted there; when a slot of the set frees, the key's
 * own slot starts from the shared one's count.  So failures are never
 * forgotten because other keys failed: a flood can only make keys share a
 * budget (refused sooner), never hand one a fresh budget. */
#define SETS 2048
#define WAYS 16
#define MAX_FAILURES 5
#define WINDOW_S 900

struct slot {
	uint64_t key;
	uint32_t window_start; /* Unix seconds (to 2106) */
	uint16_t failures;
	bool shared;           /* keys with no slot of their own count here */
};
static struct slot slots[SETS][WAYS];
static uint8_t salt[crypto_shorthash_KEYBYTES];
static bool salted;

static uint64_t key_hash(const char *key)
{
	if (!salted) {
		randombytes_buf(salt, sizeof salt);
		salted = true;
	}
	uint8_t h[crypto_shorthash_BYTES];
	crypto_shorthash(h, (const uint8_t *)key, strlen(key), salt);
	uint64_t k;
	memcpy(&k, h, sizeof k);
	return k;
}

static bool live(const struct slot *s, uint64_t now_s)
{
	return s->failures && now_s < (uint64_t)s->window_start + WINDOW_S;
}

/* A key's set, its own slot there (with failures, live or not; NULL:
 * none) and the slot it shares when the set is full. */
struct place {
	uint64_t k;
	struct slot *set, *own, *shared;
};

static struct place place_of(const char *key)
{
	struct place p = { .k = key_hash(key) };
	p.set = slots[p.k % SETS];
	p.shared = &p.set[(p.k / SETS) % WAYS];
	for (int i = 0; i < WAYS; i++)
		if (p.set[i].key == p.k && p.set[i].failures) {
			p.own = &p.set[i];
			break;
		}
	return p;
}

/* The slot that holds the key's failures in the window, or NULL. */
static struct slot *counted(const struct place *p, uint64_t now_s)
{
	if (p->own && live(p->own, now_s))
		return p->own;
	if (!p->own && p->shared->shared && live(p->shared, now_s))
		return p->shared;
	return NULL;
}

bool rd_login_allowed(const char *key, uint64_t now_s, unsigned *retry_after)
{
	struct place p = place_of(key);
	struct slot *s = counted(&p, now_s);
	if (!s || s->failures < MAX_FAILURES)
		return true;
	*retry_after = (unsigned)((uint64_t)s->window_start + WINDOW_S - now_s);
	return false;
}

/* Gives s (empty, expired, or the key's own expired slot) to the key; the
 * failures it counted while sharing come with it. */
static struct slot *take(const struct place *p, struct slot *s, uint64_t now_s)
{
	*s = (struct slot){ .key = p->k, .window_start = (uint32_t)now_s };
	if (p->shared != s && p->shared->shared && live(p->shared, now_s)) {
		s->failures = p->shared->failures;
		s->window_start = p->shared->window_start;
	}
	return s;
}

void rd_login_failed(const char *key, uint64_t now_s)
{
	struct place p = place_of(key);
	struct slot *s = p.own;
	if (s && !live(s, now_s))
		s = take(&p, s, now_s);
	for (int i = 0; !s && i < WAYS; i++)
		if (!live(&p.set[i], now_s))
			s = take(&p, &p.set[i], now_s);
	if (!s) {
		s = p.shared;
		s->shared = true;
		s->window_start = (uint32_t)now_s;
	}
	if (s->failures < UINT16_MAX)
		s->failures++;
}

void rd_login_succeeded(const char *key)
{
	struct place p = place_of(key);
	if (p.own && !p.own->shared)
		p.own->failures = 0;
	else if (p.own && p.own->failures)
		p.own->failures--; /* others count here too: only its own attempt */
	else if (p.shared->shared && p.shared->failures)
		p.shared->failures--; /* its own attempt, counted on arrival */
}

void rd_login_forgive(const char *key)
{
	struct place p = place_of(key);
	struct slot *s = p.own ? p.own : p.shared->shared ? p.shared : NULL;
	if (s && s->failures)
		s->failures--;
}
