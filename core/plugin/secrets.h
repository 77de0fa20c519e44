/*
 * secrets.h: the key that seals plugin secrets at rest (gateway keys,
 * webhook secrets) and the sealed form itself.
 *
 * The key is 32 random bytes in DATA/secrets.key, created with mode 0600 on
 * the first start and refused when anyone but the owner may read it.  A
 * value is sealed with XChaCha20-Poly1305 (libsodium's IETF AEAD), a fresh
 * nonce per value, and the vendor, plugin and setting name as associated
 * data: a sealed value copied into another vendor's enablement (or another
 * setting) does not open.  The stored form is text, so it sits in an
 * enablement's JSON like any other string:
 *
 *   "sealed:v1:" base64url(key id (4) || nonce (24) || ciphertext + tag)
 *
 * The key id (the first 4 bytes of the key's BLAKE2b hash) lets a rotation
 * that stopped half-way be finished: while DATA/secrets.key.next exists,
 * values open under either key and new ones are sealed under the next.
 */
#ifndef RD_PLUGIN_SECRETS_H
#define RD_PLUGIN_SECRETS_H

#include <stdbool.h>
#include <stdint.h>
#include <stddef.h>

#define RD_SEALED_PREFIX "sealed:v1:"

struct rd_secrets {
	unsigned char key[32], next[32];
	uint8_t kid[4], next_kid[4];
	bool have, have_next;
	char dir[4096];
};

/* Reads DATA/secrets.key (and a rotation's secrets.key.next); with create,
 * makes the key when there is none.  0, or < 0 with one sentence in err. */
int rd_secrets_load(struct rd_secrets *s, const char *dir, bool create, char *err, size_t errlen);
/* Forgets the keys (zeroed). */
void rd_secrets_close(struct rd_secrets *s);

/* Is v a sealed value? */
bool rd_secrets_is_sealed(const char *v);
/* Seals plain for (vendor, plugin, field): a new string (free()), or NULL
 * when no key is loaded. */
char *rd_secrets_seal(const struct rd_secrets *s, uint64_t vendor, const char *plugin, const char *field,
		      const char *plain);
/* Opens a sealed value: a new string to release with rd_secrets_free
 * (zeroed), or NULL when it is not sealed for (vendor, plugin, field) under
 * a loaded key. */
char *rd_secrets_open(const struct rd_secrets *s, uint64_t vendor, const char *plugin, const char *field,
		      const char *sealed);
void rd_secrets_free(char *plain);

/* Rotation (renewctl, renewd stopped): begin makes DATA/secrets.key.next
 * (or reuses one a stopped rotation left), after which seal uses it; once
 * every value is sealed again and committed, commit renames it over
 * secrets.key.  Both 0 or < 0 with err. */
int rd_secrets_rotate_begin(struct rd_secrets *s, char *err, size_t errlen);
int rd_secrets_rotate_commit(struct rd_secrets *s, char *err, size_t errlen);

#endif
