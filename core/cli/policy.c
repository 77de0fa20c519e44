/*
 * policy.c: renewctl policy ...
 *   list     --vendor S
 *   push     --vendor S --kind margin|routing [--vectors FILE] [--note N] [--activate] SCRIPT
 *            (vectors default to SCRIPT with .lua replaced by .vectors.json)
 *   show     --vendor S --kind K --version N
 *   dry-run  --vendor S --kind margin --version N
 *   activate --vendor S --kind K --version N     (also how to roll back)
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "cli/cli.h"
#include "domain/model.h"
#include "policy/runtime.h"
#include "services/policies.h"
#include "store/store.h"
#include "util/err.h"

static const char *opt(int argc, char **argv, const char *name)
{
	for (int i = 0; i + 1 < argc; i++)
		if (!strcmp(argv[i], name))
			return argv[i + 1];
	return NULL;
}

static int vendor_by_slug(struct rd_store *s, struct rd_domain *d, const char *slug, struct rd_vendor *v)
{
	struct rd_txn *t;
	int rc = rd_store_read(s, &t);
	if (rc < 0)
		return rc;
	struct rd_iter it;
	struct rd_item item;
	rc = rd_iter_records(&it, t, d->vendors, 0, 0);
	while (rc >= 0 && (rc = rd_iter_next(&it, &item)) > 0)
		if (slug && rd_entity_decode(&rd_entity_vendor, item.val, item.len, v) == 0 && !strcmp(v->slug, slug))
			break;
	rd_iter_close(&it);
	rd_txn_end(t);
	if (rc == 0 || !slug)
		fprintf(stderr, "renewctl: no vendor with slug \"%s\" (--vendor)\n", slug ? slug : "");
	return rc > 0 ? 0 : RD_ENOTFOUND;
}

static char *slurp(const char *path, size_t max, size_t *len)
{
	FILE *f = fopen(path, "rb");
	if (!f) {
		fprintf(stderr, "renewctl: %s: cannot open: %m\n", path);
		return NULL;
	}
	struct stat st;
	if (fstat(fileno(f), &st) == 0 && S_ISDIR(st.st_mode)) {
		fprintf(stderr, "renewctl: %s is a directory, not a file\n", path);
		fclose(f);
		return NULL;
	}
	char *buf = rd_malloc(max + 1);
	*len = fread(buf, 1, max + 1, f);
	fclose(f);
	if (*len > max) {
		fprintf(stderr, "renewctl: %s is larger than %zu bytes\n", path, max);
		free(buf);
		return NULL;
	}
	buf[*len] = 0;
	return buf;
}

static int cmd_list(struct rd_store *s, struct rd_domain *d, const struct rd_vendor *v)
{
	struct rd_txn *t;
	int rc = rd_store_read(s, &t);
	if (rc < 0)
		return 1;
	struct rd_policy_rec *r = rd_malloc(sizeof *r);
	struct rd_iter it;
	struct rd_item item;
	printf("%-8s %7s  %-8s  %-20s  %s\n", "kind", "version", "status", "created", "note");
	rc = rd_iter_records(&it, t, d->policies, v->id, 0);
	while (rc >= 0 && (rc = rd_iter_next(&it, &item)) > 0) {
		if (rd_entity_decode(&rd_entity_policy, item.val, item.len, r) < 0)
			continue;
		char when[21];
		rd_time_format(r->created_at, when);
		static const char *const st[] = { "", "ready", "active", "retired" };
		printf("%-8s %7u  %-8s  %-20s  %s\n", r->kind, r->version, r->status < 4 ? st[r->status] : "?", when, r->note);
	}
	rd_iter_close(&it);
	rd_txn_end(t);
	free(r);
	return rc < 0 ? 1 : 0;
}

struct push {
	struct rd_domain *d;
	uint64_t vendor;
	struct rd_policy_rec rec;
	bool activate;
};

static int push_write(struct rd_txn *t, void *arg)
{
	struct push *p = arg;
	int rc = rd_policy_store(t, p->d, p->vendor, &p->rec);
	if (rc >= 0 && p->activate)
		rc = rd_policy_activate(t, p->d, p->vendor, p->rec.kind, p->rec.version, 0);
	return rc;
}

static int cmd_push(struct rd_store *s, struct rd_domain *d, const struct rd_vendor *v, const char *kind, int argc,
		    char **argv)
{
	const char *script = argc > 0 && strncmp(argv[argc - 1], "--", 2) && (argc < 2 || strncmp(argv[argc - 2], "--", 2) ||
									   !strcmp(argv[argc - 2], "--activate"))
				     ? argv[argc - 1]
				     : NULL;
	if (!script) {
		fprintf(stderr, "renewctl: policy push needs the script file last\n");
		return 2;
	}
	char vpath[4096];
	const char *vectors = opt(argc, argv, "--vectors");
	if (!vectors) {
		size_t n = strlen(script);
		snprintf(vpath, sizeof vpath, "%.*s.vectors.json", (int)(n > 4 && !strcmp(script + n - 4, ".lua") ? n - 4 : n),
			 script);
		vectors = vpath;
	}
	struct push *p = rd_calloc(1, sizeof *p);
	p->d = d;
	p->vendor = v->id;
	p->activate = false;
	for (int i = 0; i < argc; i++)
		p->activate |= !strcmp(argv[i], "--activate");
	size_t slen, vlen;
	char *src = slurp(script, sizeof p->rec.source - 1, &slen);
	char *vtext = src ? slurp(vectors, sizeof p->rec.vectors - 1, &vlen) : NULL;
	int code = 1;
	json_error_t je;
	json_t *vj = vtext ? json_loads(vtext, 0, &je) : NULL;
	if (vtext && !json_is_array(vj)) {
		fprintf(stderr, "renewctl: %s: the test vectors must be a JSON array (%s)\n", vectors, vj ? "not an array" : je.text);
		goto out;
	}
	if (!vj)
		goto out;
	char err[512], name[64];
	snprintf(name, sizeof name, "%s", strrchr(script, '/') ? strrchr(script, '/') + 1 : script);
	{
		/* The API's rules for an upload (services/policies.c): 1 to 1000
		 * vectors of at most 64 KiB, a note of at most 255 bytes. */
		const char *note = opt(argc, argv, "--note");
		if (note && !rd_cli_text_ok("--note", note, 0)) {
			code = 2;
			goto out;
		}
		struct rd_policy_job *j = rd_calloc(1, sizeof *j);
		struct rd_serr e = { 0 };
		int prc = rd_policy_upload_prepare(j, kind, src, vj, note ? note : name, &e);
		json_decref(j->vectors);
		json_decref(j->report);
		free(j);
		if (prc < 0) {
			const char *f = e.field && !strcmp(e.field, "vectors") ? "--vectors"
					: e.field && !strcmp(e.field, "note") ? "--note"
										 : "the script";
			fprintf(stderr, "renewctl: %s: %s\n", f, e.message);
			code = 2;
			goto out;
		}
	}
	json_t *report = json_array();
	int rc = rd_policy_check(v, kind, name, src, slen, vj, report, err, sizeof err);
	if (rc != 0) {
		if (rc == RD_EINVAL)
			fprintf(stderr, "renewctl: %s\n", err);
		size_t i;
		json_t *f;
		json_array_foreach(report, i, f)
			fprintf(stderr, "vector %s: %s\n", json_string_value(json_object_get(f, "vector")),
				json_string_value(json_object_get(f, "message")));
		if (rc > 0)
			fprintf(stderr, "renewctl: %d of %zu test vectors failed: nothing stored\n", rc, json_array_size(vj));
		json_decref(report);
		goto out;
	}
	json_decref(report);
	snprintf(p->rec.kind, sizeof p->rec.kind, "%s", kind);
	memcpy(p->rec.source, src, slen + 1);
	char *compact = json_dumps(vj, JSON_COMPACT);
	snprintf(p->rec.vectors, sizeof p->rec.vectors, "%s", compact ? compact : "[]");
	free(compact);
	snprintf(p->rec.note, sizeof p->rec.note, "%s", opt(argc, argv, "--note") ? opt(argc, argv, "--note") : name);
	p->rec.vectors_passed = (uint32_t)json_array_size(vj);
	if ((rc = rd_store_write(s, push_write, p)) < 0) {
		fprintf(stderr, "renewctl: the version could not be stored: %s\n", rd_strerror(rc));
		goto out;
	}
	printf("%s policy version %u stored (%u test vectors passed)%s\n", kind, p->rec.version, p->rec.vectors_passed,
	       p->activate ? " and active" : "; activate it with: renewctl policy activate");
	code = 0;
