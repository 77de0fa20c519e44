/* cli.h: renewctl's subcommands. */
#ifndef RD_CLI_CLI_H
#define RD_CLI_CLI_H

#include <stdio.h>

struct rd_store;
struct rd_domain;

/* Settings renewctl takes from renewd's configuration file (--config) or
 * its own global flags: the defaults of the subcommands' --plugin-dir,
 * --outbound-hosts and --secret-env. */
struct rd_cli_settings {
	const char *plugin_dir, *outbound_hosts, *secret_env;
};
extern struct rd_cli_settings rd_cli;

/* Loads a demo vendor data set (examples/demo/demo.json) into the store;
 * contract dates are relative to today.  Prints what it did. */
int rd_cli_demo_load(struct rd_store *s, struct rd_domain *d, const char *file);

/* Subcommands taking the arguments after their name; they return the exit
 * status (0, 1 failure, 2 usage). */
int rd_cli_vendor_create(struct rd_store *s, struct rd_domain *d, int argc, char **argv);
int rd_cli_user_create(struct rd_store *s, struct rd_domain *d, int argc, char **argv);
int rd_cli_import(struct rd_store *s, struct rd_domain *d, int argc, char **argv);
int rd_cli_policy(struct rd_store *s, struct rd_domain *d, int argc, char **argv);
int rd_cli_plugins_list(struct rd_store *s, struct rd_domain *d, int argc, char **argv);
int rd_cli_plugin(struct rd_store *s, struct rd_domain *d, int argc, char **argv);
/* secrets rotate: a new DATA/secrets.key, every stored secret sealed again. */
int rd_cli_secrets(struct rd_store *s, struct rd_domain *d, int argc, char **argv);
int rd_cli_clock(struct rd_store *s, struct rd_domain *d, int argc, char **argv);
/* operator token create --name N | operator token list | operator token revoke ID */
int rd_cli_operator(struct rd_store *s, struct rd_domain *d, int argc, char **argv);
int rd_cli_schedule(struct rd_store *s, struct rd_domain *d, int argc, char **argv);

/* A whole number in min..max written in decimal digits only (no sign, no
 * trailing text, no overflow) into *out; false otherwise (admin.c). */
#include <stdbool.h>
#include <stdint.h>
bool rd_cli_whole(const char *s, uint64_t min, uint64_t max, uint64_t *out);
/* Whether an option's text is UTF-8 (what the API's JSON holds) and, when
 * cap > 0, shorter than cap bytes; says what is wrong on stderr if not. */
bool rd_cli_text_ok(const char *optname, const char *v, size_t cap);

/* migrate-store --to TARGET (migrate.c): the store in dir (url NULL) or at url copied
 * into TARGET and verified by digests. */
int rd_cli_migrate_store(const char *dir, const char *url, int argc, char **argv);
/* The store digest's lines (table counts, settings, the digest) as renewctl prints them. */
struct rd_store_digest;
void rd_cli_digest_hex(const struct rd_store_digest *d, char out[65]);
void rd_cli_digest_print(FILE *f, const char *what, const struct rd_store_digest *d);

#endif
