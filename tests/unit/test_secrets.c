/*
 * test_secrets.c: the sealed form of plugin secrets and its key file
 * (core/plugin/secrets.c).
 *
 * Covers: the key file made 0600 on first load and read back the same; a
 * key file others may read, or of the wrong size, refused; a value sealed
 * for one (vendor, plugin, setting) opens only for that one; a tampered or
 * foreign value does not open; each seal has its own nonce; a rotation that
 * stopped half-way opens values under either key and finishes.
 */
#include <stdio.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <unistd.h>

#include "plugin/secrets.h"
#include "unit.h"

static char dir[64];

static int setup(void **state)
{
	snprintf(dir, sizeof dir, "/tmp/rd-secrets-XXXXXX");
	return mkdtemp(dir) ? 0 : -1;
}

static int teardown(void **state)
{
	char path[128];
	snprintf(path, sizeof path, "%s/secrets.key", dir);
	unlink(path);
	snprintf(path, sizeof path, "%s/secrets.key.next", dir);
	unlink(path);
	return rmdir(dir);
}

static void key_file_made_0600_and_kept(void **state)
{
	struct rd_secrets a, b;
	char err[256], path[128];
	assert_rc(rd_secrets_load(&a, dir, false, err, sizeof err), RD_ENOTFOUND);
	assert_contains(err, "does not exist");
	assert_rc(rd_secrets_load(&a, dir, true, err, sizeof err), 0);
	snprintf(path, sizeof path, "%s/secrets.key", dir);
	struct stat st;
	assert_int_equal(stat(path, &st), 0);
	assert_int_equal(st.st_mode & 0777, 0600);
	assert_int_equal(st.st_size, 32);
	char *sealed = rd_secrets_seal(&a, 7, "payment-card", "secret_key", "sk_live_1");
	assert_rc(rd_secrets_load(&b, dir, true, err, sizeof err), 0); /* the same key, not a new one */
	char *plain = rd_secrets_open(&b, 7, "payment-card", "secret_key", sealed);
	assert_string_equal(plain, "sk_live_1");
	rd_secrets_free(plain);
	free(sealed);
	rd_secrets_close(&a);
	rd_secrets_close(&b);
	chmod(path, 0640);
	assert_rc(rd_secrets_load(&a, dir, true, err, sizeof err), RD_EINVAL);
	assert_contains(err, "may be read by others than its owner (mode 0640)");
	chmod(path, 0600);
	assert_int_equal(truncate(path, 16), 0);
	assert_rc(rd_secrets_load(&a, dir, true, err, sizeof err), RD_EINVAL);
	assert_contains(err, "is not a renewd secrets key");
}

static void sealed_for_one_owner(void **state)
{
	struct rd_secrets s, other;
	char err[256];
	assert_rc(rd_secrets_load(&s, dir, true, err, sizeof err), 0);
	char *a = rd_secrets_seal(&s, 1, "payment-card", "secret_key", "sk_A");
	char *a2 = rd_secrets_seal(&s, 1, "payment-card", "secret_key", "sk_A");
	assert_true(rd_secrets_is_sealed(a));
	assert_null(strstr(a, "sk_A"));
	assert_string_not_equal(a, a2); /* a nonce per value */
	char *p = rd_secrets_open(&s, 1, "payment-card", "secret_key", a);
	assert_string_equal(p, "sk_A");
	rd_secrets_free(p);
	/* another vendor, plugin or setting: it does not open */
	assert_null(rd_secrets_open(&s, 2, "payment-card", "secret_key", a));
	assert_null(rd_secrets_open(&s, 1, "payment-other", "secret_key", a));
	assert_null(rd_secrets_open(&s, 1, "payment-card", "webhook_secret", a));
	/* tampered, truncated, not sealed */
	size_t n = strlen(a);
	a[n - 3] = a[n - 3] == 'A' ? 'B' : 'A';
	assert_null(rd_secrets_open(&s, 1, "payment-card", "secret_key", a));
	a[20] = 0;
	assert_null(rd_secrets_open(&s, 1, "payment-card", "secret_key", a));
	assert_null(rd_secrets_open(&s, 1, "payment-card", "secret_key", "sk_A"));
	/* another data directory's key */
	memcpy(&other, &s, sizeof s);
	other.key[0] ^= 1;
	assert_null(rd_secrets_open(&other, 1, "payment-card", "secret_key", a2));
	free(a);
	free(a2);
	rd_secrets_close(&s);
}

static void rotation_finishes_after_a_stop(void **state)
{
	struct rd_secrets s, again;
	char err[256];
	assert_rc(rd_secrets_load(&s, dir, true, err, sizeof err), 0);
	char *old = rd_secrets_seal(&s, 3, "p", "k", "before");
	assert_rc(rd_secrets_rotate_begin(&s, err, sizeof err), 0);
	char *new = rd_secrets_seal(&s, 3, "p", "k", "after");
	/* stopped here: a fresh load opens both and seals under the next key */
	assert_rc(rd_secrets_load(&again, dir, false, err, sizeof err), 0);
	assert_true(again.have_next);
	char *p1 = rd_secrets_open(&again, 3, "p", "k", old), *p2 = rd_secrets_open(&again, 3, "p", "k", new);
	assert_string_equal(p1, "before");
	assert_string_equal(p2, "after");
	rd_secrets_free(p1);
	rd_secrets_free(p2);
	assert_rc(rd_secrets_rotate_begin(&again, err, sizeof err), 0); /* reuses the next key */
	assert_rc(rd_secrets_rotate_commit(&again, err, sizeof err), 0);
	rd_secrets_close(&again);
	assert_rc(rd_secrets_load(&again, dir, false, err, sizeof err), 0);
	assert_false(again.have_next);
	assert_null(rd_secrets_open(&again, 3, "p", "k", old)); /* the old key is gone */
	p2 = rd_secrets_open(&again, 3, "p", "k", new);
	assert_string_equal(p2, "after");
	rd_secrets_free(p2);
	free(old);
	free(new);
	rd_secrets_close(&again);
	rd_secrets_close(&s);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(key_file_made_0600_and_kept, setup, teardown),
		cmocka_unit_test_setup_teardown(sealed_for_one_owner, setup, teardown),
		cmocka_unit_test_setup_teardown(rotation_finishes_after_a_stop, setup, teardown),
	};
	return cmocka_run_group_tests_name("secrets", tests, NULL, NULL);
}