out:
	json_decref(vj);
	free(src);
	free(vtext);
	free(p);
	return code;
}

struct act {
	struct rd_domain *d;
	uint64_t vendor;
	const char *kind;
	uint32_t version;
};

static int act_write(struct rd_txn *t, void *arg)
{
	struct act *a = arg;
	return rd_policy_activate(t, a->d, a->vendor, a->kind, a->version, 0);
}

int rd_cli_policy(struct rd_store *s, struct rd_domain *d, int argc, char **argv)
{
	if (argc < 1) {
		fprintf(stderr, "renewctl: policy list|push|show|dry-run|activate (see renewctl --help)\n");
		return 2;
	}
	const char *sub = argv[0];
	struct rd_vendor v;
	if (vendor_by_slug(s, d, opt(argc, argv, "--vendor"), &v) < 0)
		return 1;
	if (!strcmp(sub, "list"))
		return cmd_list(s, d, &v);
	const char *kind = rd_policy_kind(opt(argc, argv, "--kind"));
	if (!kind) {
		fprintf(stderr, "renewctl: --kind must be margin or routing\n");
		return 2;
	}
	if (!strcmp(sub, "push"))
		return cmd_push(s, d, &v, kind, argc - 1, argv + 1);
	const char *vs = opt(argc, argv, "--version");
	uint64_t v64 = 0;
	if (!vs) {
		fprintf(stderr, "renewctl: --version N is needed\n");
		return 2;
	}
	if (!rd_cli_whole(vs, 1, UINT32_MAX, &v64)) {
		fprintf(stderr, "renewctl: --version must be a version number (a whole number from 1), not \"%s\"\n", vs);
		return 2;
	}
	uint32_t version = (uint32_t)v64;
	struct rd_policy_rec *rec = rd_malloc(sizeof *rec);
	struct rd_txn *t;
	int rc = rd_store_read(s, &t);
	if (rc == 0) {
		rc = rd_policy_find(t, d, v.id, kind, version, rec);
		rd_txn_end(t);
	}
	if (rc < 0) {
		fprintf(stderr, "renewctl: no %s policy version %u\n", kind, version);
		free(rec);
		return 1;
	}
	int code = 0;
	if (!strcmp(sub, "show")) {
		printf("-- %s policy version %u (%s)\n%s", kind, version, rec->note, rec->source);
	} else if (!strcmp(sub, "dry-run")) {
		json_t *report;
		char err[512];
		if (strcmp(kind, "margin") != 0) {
			fprintf(stderr, "renewctl: dry runs compare margin policies\n");
			code = 2;
		} else if ((rc = rd_policy_dry_run(s, d, &v, rec, &report, err, sizeof err)) < 0) {
			fprintf(stderr, "renewctl: dry run failed: %s\n", err);
			code = 1;
		} else {
			char *text = json_dumps(report, JSON_INDENT(2));
			printf("%s\n", text);
			free(text);
			json_decref(report);
		}
	} else if (!strcmp(sub, "activate")) {
		struct act a = { d, v.id, kind, version };
		if ((rc = rd_store_write(s, act_write, &a)) < 0) {
			fprintf(stderr, "renewctl: activation failed: %s\n", rd_strerror(rc));
			code = 1;
		} else {
			printf("%s policy version %u is active\n", kind, version);
		}
	} else {
		fprintf(stderr, "renewctl: unknown policy command %s\n", sub);
		code = 2;
	}
	free(rec);
	return code;
}
