/*
 * secrets.c: the key file and the sealed form (see secrets.h).
 */
#include <errno.h>
#include <fcntl.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "plugin/secrets.h"
#include "util/err.h"

#define KEY_FILE "secrets.key"
#define NEXT_FILE "secrets.key.next"
#define KID 4
#define NONCE crypto_aead_xchacha20poly1305_ietf_NPUBBYTES
#define TAG crypto_aead_xchacha20poly1305_ietf_ABYTES
#define MAX_PLAIN 4096

static void key_id(const unsigned char key[32], uint8_t kid[KID])
{
	unsigned char h[16];
	crypto_generichash(h, sizeof h, key, 32, NULL, 0);
	memcpy(kid, h, KID);
}

/* Reads a 32-byte key file only its owner may read.  1 read, 0 absent. */
static int read_key(const char *path, unsigned char key[32], char *err, size_t errlen)
{
	int fd = open(path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
	if (fd < 0) {
		if (errno == ENOENT)
			return 0;
		snprintf(err, errlen, "%s: %s", path, strerror(errno));
		return RD_EINVAL;
	}
	struct stat st;
	ssize_t n = -1;
	if (fstat(fd, &st) != 0) {
		snprintf(err, errlen, "%s: %s", path, strerror(errno));
		close(fd);
		return RD_EINVAL;
	}
	if (S_ISREG(st.st_mode) && !(st.st_mode & 077))
		n = read(fd, key, 32);
	close(fd);
	if (!S_ISREG(st.st_mode) || (st.st_mode & 077)) {
		snprintf(err, errlen, "%s may be read by others than its owner (mode %04o): chmod 600 it", path,
			 (unsigned)(st.st_mode & 07777));
		return RD_EINVAL;
	}
	if (n != 32 || st.st_size != 32) {
		sodium_memzero(key, 32);
		snprintf(err, errlen, "%s is not a renewd secrets key (32 bytes)", path);
		return RD_EINVAL;
	}
	return 1;
}

/* Writes a new random key with mode 0600, synced, never over an existing
 * file. */
static int make_key(const char *path, unsigned char key[32], char *err, size_t errlen)
{
	randombytes_buf(key, 32);
	int fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC | O_NOFOLLOW, 0600);
	if (fd < 0) {
		snprintf(err, errlen, "%s: cannot create: %s", path, strerror(errno));
		return RD_EINVAL;
	}
	bool ok = write(fd, key, 32) == 32 && fsync(fd) == 0;
	int e = errno;
	close(fd);
	if (!ok) {
		unlink(path);
		snprintf(err, errlen, "%s: cannot write: %s", path, strerror(e));
		return RD_EINVAL;
	}
	return 0;
}

static void sync_dir(const char *dir)
{
	int fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (fd >= 0) {
		fsync(fd);
		close(fd);
	}
}

int rd_secrets_load(struct rd_secrets *s, const char *dir, bool create, char *err, size_t errlen)
{
	memset(s, 0, sizeof *s);
	if (sodium_init() < 0) {
		snprintf(err, errlen, "libsodium could not be initialised");
		return RD_EINTERNAL;
	}
	snprintf(s->dir, sizeof s->dir, "%s", dir);
	char path[4200];
	snprintf(path, sizeof path, "%s/" KEY_FILE, dir);
	int rc = read_key(path, s->key, err, errlen);
	if (rc == 0 && create) {
		if ((rc = make_key(path, s->key, err, errlen)) == 0) {
			sync_dir(dir);
			rc = 1;
		}
	}
	if (rc < 0)
		return rc;
	if (rc == 0) {
		snprintf(err, errlen, "%s does not exist: start renewd once to create it", path);
		return RD_ENOTFOUND;
	}
	s->have = true;
	key_id(s->key, s->kid);
	snprintf(path, sizeof path, "%s/" NEXT_FILE, dir);
	if ((rc = read_key(path, s->next, err, errlen)) < 0) {
		rd_secrets_close(s);
		return rc;
	}
	if (rc == 1) {
		s->have_next = true;
		key_id(s->next, s->next_kid);
	}
	return 0;
}

void rd_secrets_close(struct rd_secrets *s)
{
	sodium_memzero(s, sizeof *s);
}

bool rd_secrets_is_sealed(const char *v)
{
	return v && !strncmp(v, RD_SEALED_PREFIX, strlen(RD_SEALED_PREFIX));
}

/* The associated data: what the value belongs to. */
static size_t ad_of(unsigned char *ad, size_t cap, uint64_t vendor, const char *plugin, const char *field)
{
	int n = snprintf((char *)ad, cap, "renewd-secret:%llu:%s:%s", (unsigned long long)vendor, plugin, field);
	return n < 0 ? 0 : (size_t)n < cap ? (size_t)n : cap - 1;
}

