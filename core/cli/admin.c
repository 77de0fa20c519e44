/*
 * admin.c: renewctl's bootstrap and bulk commands:
 *   vendor create --name N --slug S --currency C
 *   user create --vendor S --email E --name N --role R [--partner ID] [--password-stdin] [--token-name T]
 *   import --vendor S --kind K [--format csv|jsonl] [--dry-run] [--no-atomic] [--row-at-a-time] FILE
 * They write to the store directly, beside a running renewd if there is one
 * (LMDB serialises both processes' writers; renewctl.c says so).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "auth/auth.h"
#include "cli/cli.h"
#include "domain/audit.h"
#include "domain/model.h"
#include "policy/runtime.h"
#include "services/imports.h"
#include "services/records.h"
#include "services/vendors.h"
#include "store/store.h"
#include "util/clock.h"
#include "util/err.h"

/* --name value pairs after the subcommand. */
static const char *opt(int argc, char **argv, const char *name)
{
	for (int i = 0; i + 1 < argc; i++)
		if (strcmp(argv[i], name) == 0)
			return argv[i + 1];
	return NULL;
}

static bool flag(int argc, char **argv, const char *name)
{
	for (int i = 0; i < argc; i++)
		if (strcmp(argv[i], name) == 0)
			return true;
	return false;
}

/* Every argument must be a known option (with its value) or a flag. */
static int check_args(int argc, char **argv, const char *const *with_value, const char *const *flags, int positional)
{
	int pos = 0;
	for (int i = 0; i < argc; i++) {
		bool ok = false;
		for (size_t k = 0; with_value[k]; k++)
			if (!strcmp(argv[i], with_value[k])) {
				if (i + 1 >= argc) {
					fprintf(stderr, "renewctl: %s needs a value\n", argv[i]);
					return 2;
				}
				i++;
				ok = true;
			}
		for (size_t k = 0; flags[k]; k++)
			ok |= !strcmp(argv[i], flags[k]);
		if (!ok && strncmp(argv[i], "--", 2) != 0 && pos < positional) {
			pos++;
			ok = true;
		}
		if (!ok) {
			fprintf(stderr, "renewctl: unexpected argument %s\n", argv[i]);
			return 2;
		}
	}
	if (pos != positional) {
		fprintf(stderr, "renewctl: missing the file to import\n");
		return 2;
	}
	return 0;
}

static int find_vendor(struct rd_txn *t, struct rd_domain *d, const char *slug, struct rd_vendor *out)
{
	struct rd_iter it;
	struct rd_item item;
	int rc = rd_iter_records(&it, t, d->vendors, 0, 0);
	while (rc >= 0 && (rc = rd_iter_next(&it, &item)) > 0)
		if (rd_entity_decode(&rd_entity_vendor, item.val, item.len, out) == 0 && !strcmp(out->slug, slug)) {
			rd_iter_close(&it);
			return 0;
		}
	rd_iter_close(&it);
	return rc < 0 ? rc : RD_ENOTFOUND;
}

bool rd_cli_whole(const char *s, uint64_t min, uint64_t max, uint64_t *out)
{
	uint64_t v = 0;
	if (!s || !*s)
		return false;
	for (const char *c = s; *c; c++) {
		if (*c < '0' || *c > '9' || v > (UINT64_MAX - (uint64_t)(*c - '0')) / 10)
			return false;
		v = v * 10 + (uint64_t)(*c - '0');
	}
	if (v < min || v > max)
		return false;
	*out = v;
	return true;
}

/* Text an option gives, as the API would take it: UTF-8 (what a JSON body
 * can hold; jansson checks it), and shorter than cap bytes when cap > 0.
 * Says what is wrong and returns false otherwise. */
bool rd_cli_text_ok(const char *optname, const char *v, size_t cap)
{
	json_t *j = json_string(v);
	if (!j) {
		fprintf(stderr, "renewctl: %s is not UTF-8 text\n", optname);
		return false;
	}
	json_decref(j);
	if (cap && strlen(v) >= cap) {
		fprintf(stderr, "renewctl: %s must be at most %zu bytes\n", optname, cap - 1);
		return false;
	}
	return true;
}

/* ---- vendor create ------------------------------------------------------------- */

struct vendor_new {
	struct rd_domain *d;
	struct rd_vendor v;
	char err[200];
};

