/*
 * test_secrets.c: the sealed form of plugin secrets and its key file
 * (core/plugin/secrets.c).
 *
 * Covers: the key file made 0600 on first load and read back the same; a
 * key file others may read, or of the wrong size, refused; a value sealed
 * for one (vendor, plugin, setting) opens only for that one; a tampered or
 * foreign value does not open; each seal has its own nonce; a rotation that
 * stopped half-way opens values under either key and finishes.  And the
 * host's side (core/plugin/host.c) on a real store with the real card
 * plugin: secrets an older renewd stored in clear are sealed at start, a
 * call gets them opened, a replacement that omits them keeps them.
 */
#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <unistd.h>

#include "domain/model.h"
#include "plugin/host.h"
#include "plugin/secrets.h"
#include "store/store.h"
#include "unit.h"

static char dir[64];

static int setup(void **state)
{
	snprintf(dir, sizeof dir, "/tmp/rd-secrets-XXXXXX");
	return mkdtemp(dir) ? 0 : -1;
}

static int teardown(void **state)
{
	DIR *d = opendir(dir);
	struct dirent *de;
	char path[400];
	while (d && (de = readdir(d)))
		if (strcmp(de->d_name, ".") && strcmp(de->d_name, "..")) {
			snprintf(path, sizeof path, "%s/%s", dir, de->d_name);
			unlink(path);
		}
	if (d)
		closedir(d);
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

static int put_write(struct rd_txn *t, void *arg)
{
	struct rd_domain *d = ((void **)arg)[0];
	struct rd_enablement *e = ((void **)arg)[1];
	struct rd_vendor v = { 0 };
	snprintf(v.slug, sizeof v.slug, "acme");
	snprintf(v.name, sizeof v.name, "Acme");
	int rc = rd_entity_put(t, d->vendors, &rd_entity_vendor, 0, &v, 0);
	bool replaced;
	return rc < 0 ? rc : rd_enablement_put(t, d, v.id, 0, e, &replaced);
}

static void host_seals_keeps_and_opens(void **state)
{
	struct rd_store *st;
	struct rd_domain d;
	char err[600];
	assert_rc(rd_store_open(&st, dir, &(struct rd_store_opts){ 0 }, err, sizeof err), 0);
	assert_rc(rd_domain_register(st, &d), 0);
	/* as an older renewd stored it: in clear */
	struct rd_enablement *e = rd_calloc(1, sizeof *e);
	snprintf(e->plugin, sizeof e->plugin, "payment-card");
	snprintf(e->config, sizeof e->config,
		 "{\"base_url\":\"https://api.stripe.com\",\"secret_key\":\"sk_old\",\"webhook_secret\":\"wh_old\"}");
	void *args[2] = { &d, e };
	assert_rc(rd_store_write(st, put_write, args), 0);
	uint64_t vendor = 1, id = e->id;
	struct rd_plugins *p = rd_plugins_new(st, &d, NULL);
	rd_plugins_add_builtins(p);
	assert_rc(rd_plugins_open_secrets(p, true, err, sizeof err), 0);
	assert_rc(rd_plugins_set_outbound(p, "api.stripe.com", err, sizeof err), 0);
	unsigned sealed = 9, unopened = 9;
	assert_rc(rd_plugins_seal_stored(p, &sealed, &unopened), 0);
	assert_int_equal(sealed, 1);
	assert_int_equal(unopened, 0);
	struct rd_txn *t;
	assert_rc(rd_store_read(st, &t), 0);
	assert_rc(rd_entity_get(t, d.enablements, &rd_entity_enablement, vendor, id, e), 0);
	rd_txn_end(t);
	assert_null(strstr(e->config, "sk_old"));
	assert_null(strstr(e->config, "wh_old"));
	assert_contains(e->config, "\"secret_key\":\"" RD_SEALED_PREFIX);
	/* shown as "set"; opened for a call */
	json_t *shown = rd_enablement_json(e);
	assert_string_equal(json_string_value(json_object_get(json_object_get(shown, "config"), "secret_key")), "set");
	json_decref(shown);
	struct rd_loaded *l = rd_plugins_find(p, "payment-card");
	char *plain = rd_plugins_unseal(p, l, vendor, e->config);
	assert_contains(plain, "\"secret_key\":\"sk_old\"");
	assert_contains(plain, "\"webhook_secret\":\"wh_old\"");
	free(plain);
	plain = rd_plugins_unseal(p, l, vendor + 1, e->config); /* another vendor: nothing opens */
	assert_null(strstr(plain, "sk_old"));
	assert_null(strstr(plain, "secret_key"));
	free(plain);
	/* a replacement that omits the key keeps it; a new webhook secret replaces */
	struct rd_enablement *n = rd_calloc(1, sizeof *n);
	snprintf(n->plugin, sizeof n->plugin, "payment-card");
	json_t *fields = json_array();
	assert_rc(rd_enablement_prepare(p, l, vendor, n,
					"{\"base_url\":\"https://api.stripe.com\",\"webhook_secret\":\"wh_new\"}", fields,
					err, sizeof err), 0);
	assert_int_equal(json_array_size(fields), 0);
	plain = rd_plugins_unseal(p, l, vendor, n->config);
	assert_contains(plain, "\"secret_key\":\"sk_old\"");
	assert_contains(plain, "\"webhook_secret\":\"wh_new\"");
	free(plain);
	/* a URL off the list: a field error naming host and port */
	assert_rc(rd_enablement_prepare(p, l, vendor, n, "{\"base_url\":\"http://10.0.0.1:8080\"}", fields, err,
					sizeof err), RD_EINVAL);
	assert_string_equal(json_string_value(json_object_get(json_array_get(fields, 0), "field")), "base_url");
	assert_contains(json_string_value(json_object_get(json_array_get(fields, 0), "message")),
			"10.0.0.1:8080 is not on renewd's outbound allow-list");
	json_decref(fields);
	free(n);
	free(e);
	rd_plugins_free(&p);
	rd_store_close(&st);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(key_file_made_0600_and_kept, setup, teardown),
		cmocka_unit_test_setup_teardown(sealed_for_one_owner, setup, teardown),
		cmocka_unit_test_setup_teardown(rotation_finishes_after_a_stop, setup, teardown),
		cmocka_unit_test_setup_teardown(host_seals_keeps_and_opens, setup, teardown),
	};
	return cmocka_run_group_tests_name("secrets", tests, NULL, NULL);
}
