/*
 * renewctl: the administrator's command line.
 *
 *   renewctl version
 *   renewctl --data DIR check      (indexes, records, and every reference)
 *   renewctl --data DIR backup OUT
 *   renewctl --data DIR demo-load FILE
 *
 * Read-only commands (check, backup) open the store without the directory
 * lock, so they run while renewd serves.  Commands that write take the lock
 * and refuse while renewd runs.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>

#include "auth/auth.h"
#include "cli/cli.h"
#include "domain/model.h"
#include "domain/refs.h"
#include "rd_config.h"
#include "store/store.h"
#include "util/err.h"
#include "util/log.h"

static void usage(FILE *f)
{
	fprintf(f,
		"usage: renewctl [--data DIR] COMMAND [ARGS]\n\n"
		"commands:\n"
		"  version              print the renewd version\n"
		"  check                verify every index entry, record and reference (safe while renewd runs)\n"
		"  backup OUT           hot, compacted copy of the store into directory OUT\n"
		"  demo-load FILE       load a demo vendor data set\n"
		"  vendor create --name N --slug S --currency CUR\n"
		"                       create a vendor (a tenant)\n"
		"  user create --vendor S --email E --role ROLE [--name N] [--partner ID] [--password-stdin]\n"
		"                       create a user and print an API token for it (once)\n"
		"                       roles: vendor-admin channel-manager vendor-sales partner-admin partner-sales\n"
		"  import --vendor S --kind customers|contacts|products|contracts [--format csv|jsonl]\n"
		"         [--dry-run] [--no-atomic] FILE\n"
		"                       import a file with a progress bar; atomic unless --no-atomic\n"
		"  policy list --vendor S\n"
		"  policy push --vendor S --kind margin|routing [--vectors FILE] [--note N] [--activate] SCRIPT\n"
		"  policy show|dry-run|activate --vendor S --kind K --version N\n"
		"                       manage the vendor's Lua policies (activate an older version to roll back)\n"
		"  plugins [--plugin-dir DIR]\n"
		"                       loaded and refused plugins, with the reasons (exit 1 if any is refused)\n"
		"  plugin enable --vendor S --plugin P [--partner ID] --config JSON [--plugin-dir DIR]\n"
		"                [--outbound-hosts LIST] [--secret-env LIST]   (as renewd's options)\n"
		"  plugin disable --vendor S --plugin P [--partner ID]\n"
		"  plugin enablements --vendor S\n"
		"  secrets rotate [--plugin-dir DIR]\n"
		"                       a new DATA/secrets.key; every stored plugin secret sealed again under it\n"
		"  clock show | clock set YYYY-MM-DD\n"
		"                       the test clock a renewd started with --test-clock resumes from\n"
		"  schedule preview --vendor S [--days N]\n"
		"                       every action due in the next N days (default 30), none taken\n\n"
		"Commands that write (demo-load, vendor, user, import, policy, plugin, secrets) need renewd stopped.\n"
		"DIR may also come from the RENEWD_DATA environment variable.\n"
		"--store URL (or RENEWD_STORE): the records are in PostgreSQL at URL (postgresql://...), not in DIR.\n");
}

static double now_s(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* --store URL or RENEWD_STORE: a PostgreSQL store (docs/scaling.md); unset: LMDB in the data directory. */
static const char *store_url;

static int open_store(const char *dir, bool readonly, struct rd_store **s, struct rd_domain *d)
{
	char err[1024];
	if (!dir) {
		fprintf(stderr, "renewctl: no data directory: pass --data DIR\n");
		return 2;
	}
	struct rd_store_opts o = { .readonly = readonly, .url = store_url };
	if (rd_store_open(s, dir, &o, err, sizeof err) < 0) {
		fprintf(stderr, "renewctl: %s\n", err);
		return 1;
	}
	int rc = rd_domain_register(*s, d);
	if (rc < 0) {
		fprintf(stderr, "renewctl: data directory %s: cannot open the tables: %s\n", dir, rd_strerror(rc));
		rd_store_close(s);
		return 1;
	}
	return 0;
}

static void report(const char *problem, void *arg)
{
	(void)arg;
	printf("problem: %s\n", problem);
}

static int cmd_check(const char *dir)
{
	struct rd_store *s;
	struct rd_domain d;
	int rc = open_store(dir, true, &s, &d);
	if (rc)
		return rc;
	double t0 = now_s();
	int n = rd_store_check(s, report, NULL);
	/* Then every reference: a record naming one that does not exist. */
	int refs = n < 0 ? 0 : rd_refs_check(s, &d, report, NULL);
	rd_store_close(&s);
	if (refs < 0)
		n = refs;
	else if (n >= 0)
		n += refs;
	if (n < 0) {
		fprintf(stderr, "renewctl: check of %s failed: %s\n", dir, rd_strerror(n));
		return 1;
	}
	printf("check %s: %d problem%s (%.3f s)\n", dir, n, n == 1 ? "" : "s", now_s() - t0);
	return n ? 1 : 0;
}