static int vendor_write(struct rd_txn *t, void *arg)
{
	struct vendor_new *n = arg;
	struct rd_vendor other;
	if (find_vendor(t, n->d, n->v.slug, &other) == 0) {
		snprintf(n->err, sizeof n->err, "a vendor with slug \"%s\" exists (id %llu)", n->v.slug,
			 (unsigned long long)other.id);
		return RD_EEXISTS;
	}
	n->v.id = 0;
	int rc = rd_entity_put(t, n->d->vendors, &rd_entity_vendor, 0, &n->v, 0);
	if (rc < 0 || (rc = rd_policy_seed_defaults(t, n->d, &n->v)) < 0)
		return rc;
	json_t *after = rd_entity_to_json(&rd_entity_vendor, &n->v);
	char *s = json_dumps(after, JSON_COMPACT);
	json_decref(after);
	struct rd_audit *a = rd_calloc(1, sizeof *a);
	a->at_ms = rd_clock_now() * 1000;
	a->action = RD_AUDIT_CREATE;
	snprintf(a->object, sizeof a->object, "vendor");
	a->object_id = n->v.id;
	snprintf(a->after, sizeof a->after, "%s", s ? s : "");
	snprintf(a->note, sizeof a->note, "renewctl vendor create");
	free(s);
	rc = rd_entity_put(t, n->d->audit, &rd_entity_audit, n->v.id, a, 0);
	free(a);
	return rc;
}

int rd_cli_vendor_create(struct rd_store *s, struct rd_domain *d, int argc, char **argv)
{
	static const char *const with_value[] = { "--name", "--slug", "--currency", NULL };
	static const char *const none[] = { NULL };
	int rc = check_args(argc, argv, with_value, none, 0);
	if (rc)
		return rc;
	struct vendor_new n = { .d = d };
	json_t *j = json_object();
	for (size_t i = 0; with_value[i]; i++) {
		const char *v = opt(argc, argv, with_value[i]);
		if (!v) {
			fprintf(stderr, "renewctl: vendor create needs %s\n", with_value[i]);
			json_decref(j);
			return 2;
		}
		if (!rd_cli_text_ok(with_value[i], v, 0)) {
			json_decref(j);
			return 2;
		}
		json_object_set_new(j, with_value[i] + 2, json_string(v));
	}
	const char *bad;
	char why[256];
	if (rd_entity_from_json(&rd_entity_vendor, j, &n.v, &bad, why, sizeof why) < 0) {
		fprintf(stderr, "renewctl: --%s: %s\n", bad, why);
		json_decref(j);
		return 2;
	}
	json_decref(j);
	if (!n.v.name[0]) { /* the operator API's rule (services/vendors.c) */
		fprintf(stderr, "renewctl: --name must be 1 to %d bytes\n", RD_NAME_MAX - 1);
		return 2;
	}
	if (!rd_vendor_slug_ok(n.v.slug)) { /* the operator API's rule (services/vendors.c) */
		fprintf(stderr, "renewctl: --" RD_VENDOR_SLUG_RULE "\n", RD_EXT_MAX - 1);
		return 2;
	}
	rd_vendor_defaults(&n.v);
	rc = rd_store_write(s, vendor_write, &n);
	if (rc < 0) {
		fprintf(stderr, "renewctl: %s\n", n.err[0] ? n.err : rd_strerror(rc));
		return 1;
	}
	printf("vendor %llu \"%s\" (%s) created\n", (unsigned long long)n.v.id, n.v.name, n.v.slug);
	return 0;
}

/* ---- user create ------------------------------------------------------------------ */

struct user_new {
	struct rd_domain *d;
	const char *slug;
	struct rd_user u;
	struct rd_token tok;
	char err[200];
};

static int user_write(struct rd_txn *t, void *arg)
{
	struct user_new *n = arg;
	struct rd_vendor v;
	if (find_vendor(t, n->d, n->slug, &v) < 0) {
		snprintf(n->err, sizeof n->err, "no vendor with slug \"%s\" (renewctl vendor create makes one)", n->slug);
		return RD_ENOTFOUND;
	}
	uint64_t other;
	if (rd_index_find(t, n->d->users, "email", v.id, n->u.email, strlen(n->u.email) + 1, &other) == 0) {
		snprintf(n->err, sizeof n->err, "user %s exists (id %llu)", n->u.email, (unsigned long long)other);
		return RD_EEXISTS;
	}
	if (rd_role_is_partner(n->u.role)) {
		struct rd_partner p;
		if (rd_entity_get(t, n->d->partners, &rd_entity_partner, v.id, n->u.partner_id, &p) < 0) {
			snprintf(n->err, sizeof n->err, "a partner role needs --partner with the id of a partner of %s", n->slug);
			return RD_EINVAL;
		}
	} else if (n->u.partner_id) {
		snprintf(n->err, sizeof n->err, "--partner is only for partner roles");
		return RD_EINVAL;
	}
	n->u.id = 0;
	n->u.created_at = rd_clock_now();
	int rc = rd_entity_put(t, n->d->users, &rd_entity_user, v.id, &n->u, 0);
	if (rc < 0)
		return rc;
	n->tok.id = 0;
	n->tok.vendor_id = v.id;
	n->tok.user_id = n->u.id;
	return rd_entity_put(t, n->d->tokens, &rd_entity_token, 0, &n->tok, 0);
}

