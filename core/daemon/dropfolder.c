/*
 * dropfolder.c: connector-csv (dropfolder.h).  Loop thread only.
 */
#include <dirent.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "daemon/dropfolder.h"
#include "util/err.h"
#include "util/file.h"
#include "services/imports.h"
#include "store/store.h"
#include "util/err.h"
#include "util/log.h"

#define MAX_PATH 1024

/* ---- rd_dirwatch: folders watched by inotify, a scan as the fallback --------------------- */

struct watch {
	uv_fs_event_t ev;
	char path[MAX_PATH];
	struct rd_dirwatch *w;
	struct watch *next;
};

struct rd_dirwatch {
	uv_loop_t *loop;
	char name[32];
	rd_dirwatch_fn fn;
	void *arg;
	uv_timer_t poll, kick;
	uint64_t kick_at; /* uv_now of the kick armed; 0: none */
	struct watch *watches;
	unsigned open_handles;
	bool stopping;
};

static void dirwatch_run(struct rd_dirwatch *w)
{
	if (!w->stopping)
		w->fn(w, w->arg);
}

static void on_event(uv_fs_event_t *h, const char *filename, int events, int status)
{
	(void)filename;
	(void)events;
	struct watch *x = h->data;
	if (status == 0)
		dirwatch_run(x->w);
}

static void on_poll(uv_timer_t *t)
{
	dirwatch_run(t->data);
}

static void on_kick(uv_timer_t *t)
{
	struct rd_dirwatch *w = t->data;
	w->kick_at = 0;
	dirwatch_run(w);
}

struct rd_dirwatch *rd_dirwatch_start(uv_loop_t *loop, const char *name, uint64_t poll_ms, rd_dirwatch_fn fn,
				      void *arg)
{
	struct rd_dirwatch *w = rd_calloc(1, sizeof *w);
	w->loop = loop;
	snprintf(w->name, sizeof w->name, "%s", name);
	w->fn = fn;
	w->arg = arg;
	uv_timer_init(loop, &w->poll);
	uv_timer_init(loop, &w->kick);
	w->poll.data = w->kick.data = w;
	w->open_handles = 2;
	uv_timer_start(&w->poll, on_poll, 0, poll_ms);
	return w;
}

void rd_dirwatch_add(struct rd_dirwatch *w, const char *dir)
{
	if (w->stopping)
		return;
	for (struct watch *x = w->watches; x; x = x->next)
		if (!strcmp(x->path, dir))
			return;
	struct watch *x = rd_calloc(1, sizeof *x);
	snprintf(x->path, sizeof x->path, "%s", dir);
	x->w = w;
	uv_fs_event_init(w->loop, &x->ev);
	x->ev.data = x;
	w->open_handles++;
	if (uv_fs_event_start(&x->ev, on_event, dir, 0) != 0)
		rd_log(RD_LOG_INFO, w->name, "no inotify on %s: found by polling only", dir);
	x->next = w->watches;
	w->watches = x;
}

void rd_dirwatch_kick(struct rd_dirwatch *w, uint64_t delay_ms)
{
	if (!w || w->stopping)
		return;
	uint64_t at = uv_now(w->loop) + delay_ms;
	if (w->kick_at && w->kick_at <= at)
		return; /* an earlier kick is armed */
	w->kick_at = at;
	uv_timer_start(&w->kick, on_kick, delay_ms, 0);
}

static void on_closed(uv_handle_t *h)
{
	struct rd_dirwatch *w;
	if (h->type == UV_TIMER) {
		w = h->data;
	} else {
		struct watch *x = h->data;
		w = x->w;
		free(x);
	}
	if (--w->open_handles == 0)
		free(w);
}

