/*
 * migrate.c: renewctl's store digest (check) and migrate-store.
 *
 *   renewctl [--data DIR | --store URL | --config FILE] migrate-store --to TARGET
 *
 * copies the whole configured store (the source) into TARGET, a PostgreSQL
 * URL or an LMDB data directory, which must hold no renewd content yet:
 * every record, index entry, id sequence and store-wide setting, raw, in one
 * write transaction of the target (docs/scaling.md, "Moving between LMDB and
 * PostgreSQL").  Before that transaction commits, the target's content is
 * walked inside it and its digest compared with the digest of the snapshot
 * copied: a difference throws the whole copy away.  After the commit both
 * stores are digested afresh (the integrity check on both sides) and a
 * difference is a failure too (the source changed meanwhile: a renewd still
 * running on a PostgreSQL source).
 *
 * The source is read from one snapshot.  An LMDB source is opened with its
 * directory lock, as renewctl's other writers that need renewd stopped: a
 * renewd running on it makes migrate-store refuse.  A PostgreSQL source
 * cannot be locked against renewd nodes: the operator stops them first.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>

#include "cli/cli.h"
#include "domain/model.h"
#include "services/reports.h"
#include "store/store.h"
#include "util/err.h"

static double now_s(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static bool is_url(const char *s)
{
	return s && (strncmp(s, "postgresql://", 13) == 0 || strncmp(s, "postgres://", 11) == 0);
}

void rd_cli_digest_hex(const struct rd_store_digest *d, char out[65])
{
	for (int i = 0; i < 32; i++)
		snprintf(out + 2 * i, 3, "%02x", d->hash[i]);
}

void rd_cli_digest_print(FILE *f, const char *what, const struct rd_store_digest *d)
{
	char hex[65];
	rd_cli_digest_hex(d, hex);
	for (unsigned i = 0; i < d->n_tables; i++) {
		const struct rd_digest_table *t = &d->tables[i];
		fprintf(f, "table %s: %llu records, %llu index entries%s\n", t->name, (unsigned long long)t->records,
			(unsigned long long)t->entries, t->skipped ? " (not in the digest)" : "");
	}
	fprintf(f, "settings: %llu (%llu node-local, not in the digest); id sequences: %llu\n",
		(unsigned long long)d->meta, (unsigned long long)d->meta_skipped, (unsigned long long)d->seqs);
	fprintf(f, "digest %s: blake2b-256:%s (%llu records, %llu index entries)\n", what, hex,
		(unsigned long long)d->records, (unsigned long long)d->entries);
}

struct copy {
	struct rd_store_load *load;
	struct rd_digest_state *dg;
	uint64_t items, records, entries, bytes;
	double t0, last;
	bool progress;
};

static int copy_one(const struct rd_raw_item *it, void *arg)
{
	struct copy *c = arg;
	int rc = rd_digest_add(c->dg, it);
	if (rc < 0)
		return rc;
	if ((rc = rd_store_load_item(c->load, it)) < 0)
		return rc;
	c->items++;
	c->records += it->kind == RD_RAW_RECORD;
	c->entries += it->kind == RD_RAW_INDEX;
	c->bytes += it->len + it->key_len + 32;
	if (c->progress && (c->items & 4095) == 0) {
		double t = now_s();
		if (t - c->last >= 1.0) {
			c->last = t;
			fprintf(stderr, "renewctl: migrate-store: %llu records, %llu index entries copied (%.1f s)\n",
				(unsigned long long)c->records, (unsigned long long)c->entries, t - c->t0);
		}
	}
	return 0;
}

static int digest_one(const struct rd_raw_item *it, void *arg)
{
	return rd_digest_add(arg, it);
}

static int open_side(const char *what, const char *dir, const char *url, bool readonly, bool dir_locked,
		     struct rd_store **s)
{
	char err[1024];
	struct rd_store_opts o = { .readonly = readonly, .url = url, .dir_locked = dir_locked };
	int rc = rd_store_open(s, dir ? dir : "", &o, err, sizeof err);
	if (rc < 0) {
		fprintf(stderr, "renewctl: migrate-store: %s: %s%s\n", what, err,
			rc == RD_ELOCKED ? " (stop renewd first: migrate-store copies a store nobody writes)" : "");
		return 1;
	}
	return 0;
}

int rd_cli_migrate_store(const char *dir, const char *url, int argc, char **argv)
{
	const char *to = NULL;
	bool quiet = false;
	for (int i = 0; i < argc; i++) {
		if (strcmp(argv[i], "--to") == 0 && i + 1 < argc)
			to = argv[++i];
		else if (strncmp(argv[i], "--to=", 5) == 0)
			to = argv[i] + 5;
		else if (strcmp(argv[i], "--quiet") == 0)
			quiet = true;
		else {
			fprintf(stderr, "renewctl: migrate-store: unknown argument %s (usage: migrate-store --to TARGET)\n",
				argv[i]);
			return 2;
		}
	}
	if (!to || !*to) {
		fprintf(stderr, "renewctl: migrate-store: --to TARGET is required: a postgresql:// URL or an LMDB data "
			"directory\n");
		return 2;
	}
	bool src_pg = is_url(url), dst_pg = is_url(to);
	if (!src_pg && !dir) {
		fprintf(stderr, "renewctl: migrate-store: no source: pass --data DIR, --store URL or --config FILE\n");
		return 2;
	}
	if (dst_pg ? (src_pg && strcmp(url, to) == 0) : (!src_pg && strcmp(dir, to) == 0)) {
		fprintf(stderr, "renewctl: migrate-store: the target %s is the source itself\n", dst_pg ? "URL" : to);
		return 2;
	}
	if (!dst_pg && mkdir(to, 0700) != 0 && errno != EEXIST) {
		fprintf(stderr, "renewctl: migrate-store: target directory %s cannot be created: %s\n", to, strerror(errno));
		return 1;
	}
	if (!dst_pg && !src_pg) {
		struct stat a, b;
		if (stat(dir, &a) == 0 && stat(to, &b) == 0 && a.st_dev == b.st_dev && a.st_ino == b.st_ino) {
			fprintf(stderr, "renewctl: migrate-store: the target %s is the source itself\n", to);
			return 2;
		}
	}

	struct rd_store *src = NULL, *dst = NULL;
	/* LMDB: the directory lock (renewd must be stopped); PostgreSQL: read only. */
	if (open_side("source", dir, src_pg ? url : NULL, src_pg, false, &src))
		return 1;
	if (src_pg)
		fprintf(stderr, "renewctl: migrate-store: the source is PostgreSQL: every renewd node on it must be "
			"stopped (the copy is one snapshot; later writes would not be in it)\n");
	/* A PostgreSQL target takes the data directory's lock too (a renewd
	 * on it makes the copy refuse), unless the LMDB source holds it. */
	if (open_side("target", dst_pg ? dir : to, dst_pg ? to : NULL, false, dst_pg && !src_pg, &dst)) {
		rd_store_close(&src);
		return 1;
	}
	int code = 1;
	char err[1024];
	double t0 = now_s();
	struct rd_store_digest sd, td;
	/* LMDB target: the map grown once ahead of the copy (and again if it
	 * still fills up: the copy is then thrown away and started over). */
	struct rd_store_stats st;
	uint64_t reserve = rd_store_stats(src, &st) == 0 ? st.used_bytes + st.used_bytes / 2 : 0;
	struct copy c;
	int rc = 0;
	for (int attempt = 0; attempt < 8; attempt++) {
		if (!dst_pg && (rc = rd_store_reserve(dst, reserve)) < 0) {
			fprintf(stderr, "renewctl: migrate-store: target %s: the map cannot grow: %s\n", to, rd_strerror(rc));
			goto out;
		}
		c = (struct copy){ .progress = !quiet, .t0 = now_s() };
		c.last = c.t0;
		if ((rc = rd_store_load_begin(dst, &c.load, err, sizeof err)) < 0) {
			fprintf(stderr, "renewctl: migrate-store: %s; nothing was written\n", err);
			goto out;
		}
		c.dg = rd_digest_new();
		rc = rd_store_walk(src, copy_one, &c);
		rd_digest_end(c.dg, &sd);
		if (rc >= 0) {
			/* The copy as the target holds it, before it commits. */
			struct rd_digest_state *dg = rd_digest_new();
			rc = rd_store_load_walk(c.load, digest_one, dg);
			rd_digest_end(dg, &td);
			if (rc >= 0 && memcmp(sd.hash, td.hash, sizeof sd.hash) != 0) {
				rd_store_load_end(c.load, false);
				fprintf(stderr, "renewctl: migrate-store: the copy's digest differs from the source's: "
					"nothing was written\n");
				rd_cli_digest_print(stderr, "source", &sd);
				rd_cli_digest_print(stderr, "copy", &td);
				goto out;
			}
		}
		int erc = rd_store_load_end(c.load, rc >= 0);
		if (rc >= 0)
			rc = erc;
		if (rc != RD_EMAPFULL || dst_pg)
			break;
		reserve = reserve * 2 + c.bytes * 2 + (64u << 20);
		fprintf(stderr, "renewctl: migrate-store: the target's map filled up: growing it and starting over\n");
	}
	if (rc < 0) {
		fprintf(stderr, "renewctl: migrate-store: the copy failed: %s; nothing was written to the target\n",
			rd_strerror(rc));
		goto out;
	}
	double t_copy = now_s() - t0;
	fprintf(stderr, "renewctl: migrate-store: %llu records, %llu index entries copied and verified (%.3f s)\n",
		(unsigned long long)c.records, (unsigned long long)c.entries, t_copy);

	/* The integrity check on both sides, afresh. */
	double t1 = now_s();
	if ((rc = rd_store_digest(src, &sd)) < 0 || (rc = rd_store_digest(dst, &td)) < 0) {
		fprintf(stderr, "renewctl: migrate-store: the digest after the copy failed: %s\n", rd_strerror(rc));
		goto out;
	}
	double t_digest = now_s() - t1;
	rd_cli_digest_print(stdout, "source", &sd);
	rd_cli_digest_print(stdout, "target", &td);
	if (memcmp(sd.hash, td.hash, sizeof sd.hash) != 0) {
		fprintf(stderr, "renewctl: migrate-store: the digests differ after the copy: the source changed while it "
			"was copied (a renewd still running on it?); do not use the target\n");
		goto out;
	}
	/* The reports' counters are derived data, neither copied nor in the
	 * digest: the target's are counted from its records now, as renewd would
	 * at its first start (which it still does if this fails). */
	struct rd_domain d;
	double t2 = now_s();
	if ((rc = rd_domain_register(dst, &d)) < 0 || (rc = rd_reports_count(dst, &d)) < 0)
		fprintf(stderr, "renewctl: migrate-store: the target's report counters were not counted (%s): renewd "
			"counts them at its first start\n", rd_strerror(rc));
	else
		fprintf(stderr, "renewctl: migrate-store: the target's report counters counted (%.3f s)\n", now_s() - t2);
	printf("migrate-store: %s copied to %s: digests identical (copy %.3f s, both digests %.3f s)\n",
	       src_pg ? "the PostgreSQL store" : dir, dst_pg ? "the PostgreSQL store" : to, t_copy, t_digest);
	code = 0;
out:
	rd_store_close(&src);
	rd_store_close(&dst);
	return code;
}
