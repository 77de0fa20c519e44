/*
 * renewctl: the administrator's command line.
 *
 *   renewctl --version
 *   renewctl [--config FILE] [--data DIR] [--plugin-dir DIR] COMMAND ...
 *
 * --config reads renewd's own configuration file (data, plugin_dir,
 * outbound_hosts, secret_env), so the two agree without repeating them.
 * Read-only commands (check, backup, plugins) open the store without the
 * directory lock.  Commands that write (vendor, user, import, policy,
 * plugin, operator, demo-load) run beside a running renewd: LMDB serialises
 * the writers of both processes, and renewd reads every record from the
 * store per request, so it serves the change from its next request
 * (docs/operations.md, "Administration while running"); so do the listings,
 * clock show and schedule preview, saying nothing of a write.  secrets
 * rotate and clock set still need renewd stopped: renewd holds the key and
 * the clock in memory.
 */
#include <pwd.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "auth/auth.h"
#include "cli/cli.h"
#include "config/config.h"
#include "domain/model.h"
#include "domain/refs.h"
#include "rd_config.h"
#include "services/reports.h"
#include "store/store.h"
#include "util/err.h"
#include "util/log.h"

struct rd_cli_settings rd_cli;

static void usage(FILE *f)
{
	fprintf(f,
		"usage: renewctl [--config FILE] [--data DIR] [--plugin-dir DIR] [--store URL] COMMAND [ARGS]\n"
		"       renewctl --version\n\n"
		"global options:\n"
		"  --config FILE        renewd's configuration file: its data, plugin_dir, outbound_hosts and secret_env\n"
		"  --data DIR           the data directory (wins over the file; else RENEWD_DATA)\n"
		"  --plugin-dir DIR     the plugin directory (wins over the file; else the installed one, as renewd)\n"
		"  --store URL          the records are in PostgreSQL at URL (postgresql://...), not in DIR\n"
		"                       (wins over the file's store; else RENEWD_STORE; docs/scaling.md)\n\n"
		"commands:\n"
		"  version              print the renewd version\n"
		"  check                verify every index entry, record and reference, print the content digest\n"
		"                       (safe while renewd runs)\n"
		"  backup OUT           hot, compacted copy of the store into directory OUT\n"
		"  demo-load FILE       load a demo vendor data set\n"
		"  vendor create --name N --slug S --currency CUR\n"
		"                       create a vendor (a tenant)\n"
		"  user create --vendor S --email E --role ROLE [--name N] [--partner ID] [--password-stdin]\n"
		"                       create a user and print an API token for it (once)\n"
		"                       roles: vendor-admin channel-manager vendor-sales partner-admin partner-sales\n"
		"  import --vendor S --kind customers|contacts|products|contracts [--format csv|jsonl]\n"
		"         [--dry-run] [--no-atomic] [--row-at-a-time] FILE\n"
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
		"  operator token create --name N | operator token list | operator token revoke ID\n"
		"                       the platform operator's tokens for /api/v1/operator/ (shown once)\n"
		"  secrets rotate [--plugin-dir DIR]\n"
		"                       a new DATA/secrets.key; every stored plugin secret sealed again under it\n"
		"  clock show | clock set YYYY-MM-DD\n"
		"                       the test clock a renewd started with --test-clock resumes from\n"
		"  schedule preview --vendor S [--days N]\n"
		"                       every action due in the next N days (default 30), none taken\n"
		"  migrate-store --to TARGET [--quiet]\n"
		"                       copy the whole store into TARGET (a postgresql:// URL or an empty LMDB data\n"
		"                       directory), verified by digests; renewd stopped (docs/scaling.md)\n\n"
		"Commands that write (demo-load, vendor, user, import, policy, plugin, operator) run beside a\n"
		"running renewd, which serves the change from its next request, and so do the ones that read\n"
		"(check, backup, plugins, the listings, clock show, schedule preview); secrets rotate, clock set\n"
		"and migrate-store need renewd stopped.\n");
}