void rd_dirwatch_stop(struct rd_dirwatch *w)
{
	if (!w || w->stopping)
		return;
	w->stopping = true;
	uv_timer_stop(&w->poll);
	uv_timer_stop(&w->kick);
	uv_close((uv_handle_t *)&w->poll, on_closed);
	uv_close((uv_handle_t *)&w->kick, on_closed);
	struct watch *x = w->watches;
	w->watches = NULL;
	while (x) {
		struct watch *next = x->next;
		uv_fs_event_stop(&x->ev);
		uv_close((uv_handle_t *)&x->ev, on_closed);
		x = next;
	}
}

/* ---- connector-csv ------------------------------------------------------------------------- */

struct rd_dropfolder {
	struct rd_app *app;
	char root[512];
	uint64_t max_bytes;
	struct rd_dirwatch *w;
};

/* Files being imported now (their full paths): not picked up twice, and
 * at most one per folder (the next waits for it). */
struct inflight {
	char dir[MAX_PATH];
	char name[256];
	struct rd_dirwatch *w; /* kicked when the import ends: the folder's next file */
	struct inflight *next;
};
static struct inflight *inflight;

static bool safe_name(const char *s)
{
	if (!*s || *s == '.')
		return false;
	for (; *s; s++)
		if (!((*s >= 'a' && *s <= 'z') || (*s >= 'A' && *s <= 'Z') || (*s >= '0' && *s <= '9') || *s == '-' ||
		      *s == '_' || *s == '.'))
			return false;
	return true;
}

static void make_dir(const char *path)
{
	if (mkdir(path, 0750) < 0 && errno != EEXIST)
		rd_log(RD_LOG_WARN, "connector-csv", "%s could not be made: %s", path, strerror(errno));
}

/* Moves dir/name to dir/sub/ID-name and writes dir/sub/ID-name.report.json. */
static void file_away(const char *dir, const char *name, const char *sub, uint64_t id, json_t *report)
{
	char from[MAX_PATH], to[MAX_PATH + 300], rep[MAX_PATH + 320];
	snprintf(from, sizeof from, "%s/%s", dir, name);
	snprintf(to, sizeof to, "%s/%s/%llu-%s", dir, sub, (unsigned long long)id, name);
	snprintf(rep, sizeof rep, "%s.report.json", to);
	/* whole or not at all: the partner's tooling may read it the moment it appears */
	char *text = json_dumps(report, JSON_INDENT(2) | JSON_SORT_KEYS);
	size_t n = text ? strlen(text) : 0;
	int rc = text ? 0 : -ENOMEM;
	if (text) {
		text = rd_realloc(text, n + 2);
		text[n++] = '\n';
		text[n] = 0;
		rc = rd_file_write_atomic(rep, text, n, 0640);
	}
	if (rc)
		rd_log(RD_LOG_WARN, "connector-csv", "the report %s could not be written: %s", rep, strerror(-rc));
	free(text);
	if (rename(from, to) < 0)
		rd_log(RD_LOG_WARN, "connector-csv", "%s could not be moved to %s/: %s", from, sub, strerror(errno));
	else
		rd_log(RD_LOG_INFO, "connector-csv", "%s -> %s/ (import %llu)", from, sub, (unsigned long long)id);
}

static void forget(struct inflight *p)
{
	for (struct inflight **q = &inflight; *q; q = &(*q)->next)
		if (*q == p) {
			*q = p->next;
			break;
		}
	free(p);
}

static void feed_done(void *arg, const struct rd_import_rec *r, bool stopped)
{
	struct inflight *p = arg;
	if (!stopped) {
		json_t *rep = json_pack("{s:s, s:I, s:s, s:s, s:I, s:I, s:I, s:I, s:I}", "file", p->name, "import_id",
					(json_int_t)r->id, "status", r->status == RD_IMPORT_SUCCEEDED ? "succeeded" : "failed",
					"message", r->message, "accepted", (json_int_t)r->created, "merged",
					(json_int_t)r->updated, "unchanged", (json_int_t)r->unchanged, "queued",
					(json_int_t)r->queued, "rows_failed", (json_int_t)r->rows_failed);
		json_t *errs = json_loads(r->errors[0] ? r->errors : "[]", 0, NULL);
		json_object_set_new(rep, "rejected", errs ? errs : json_array());
		file_away(p->dir, p->name, r->status == RD_IMPORT_SUCCEEDED ? "processed" : "failed", r->id, rep);
		json_decref(rep);
		rd_dirwatch_kick(p->w, 0);
	}
	forget(p);
}