int rd_cli_user_create(struct rd_store *s, struct rd_domain *d, int argc, char **argv)
{
	static const char *const with_value[] = { "--vendor", "--email", "--name", "--role", "--partner", "--token-name", NULL };
	static const char *const flags[] = { "--password-stdin", NULL };
	int rc = check_args(argc, argv, with_value, flags, 0);
	if (rc)
		return rc;
	struct user_new n = { .d = d, .slug = opt(argc, argv, "--vendor") };
	const char *email = opt(argc, argv, "--email"), *name = opt(argc, argv, "--name"), *role = opt(argc, argv, "--role");
	const char *partner = opt(argc, argv, "--partner"), *tname = opt(argc, argv, "--token-name");
	if (!n.slug || !email || !role) {
		fprintf(stderr, "renewctl: user create needs --vendor SLUG --email E --role ROLE\n");
		return 2;
	}
	int r = rd_role_parse(role);
	if (r < 0) {
		fprintf(stderr, "renewctl: --role must be vendor-admin, channel-manager, vendor-sales, partner-admin or partner-sales\n");
		return 2;
	}
	/* The users API's rules (services/users.c): an address, names that are
	 * UTF-8 and fit (a longer one was cut short, maybe inside a character). */
	if (!rd_cli_text_ok("--email", email, 0))
		return 2;
	if (strlen(email) >= sizeof n.u.email || !email[0] || !rd_record_valid_email(email)) {
		fprintf(stderr, "renewctl: --email is not an e-mail address\n");
		return 2;
	}
	if ((name && !rd_cli_text_ok("--name", name, sizeof n.u.name)) ||
	    (tname && !rd_cli_text_ok("--token-name", tname, sizeof n.tok.name)))
		return 2;
	uint64_t partner_id = 0;
	if (partner && !rd_cli_whole(partner, 1, UINT64_MAX, &partner_id)) {
		fprintf(stderr, "renewctl: --partner must be a partner's id (a whole number), not \"%s\"\n", partner);
		return 2;
	}
	for (size_t i = 0; email[i]; i++)
		n.u.email[i] = (char)((email[i] >= 'A' && email[i] <= 'Z') ? email[i] + 32 : email[i]);
	snprintf(n.u.name, sizeof n.u.name, "%s", name ? name : email);
	n.u.role = (uint8_t)r;
	n.u.partner_id = partner_id;
	if (flag(argc, argv, "--password-stdin")) {
		char pw[300];
		if (!fgets(pw, sizeof pw, stdin)) {
			fprintf(stderr, "renewctl: no password on standard input\n");
			return 2;
		}
		pw[strcspn(pw, "\r\n")] = 0;
		const char *weak = rd_password_weak(pw);
		if (weak) {
			fprintf(stderr, "renewctl: %s\n", weak);
			return 2;
		}
		if (rd_password_hash(pw, n.u.password_hash) < 0) {
			fprintf(stderr, "renewctl: the password could not be hashed\n");
			return 1;
		}
		memset(pw, 0, sizeof pw);
	}
	char secret[RD_TOKEN_LEN + 1];
	rd_token_new(secret, n.tok.hash);
	snprintf(n.tok.name, sizeof n.tok.name, "%s", tname ? tname : "renewctl user create");
	n.tok.kind = RD_TOKEN_API;
	n.tok.created_at = rd_clock_now();
	rc = rd_store_write(s, user_write, &n);
	if (rc < 0) {
		fprintf(stderr, "renewctl: %s\n", n.err[0] ? n.err : rd_strerror(rc));
		return 1;
	}
	fprintf(stderr, "user %llu %s (%s) created; its API token (shown once):\n", (unsigned long long)n.u.id, n.u.email,
		rd_role_name(n.u.role));
	printf("%s\n", secret);
	return 0;
}