char *rd_secrets_seal(const struct rd_secrets *s, uint64_t vendor, const char *plugin, const char *field,
		      const char *plain)
{
	if (!s || !s->have)
		return NULL;
	const unsigned char *key = s->have_next ? s->next : s->key;
	const uint8_t *kid = s->have_next ? s->next_kid : s->kid;
	size_t pl = strlen(plain);
	if (pl > MAX_PLAIN)
		return NULL;
	size_t bl = KID + NONCE + pl + TAG;
	unsigned char *bin = rd_malloc(bl), ad[256];
	memcpy(bin, kid, KID);
	randombytes_buf(bin + KID, NONCE);
	unsigned long long cl = 0;
	crypto_aead_xchacha20poly1305_ietf_encrypt(bin + KID + NONCE, &cl, (const unsigned char *)plain, pl, ad,
						   ad_of(ad, sizeof ad, vendor, plugin, field), NULL, bin + KID, key);
	size_t pre = strlen(RD_SEALED_PREFIX);
	size_t tl = sodium_base64_ENCODED_LEN(bl, sodium_base64_VARIANT_URLSAFE_NO_PADDING);
	char *out = rd_malloc(pre + tl);
	memcpy(out, RD_SEALED_PREFIX, pre);
	sodium_bin2base64(out + pre, tl, bin, bl, sodium_base64_VARIANT_URLSAFE_NO_PADDING);
	free(bin);
	return out;
}

char *rd_secrets_open(const struct rd_secrets *s, uint64_t vendor, const char *plugin, const char *field,
		      const char *sealed)
{
	if (!s || !s->have || !rd_secrets_is_sealed(sealed))
		return NULL;
	const char *b64 = sealed + strlen(RD_SEALED_PREFIX);
	size_t cap = strlen(b64), bl = 0;
	if (cap > 2 * MAX_PLAIN)
		return NULL;
	unsigned char *bin = rd_malloc(cap + 1), ad[256];
	if (sodium_base642bin(bin, cap + 1, b64, strlen(b64), NULL, &bl, NULL, sodium_base64_VARIANT_URLSAFE_NO_PADDING) ||
	    bl < KID + NONCE + TAG) {
		free(bin);
		return NULL;
	}
	const unsigned char *key = !memcmp(bin, s->kid, KID)			   ? s->key
				   : s->have_next && !memcmp(bin, s->next_kid, KID) ? s->next
										   : NULL;
	char *plain = key ? rd_malloc(bl - KID - NONCE - TAG + 1) : NULL;
	unsigned long long pl = 0;
	if (plain && crypto_aead_xchacha20poly1305_ietf_decrypt((unsigned char *)plain, &pl, NULL, bin + KID + NONCE,
								 bl - KID - NONCE, ad,
								 ad_of(ad, sizeof ad, vendor, plugin, field), bin + KID,
								 key) != 0) {
		free(plain);
		plain = NULL;
	}
	if (plain)
		plain[pl] = 0;
	free(bin);
	return plain;
}

void rd_secrets_free(char *plain)
{
	if (plain) {
		sodium_memzero(plain, strlen(plain));
		free(plain);
	}
}

int rd_secrets_rotate_begin(struct rd_secrets *s, char *err, size_t errlen)
{
	if (!s->have) {
		snprintf(err, errlen, "no secrets key is loaded");
		return RD_EINVAL;
	}
	if (s->have_next)
		return 0; /* a rotation that stopped half-way: finish it under the same next key */
	char path[4200];
	snprintf(path, sizeof path, "%s/" NEXT_FILE, s->dir);
	int rc = make_key(path, s->next, err, errlen);
	if (rc < 0)
		return rc;
	sync_dir(s->dir);
	s->have_next = true;
	key_id(s->next, s->next_kid);
	return 0;
}

int rd_secrets_rotate_commit(struct rd_secrets *s, char *err, size_t errlen)
{
	char from[4200], to[4200];
	snprintf(from, sizeof from, "%s/" NEXT_FILE, s->dir);
	snprintf(to, sizeof to, "%s/" KEY_FILE, s->dir);
	if (rename(from, to) != 0) {
		snprintf(err, errlen, "%s: cannot replace %s: %s", from, to, strerror(errno));
		return RD_EINVAL;
	}
	sync_dir(s->dir);
	memcpy(s->key, s->next, sizeof s->key);
	memcpy(s->kid, s->next_kid, sizeof s->kid);
	sodium_memzero(s->next, sizeof s->next);
	s->have_next = false;
	return 0;
}