/* Is a file of dir being imported? */
static bool busy(const char *dir)
{
	for (struct inflight *p = inflight; p; p = p->next)
		if (!strcmp(p->dir, dir))
			return true;
	return false;
}

/* Reads a whole file up to max bytes; NULL (with *too_big) when larger. */
static char *read_file(const char *path, uint64_t max, size_t *len, bool *too_big)
{
	*too_big = false;
	FILE *fp = fopen(path, "rb");
	if (!fp)
		return NULL;
	size_t cap = 65536, n = 0;
	char *buf = rd_malloc(cap);
	size_t got;
	while ((got = fread(buf + n, 1, cap - n, fp)) > 0) {
		n += got;
		if (n > max) {
			*too_big = true;
			break;
		}
		if (n == cap)
			buf = rd_realloc(buf, cap *= 2);
	}
	fclose(fp);
	if (*too_big) {
		free(buf);
		return NULL;
	}
	*len = n;
	return buf;
}

struct target {
	struct rd_vendor v;
	uint64_t partner;
	char dir[MAX_PATH];
};

/* One file of the folder at a time, the first by name: a partner's files
 * apply in the order of their names, also when several wait (renewd was
 * down, or a file came while another was being imported); two at once
 * would both be checked against the store before either applied, so a
 * file naming contracts an earlier one makes would fail. */
static void scan_dir(struct rd_dropfolder *f, const struct target *tg)
{
	if (busy(tg->dir))
		return;
	DIR *d = opendir(tg->dir);
	if (!d)
		return;
	struct dirent *de;
	char first[256] = "";
	while ((de = readdir(d)) != NULL) {
		const char *name = de->d_name;
		size_t nl = strlen(name);
		if (name[0] == '.' || nl >= 200 || (nl > 5 && !strcmp(name + nl - 5, ".part")) ||
		    (nl > 4 && !strcmp(name + nl - 4, ".tmp")) || (first[0] && strcmp(name, first) >= 0))
			continue;
		char path[MAX_PATH + 256];
		struct stat st;
		snprintf(path, sizeof path, "%s/%s", tg->dir, name);
		if (lstat(path, &st) < 0 || !S_ISREG(st.st_mode))
			continue;
		snprintf(first, sizeof first, "%s", name);
	}
	closedir(d);
	if (first[0]) {
		const char *name = first;
		char path[MAX_PATH + 256];
		snprintf(path, sizeof path, "%s/%s", tg->dir, name);
		struct inflight *p = rd_calloc(1, sizeof *p);
		snprintf(p->dir, sizeof p->dir, "%s", tg->dir);
		snprintf(p->name, sizeof p->name, "%s", name);
		p->w = f->w;
		size_t len = 0;
		bool too_big;
		char *data = read_file(path, f->max_bytes, &len, &too_big);
		struct rd_serr e = { 0 };
		struct rd_import_rec *r = rd_malloc(sizeof *r);
		struct rd_actor who = { .vendor = tg->v.id, .partner = tg->partner };
		int rc;
		if (!data)
			rc = rd_serr_set(&e, RD_EINVAL, "invalid", NULL, too_big ? "the file is larger than max_import_bytes"
									   : "the file could not be read");
		else
			rc = rd_feed_start_file(f->app, &who, &tg->v, data, len, feed_done, p, r, &e);
		free(data);
		if (rc == 0) {
			p->next = inflight;
			inflight = p;
		} else if (rc == RD_EBUSY) {
			/* Another import's rows are being written (the store's one
			 * writer): the file stays where it is, tried again shortly. */
			free(p);
			rd_dirwatch_kick(f->w, 500);
		} else {
			json_t *rep = json_pack("{s:s, s:s, s:s, s:[]}", "file", name, "status", "failed", "message",
						e.message, "rejected");
			file_away(tg->dir, name, "failed", 0, rep);
			json_decref(rep);
			free(p);
			rd_dirwatch_kick(f->w, 0); /* the folder's next file */
		}
		free(r);
	}
}