/* ---- import ------------------------------------------------------------------------ */

struct file_import {
	struct rd_import im;
	struct rd_store *store;
	const char *path;
	FILE *f;
	bool dry_run;
	uint64_t created, updated;
	double started, last_print;
	off_t size;
	bool tty;
	char vendor_err[200];
	const char *slug;
};

static double mono(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static void progress(struct file_import *fi, bool last)
{
	double now = mono();
	if (!last && now - fi->last_print < 0.25)
		return;
	fi->last_print = now;
	uint64_t rows = atomic_load(&fi->im.rows), bytes = atomic_load(&fi->im.bytes_done);
	double pct = fi->size ? 100.0 * (double)bytes / (double)fi->size : 100.0;
	double rate = now > fi->started ? (double)rows / (now - fi->started) : 0;
	int filled = (int)(pct / 5);
	char bar[21];
	for (int i = 0; i < 20; i++)
		bar[i] = i < filled ? '#' : '.';
	bar[20] = 0;
	fprintf(stderr, "%s[%s] %5.1f%%  %llu rows  %.0f rows/s%s", fi->tty ? "\r" : "", bar, pct,
		(unsigned long long)rows, rate, fi->tty && !last ? "" : "\n");
}

static long read_file(void *ctx, char *buf, size_t cap)
{
	struct file_import *fi = ctx;
	size_t n = fread(buf, 1, cap, fi->f);
	progress(fi, false);
	if (n == 0 && ferror(fi->f))
		return -1;
	return (long)n;
}

static int write_row(void *ctx, struct rd_txn *t, uint64_t existing, const char *ext, const uint8_t *rec, size_t len,
		     const void *obj)
{
	struct file_import *fi = ctx;
	bool created;
	int rc = rd_import_apply(&fi->im, t, existing, ext, rec, len, &created);
	if (rc == 0)
		*(created ? &fi->created : &fi->updated) += 1;
	return rc;
}

#define DRY_RUN_DONE 1 /* a positive code from the write function: abort */

static int import_txn(struct rd_txn *t, void *arg)
{
	struct file_import *fi = arg;
	struct rd_vendor v;
	if (find_vendor(t, fi->im.app->domain, fi->slug, &v) < 0) {
		snprintf(fi->vendor_err, sizeof fi->vendor_err, "no vendor with slug \"%s\"", fi->slug);
		return RD_ENOTFOUND;
	}
	fi->im.vendor = v;
	fi->im.who.vendor = v.id;
	fi->created = fi->updated = 0;
	rewind(fi->f); /* a replay after map growth starts over */
	fi->started = mono();
	int rc = rd_import_run(&fi->im, t, read_file, fi);
	if (rc < 0)
		return rc;
	progress(fi, true);
	if (fi->im.fatal[0] || (fi->im.atomic_mode && fi->im.rows_failed) || fi->dry_run)
		return RD_EDECLINED; /* roll everything back */
	return rd_audit_write(t, fi->im.app->domain, v.id, 0, RD_AUDIT_IMPORT, "imports", 0, NULL, NULL,
			      "renewctl import");
}

int rd_cli_import(struct rd_store *s, struct rd_domain *d, int argc, char **argv)
{
	static const char *const with_value[] = { "--vendor", "--kind", "--format", NULL };
	static const char *const flags[] = { "--dry-run", "--no-atomic", "--row-at-a-time", NULL };
	int rc = check_args(argc, argv, with_value, flags, 1);
	if (rc)
		return rc;
	struct file_import *fi = rd_calloc(1, sizeof *fi);
	struct rd_app app = { .store = s, .domain = d };
	fi->slug = opt(argc, argv, "--vendor");
	const char *kind = opt(argc, argv, "--kind"), *format = opt(argc, argv, "--format");
	for (int i = 0; i < argc; i++)
		if (strncmp(argv[i], "--", 2) != 0 && (i == 0 || strncmp(argv[i - 1], "--", 2) != 0 ||
						       !strcmp(argv[i - 1], "--dry-run") || !strcmp(argv[i - 1], "--no-atomic") ||
						       !strcmp(argv[i - 1], "--row-at-a-time")))
			fi->path = argv[i];
	int res = rd_import_kind(kind);
	if (!fi->slug || res < 0) {
		fprintf(stderr, "renewctl: import needs --vendor SLUG --kind customers|contacts|products|contracts FILE\n");
		free(fi);
		return 2;
	}
	if (!format) { /* by the file's name */
		size_t n = strlen(fi->path);
		format = n > 6 && !strcmp(fi->path + n - 6, ".jsonl") ? "jsonl" : "csv";
	}
	if (strcmp(format, "csv") && strcmp(format, "jsonl")) {
		fprintf(stderr, "renewctl: --format must be csv or jsonl\n");
		free(fi);
		return 2;
	}
	fi->f = fopen(fi->path, "rb");
	if (!fi->f) {
		fprintf(stderr, "renewctl: %s: cannot open: %m\n", fi->path);
		free(fi);
		return 1;
	}
	struct stat st;
	if (fstat(fileno(fi->f), &st) == 0 && S_ISDIR(st.st_mode)) {
		fprintf(stderr, "renewctl: %s is a directory, not a file\n", fi->path);
		fclose(fi->f);
		free(fi);
		return 1;
	}
	fi->size = fstat(fileno(fi->f), &st) == 0 ? st.st_size : 0;
	fi->tty = isatty(2);
	fi->dry_run = flag(argc, argv, "--dry-run");
	fi->im.atomic_mode = !flag(argc, argv, "--no-atomic");
	fi->im.row_at_a_time = flag(argc, argv, "--row-at-a-time");
	fi->im.app = &app;
	fi->im.res = (enum rd_resource)res;
	fi->im.csv = !strcmp(format, "csv");
	fi->im.sink = write_row;
	fi->im.sink_ctx = fi;
	fi->store = s;
	/* Records, their indexes and the reports' counters take about five
	 * times the CSV's bytes (443 MB for the 88 MB of 1 M contracts): grow
	 * the map once now, with room to spare (eight times), rather than
	 * replay the whole import when it fills (the map is a sparse file:
	 * room costs nothing). */
	rd_store_reserve(s, (uint64_t)fi->size * 8);
	rc = rd_store_write(s, import_txn, fi);
	fclose(fi->f);
	int exit_code = 0;
	if (rc == RD_ENOTFOUND && fi->vendor_err[0]) {
		fprintf(stderr, "renewctl: %s\n", fi->vendor_err);
		exit_code = 1;
	} else if (rc < 0 && rc != RD_EDECLINED) {
		fprintf(stderr, "renewctl: import failed: the store failed (%s): nothing applied\n", rd_strerror(rc));
		exit_code = 1;
	} else {
		size_t i;
		json_t *e;
		json_array_foreach(fi->im.errors, i, e) {
			const char *col = json_string_value(json_object_get(e, "column"));
			fprintf(stderr, "row %lld%s%s: %s\n", (long long)json_integer_value(json_object_get(e, "row")),
				col ? ", column " : "", col ? col : "", json_string_value(json_object_get(e, "message")));
		}
		if (fi->im.rows_failed > json_array_size(fi->im.errors))
			fprintf(stderr, "... and %llu more row errors\n",
				(unsigned long long)(fi->im.rows_failed - json_array_size(fi->im.errors)));
		uint64_t rows = atomic_load(&fi->im.rows);
		if (fi->im.fatal[0]) {
			fprintf(stderr, "renewctl: %s\nnothing applied\n", fi->im.fatal);
			exit_code = 1;
		} else if (fi->dry_run) {
			printf("dry run: %llu rows read, %llu valid (%llu new, %llu updates), %llu with errors; nothing written\n",
			       (unsigned long long)rows, (unsigned long long)fi->im.rows_ok, (unsigned long long)fi->created,
			       (unsigned long long)fi->updated, (unsigned long long)fi->im.rows_failed);
			exit_code = fi->im.rows_failed ? 1 : 0;
		} else if (rc == RD_EDECLINED) {
			printf("nothing applied: %llu of %llu rows have errors (the import is atomic; --no-atomic applies the good rows)\n",
			       (unsigned long long)fi->im.rows_failed, (unsigned long long)rows);
			exit_code = 1;
		} else {
			printf("imported %llu rows: %llu new, %llu updated, %llu unchanged, %llu with errors skipped (%.2f s)\n",
			       (unsigned long long)fi->im.rows_ok, (unsigned long long)fi->created,
			       (unsigned long long)fi->updated, (unsigned long long)fi->im.rows_unchanged,
			       (unsigned long long)fi->im.rows_failed, mono() - fi->started);
			exit_code = fi->im.rows_failed ? 1 : 0;
		}
	}
	json_decref(fi->im.errors);
	free(fi);
	return exit_code;
}