static double now_s(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* --store URL or RENEWD_STORE: a PostgreSQL store (docs/scaling.md); unset: LMDB in the data directory. */
static const char *store_url;
/* renewctl import: the store opened with opts.writemap (a large import's memory stays flat). */
static bool open_writemap;

static int open_store_as(const char *dir, bool readonly, bool beside, struct rd_store **s, struct rd_domain *d)
{
	char err[1024];
	if (!dir) {
		fprintf(stderr, "renewctl: no data directory: pass --data DIR or --config FILE (renewd's)\n");
		return 2;
	}
	/* root writing into the service user's directory would make the files
	 * it creates (data.mdb, lock.mdb, secrets.key, ...) root's, and renewd,
	 * running as that user, could not open them: refused, saying how. */
	struct stat dst;
	if (!readonly && geteuid() == 0 && stat(dir, &dst) == 0 && S_ISDIR(dst.st_mode) && dst.st_uid != 0) {
		struct passwd *pw = getpwuid(dst.st_uid);
		char who[300];
		snprintf(who, sizeof who, "%s", pw ? pw->pw_name : "");
		fprintf(stderr,
			"renewctl: data directory %s belongs to %s%suid %u%s, and renewctl runs as root: files it made "
			"there would be root's, and renewd running as that user could not open them; run it as that user "
			"(runuser -u %s -- renewctl ...)\n",
			dir, who, *who ? " (" : "", (unsigned)dst.st_uid, *who ? ")" : "", *who ? who : "USER");
		return 1;
	}
	struct rd_store_opts o = { .readonly = readonly, .beside = beside, .url = store_url, .writemap = open_writemap };
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

static int open_store(const char *dir, bool readonly, struct rd_store **s, struct rd_domain *d)
{
	return open_store_as(dir, readonly, false, s, d);
}

/* Says what a write beside a running renewd did. */
static void beside_note(struct rd_store *s, const char *dir, bool before, int rc)
{
	long pid = rd_store_beside_pid(s);
	if (!pid)
		return;
	char p[32];
	snprintf(p, sizeof p, pid > 0 ? "pid %ld" : "pid unknown", pid);
	if (before)
		fprintf(stderr, "renewctl: renewd (%s) is running on %s: writing beside it through %s\n", p, dir,
			strcmp(rd_store_backend(s), "lmdb") ? "the database's transactions"
							    : "LMDB's multi-process transactions");
	else if (rc == 0)
		fprintf(stderr, "renewctl: written; renewd (%s) serves the change from its next request, no restart\n", p);
	else
		fprintf(stderr, "renewctl: nothing of this command was written; renewd (%s) is unaffected\n", p);
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
	/* The content digest first (docs/scaling.md, "The store digest"): it
	 * reads the bytes only, so a record that does not decode has one too. */
	struct rd_store_digest *dg = rd_malloc(sizeof *dg);
	int n = rd_store_digest(s, dg);
	if (n == 0) {
		rd_cli_digest_print(stdout, "of the content", dg);
		printf("digest time: %.3f s\n", now_s() - t0);
		n = rd_store_check(s, report, NULL);
	}
	free(dg);
	/* Then every reference: a record naming one that does not exist. */
	int refs = n < 0 ? 0 : rd_refs_check(s, &d, report, NULL);
	/* Then the reports' counters against a recount of the records. */
	int counters = n < 0 || refs < 0 ? 0 : rd_reports_check(s, &d, 0, report, NULL);
	rd_store_close(&s);
	if (refs < 0)
		n = refs;
	else if (counters < 0)
		n = counters;
	else if (n >= 0)
		n += refs + counters;
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

/* reads: the command only reads (a listing, a preview whose transaction is
 * rolled back), so it says nothing about writing beside renewd. */
static int write_as(const char *dir, bool beside, bool reads, write_cmd fn, int argc, char **argv)
{
	struct rd_store *s;
	struct rd_domain d;
	if (rd_auth_init() < 0) {
		fprintf(stderr, "renewctl: the crypto library could not start\n");
		return 1;
	}
	int rc = open_store_as(dir, false, beside, &s, &d);
	if (rc)
		return rc;
	if (!reads)
		beside_note(s, dir, true, 0);
	rc = fn(s, &d, argc, argv);
	if (!reads)
		beside_note(s, dir, false, rc);
	rd_store_close(&s);
	return rc;
}

/* Writes that need renewd stopped (it holds their state in memory). */
static int cmd_write(const char *dir, write_cmd fn, int argc, char **argv)
{
	return write_as(dir, false, false, fn, argc, argv);
}

/* Writes beside a running renewd, which reads them from the store. */
static int cmd_beside(const char *dir, write_cmd fn, int argc, char **argv)
{
	return write_as(dir, true, false, fn, argc, argv);
}

/* Subcommands that only read, beside a running renewd as well. */
static bool reads_only(const char *cmd, int argc, char **argv)
{
	const char *sub = argc > 0 ? argv[0] : "";
	if (!strcmp(cmd, "policy"))
		return !strcmp(sub, "list") || !strcmp(sub, "show") || !strcmp(sub, "dry-run");
	if (!strcmp(cmd, "plugin"))
		return !strcmp(sub, "enablements");
	if (!strcmp(cmd, "operator"))
		return !strcmp(sub, "token") && argc > 1 && !strcmp(argv[1], "list");
	if (!strcmp(cmd, "clock"))
		return !strcmp(sub, "show");
	if (!strcmp(cmd, "schedule"))
		return !strcmp(sub, "preview");
	return false;
}

static int cmd_admin(const char *dir, const char *cmd, write_cmd fn, int argc, char **argv)
{
	return write_as(dir, true, reads_only(cmd, argc, argv), fn, argc, argv);
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
	int rc = open_store_as(dir, false, true, &s, &d);
	if (rc)
		return rc;
	beside_note(s, dir, true, 0);
	rc = rd_cli_demo_load(s, &d, file);
	beside_note(s, dir, false, rc);
	rd_store_close(&s);
	return rc < 0 ? 1 : 0;
}

/* renewd's configuration file: data, plugin_dir, outbound_hosts and
 * secret_env, read by renewd's own loader (so both agree on every rule). */
static int read_config(const char *path, const char *data, struct rd_config *c)
{
	char *args[] = { "renewctl", "--config", (char *)path, "--data", (char *)data, NULL };
	bool help;
	char err[1024];
	if (rd_config_load(c, data ? 5 : 3, args, &help, err, sizeof err) < 0) {
		fprintf(stderr, "renewctl: %s\n", err);
		return 2;
	}
	return 0;
}

int main(int argc, char **argv)
{
	const char *dir = NULL, *config = NULL, *plugin_dir = NULL;
	int i = 1;
	rd_log_set_level(RD_LOG_WARN);
	umask(077); /* stores, backups and exports are the service user's alone */
	for (; i < argc && strncmp(argv[i], "--", 2) == 0; i++) {
		if (strcmp(argv[i], "--data") == 0 && i + 1 < argc) {
			dir = argv[++i];
		} else if (strncmp(argv[i], "--data=", 7) == 0) {
			dir = argv[i] + 7;
		} else if (strcmp(argv[i], "--config") == 0 && i + 1 < argc) {
			config = argv[++i];
		} else if (strncmp(argv[i], "--config=", 9) == 0) {
			config = argv[i] + 9;
		} else if (strcmp(argv[i], "--plugin-dir") == 0 && i + 1 < argc) {
			plugin_dir = argv[++i];
		} else if (strncmp(argv[i], "--plugin-dir=", 13) == 0) {
			plugin_dir = argv[i] + 13;
		} else if (strcmp(argv[i], "--version") == 0) {
			printf("renewctl %s (store schema %d)\n", RD_VERSION, RD_SCHEMA);
			return 0;
		} else if (strcmp(argv[i], "--store") == 0 && i + 1 < argc) {
			store_url = argv[++i];
		} else if (strncmp(argv[i], "--store=", 8) == 0) {
			store_url = argv[i] + 8;
		} else if (strcmp(argv[i], "--help") == 0) {
			usage(stdout);
			return 0;
		} else if (!strcmp(argv[i], "--data") || !strcmp(argv[i], "--config") || !strcmp(argv[i], "--plugin-dir") ||
			   !strcmp(argv[i], "--store")) {
			fprintf(stderr, "renewctl: %s needs a value\n", argv[i]);
			return 2;
		} else {
			fprintf(stderr, "renewctl: unknown option %s\n", argv[i]);
			usage(stderr);
			return 2;
		}
	}
	struct rd_config conf = { 0 };
	if (config) {
		int rc = read_config(config, dir, &conf);
		if (rc) {
			rd_config_free(&conf);
			return rc;
		}
		dir = conf.data;
		if (!store_url && conf.store && strcmp(conf.store, "lmdb") != 0)
			store_url = conf.store;
		rd_cli.plugin_dir = conf.plugin_dir;
		rd_cli.outbound_hosts = conf.outbound_hosts;
		rd_cli.secret_env = conf.secret_env;
	}
	if (!dir)
		dir = getenv("RENEWD_DATA");
	if (!store_url)
		store_url = getenv("RENEWD_STORE");
	if (plugin_dir)
		rd_cli.plugin_dir = plugin_dir;
	/* renewd's default when neither names one: the installed plugin
	 * directory, if it is there (docs/operations.md). */
	struct stat pst;
	if (!rd_cli.plugin_dir && stat(RD_PLUGINDIR, &pst) == 0 && S_ISDIR(pst.st_mode))
		rd_cli.plugin_dir = RD_PLUGINDIR;
	int code = 2;
	if (i >= argc) {
		usage(stderr);
		goto out;
	}
	const char *cmd = argv[i++];
	int nargs = argc - i;
	if (strcmp(cmd, "version") == 0 && nargs == 0) {
		printf("renewctl %s (store schema %d)\n", RD_VERSION, RD_SCHEMA);
		code = 0;
	} else if (strcmp(cmd, "check") == 0 && nargs == 0) {
		code = cmd_check(dir);
	} else if (strcmp(cmd, "backup") == 0 && nargs == 1) {
		code = cmd_backup(dir, argv[i]);
	} else if (strcmp(cmd, "demo-load") == 0 && nargs == 1) {
		code = cmd_demo_load(dir, argv[i]);
	} else if (strcmp(cmd, "vendor") == 0 && nargs >= 1 && strcmp(argv[i], "create") == 0) {
		code = cmd_beside(dir, rd_cli_vendor_create, nargs - 1, argv + i + 1);
	} else if (strcmp(cmd, "user") == 0 && nargs >= 1 && strcmp(argv[i], "create") == 0) {
		code = cmd_beside(dir, rd_cli_user_create, nargs - 1, argv + i + 1);
	} else if (strcmp(cmd, "import") == 0) {
		open_writemap = true;
		code = cmd_beside(dir, rd_cli_import, nargs, argv + i);
	} else if (strcmp(cmd, "policy") == 0) {
		code = cmd_admin(dir, cmd, rd_cli_policy, nargs, argv + i);
	} else if (strcmp(cmd, "plugins") == 0) {
		code = cmd_read(dir, rd_cli_plugins_list, nargs, argv + i);
	} else if (strcmp(cmd, "plugin") == 0) {
		code = cmd_admin(dir, cmd, rd_cli_plugin, nargs, argv + i);
	} else if (strcmp(cmd, "operator") == 0) {
		code = cmd_admin(dir, cmd, rd_cli_operator, nargs, argv + i);
	} else if (strcmp(cmd, "secrets") == 0) {
		code = cmd_write(dir, rd_cli_secrets, nargs, argv + i);
	} else if (strcmp(cmd, "clock") == 0) {
		/* clock set needs renewd stopped (it holds the test clock); show reads. */
		code = reads_only(cmd, nargs, argv + i) ? cmd_admin(dir, cmd, rd_cli_clock, nargs, argv + i)
							: cmd_write(dir, rd_cli_clock, nargs, argv + i);
	} else if (strcmp(cmd, "schedule") == 0) {
		/* The preview's write transaction is rolled back: beside renewd too. */
		code = cmd_admin(dir, cmd, rd_cli_schedule, nargs, argv + i);
	} else if (strcmp(cmd, "migrate-store") == 0) {
		code = rd_cli_migrate_store(dir, store_url, nargs, argv + i);
	} else {
		fprintf(stderr, "renewctl: unknown command or wrong arguments: %s\n", cmd);
		usage(stderr);
	}
out:
	rd_config_free(&conf);
	return code;
}