static void scan(struct rd_dirwatch *w, void *arg)
{
	struct rd_dropfolder *f = arg;
	struct rd_txn *t;
	if (rd_store_read(f->app->store, &t) < 0)
		return;
	struct target *tgs = NULL;
	size_t n = 0, cap = 0;
	struct rd_vendor *v = rd_malloc(sizeof *v);
	struct rd_partner *p = rd_malloc(sizeof *p);
	struct rd_iter vit, pit;
	struct rd_item vi, pi;
	int rc = rd_iter_records(&vit, t, f->app->domain->vendors, 0, 0);
	while (rc >= 0 && (rc = rd_iter_next(&vit, &vi)) > 0) {
		/* A vendor the platform operator suspended takes no feed: its
		 * partners' files wait in their folders until it is resumed. */
		if (rd_entity_decode(&rd_entity_vendor, vi.val, vi.len, v) < 0 || !safe_name(v->slug) || v->suspended)
			continue;
		int prc = rd_iter_records(&pit, t, f->app->domain->partners, vi.id, 0);
		while (prc >= 0 && (prc = rd_iter_next(&pit, &pi)) > 0) {
			if (rd_entity_decode(&rd_entity_partner, pi.val, pi.len, p) < 0 || p->feed_drop != 1)
				continue;
			if (!safe_name(p->external_id)) {
				rd_log(RD_LOG_WARN, "connector-csv", "partner %llu: its external id cannot name a folder",
				       (unsigned long long)p->id);
				continue;
			}
			if (n == cap)
				tgs = rd_realloc(tgs, (cap = cap ? 2 * cap : 8) * sizeof *tgs);
			tgs[n].v = *v;
			tgs[n].partner = p->id;
			snprintf(tgs[n].dir, sizeof tgs[n].dir, "%s/%s/%s", f->root, v->slug, p->external_id);
			n++;
		}
		rd_iter_close(&pit);
	}
	rd_iter_close(&vit);
	rd_txn_end(t);
	free(v);
	free(p);
	for (size_t i = 0; i < n; i++) {
		char sub[MAX_PATH + 16];
		snprintf(sub, sizeof sub, "%.*s", (int)(strrchr(tgs[i].dir, '/') - tgs[i].dir), tgs[i].dir);
		make_dir(sub);
		make_dir(tgs[i].dir);
		snprintf(sub, sizeof sub, "%s/processed", tgs[i].dir);
		make_dir(sub);
		snprintf(sub, sizeof sub, "%s/failed", tgs[i].dir);
		make_dir(sub);
		rd_dirwatch_add(w, tgs[i].dir);
		scan_dir(f, &tgs[i]);
	}
	free(tgs);
}

struct rd_dropfolder *rd_dropfolder_start(struct rd_app *app, uv_loop_t *loop, const char *root, uint64_t poll_ms,
					  uint64_t max_bytes)
{
	struct rd_dropfolder *f = rd_calloc(1, sizeof *f);
	f->app = app;
	f->max_bytes = max_bytes;
	snprintf(f->root, sizeof f->root, "%s", root);
	make_dir(f->root);
	f->w = rd_dirwatch_start(loop, "connector-csv", poll_ms, scan, f);
	rd_log(RD_LOG_INFO, "connector-csv", "watching drop folders under %s (inotify, and a scan every %llu ms)", root,
	       (unsigned long long)poll_ms);
	return f;
}

void rd_dropfolder_stop(struct rd_dropfolder *f)
{
	if (!f)
		return;
	rd_dirwatch_stop(f->w); /* scan is not called again: f can go */
	free(f);
}