static int cmd_backup(const char *dir, const char *out)
{
	struct rd_store *s;
	struct rd_domain d;
	int rc = open_store(dir, true, &s, &d);
	if (rc)
		return rc;
	char err[1024];
	double t0 = now_s();
	rc = rd_store_backup(s, out, err, sizeof err);
	rd_store_close(&s);
	if (rc < 0) {
		fprintf(stderr, "renewctl: %s\n", err);
		return 1;
	}
	printf("backup of %s written to %s (%.3f s); start renewd with --data %s to use it\n", dir, out,
	       now_s() - t0, out);
	return 0;
}

typedef int (*write_cmd)(struct rd_store *s, struct rd_domain *d, int argc, char **argv);

static int cmd_write(const char *dir, write_cmd fn, int argc, char **argv)
{
	struct rd_store *s;
	struct rd_domain d;
	if (rd_auth_init() < 0) {
		fprintf(stderr, "renewctl: the crypto library could not start\n");
		return 1;
	}
	int rc = open_store(dir, false, &s, &d);
	if (rc)
		return rc;
	rc = fn(s, &d, argc, argv);
	rd_store_close(&s);
	return rc;
}

/* Commands that only read run beside a running renewd. */
static int cmd_read(const char *dir, write_cmd fn, int argc, char **argv)
{
	struct rd_store *s;
	struct rd_domain d;
	if (rd_auth_init() < 0)
		return 1;
	int rc = open_store(dir, true, &s, &d);
	if (rc)
		return rc;
	rc = fn(s, &d, argc, argv);
	rd_store_close(&s);
	return rc;
}

static int cmd_demo_load(const char *dir, const char *file)
{
	struct rd_store *s;
	struct rd_domain d;
	int rc = open_store(dir, false, &s, &d);
	if (rc)
		return rc;
	rc = rd_cli_demo_load(s, &d, file);
	rd_store_close(&s);
	return rc < 0 ? 1 : 0;
}

int main(int argc, char **argv)
{
	const char *dir = getenv("RENEWD_DATA");
	store_url = getenv("RENEWD_STORE");
	int i = 1;
	rd_log_set_level(RD_LOG_WARN);
	umask(077); /* stores, backups and exports are the service user's alone */
	for (; i < argc && strncmp(argv[i], "--", 2) == 0; i++) {
		if (strcmp(argv[i], "--data") == 0 && i + 1 < argc) {
			dir = argv[++i];
		} else if (strncmp(argv[i], "--data=", 7) == 0) {
			dir = argv[i] + 7;
		} else if (strcmp(argv[i], "--store") == 0 && i + 1 < argc) {
			store_url = argv[++i];
		} else if (strncmp(argv[i], "--store=", 8) == 0) {
			store_url = argv[i] + 8;
		} else if (strcmp(argv[i], "--help") == 0) {
			usage(stdout);
			return 0;
		} else {
			fprintf(stderr, "renewctl: unknown option %s\n", argv[i]);
			usage(stderr);
			return 2;
		}
	}
	if (i >= argc) {
		usage(stderr);
		return 2;
	}
	const char *cmd = argv[i++];
	int nargs = argc - i;
	if (strcmp(cmd, "version") == 0 && nargs == 0) {
		printf("renewctl %s (store schema %d)\n", RD_VERSION, RD_SCHEMA);
		return 0;
	}
	if (strcmp(cmd, "check") == 0 && nargs == 0)
		return cmd_check(dir);
	if (strcmp(cmd, "backup") == 0 && nargs == 1)
		return cmd_backup(dir, argv[i]);
	if (strcmp(cmd, "demo-load") == 0 && nargs == 1)
		return cmd_demo_load(dir, argv[i]);
	if (strcmp(cmd, "vendor") == 0 && nargs >= 1 && strcmp(argv[i], "create") == 0)
		return cmd_write(dir, rd_cli_vendor_create, nargs - 1, argv + i + 1);
	if (strcmp(cmd, "user") == 0 && nargs >= 1 && strcmp(argv[i], "create") == 0)
		return cmd_write(dir, rd_cli_user_create, nargs - 1, argv + i + 1);
	if (strcmp(cmd, "import") == 0)
		return cmd_write(dir, rd_cli_import, nargs, argv + i);
	if (strcmp(cmd, "policy") == 0)
		return cmd_write(dir, rd_cli_policy, nargs, argv + i);
	if (strcmp(cmd, "plugins") == 0)
		return cmd_read(dir, rd_cli_plugins_list, nargs, argv + i);
	if (strcmp(cmd, "plugin") == 0)
		return cmd_write(dir, rd_cli_plugin, nargs, argv + i);
	if (strcmp(cmd, "secrets") == 0)
		return cmd_write(dir, rd_cli_secrets, nargs, argv + i);
	if (strcmp(cmd, "clock") == 0)
		return cmd_write(dir, rd_cli_clock, nargs, argv + i);
	if (strcmp(cmd, "schedule") == 0)
		return cmd_write(dir, rd_cli_schedule, nargs, argv + i);
	fprintf(stderr, "renewctl: unknown command or wrong arguments: %s\n", cmd);
	usage(stderr);
	return 2;
}
