/*
 * clock.c: renewctl clock show|set DATE, and renewctl schedule preview.
 * The test clock is honoured only by a renewd started with --test-clock;
 * renewctl stores the instant it resumes from.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli/cli.h"
#include "config/config.h"
#include "domain/app.h"
#include "domain/model.h"
#include "plugin/host.h"
#include "policy/runtime.h"
#include "renew/renew.h"
#include "store/store.h"
#include "util/clock.h"
#include "util/err.h"

static int clock_write(struct rd_txn *t, void *arg)
{
	return rd_txn_meta_put(t, "clock", arg, sizeof(uint64_t));
}

static uint64_t stored_clock(struct rd_store *s)
{
	struct rd_txn *t;
	const void *v;
	size_t len;
	uint64_t at = 0;
	if (rd_store_read(s, &t) == 0) {
		if (rd_txn_meta_get(t, "clock", &v, &len) == 0 && len == sizeof at)
			memcpy(&at, v, sizeof at);
		rd_txn_end(t);
	}
	return at;
}

int rd_cli_clock(struct rd_store *s, struct rd_domain *d, int argc, char **argv)
{
	uint64_t at = stored_clock(s);
	if (argc == 1 && !strcmp(argv[0], "show")) {
		char when[21];
		rd_time_format(at, when);
		printf("test clock: %s\n", at ? when : "never set (a --test-clock renewd starts from the real time)");
		return 0;
	}
	rd_date day;
	if (argc != 2 || strcmp(argv[0], "set") || rd_date_parse(argv[1], &day) < 0) {
		fprintf(stderr, "renewctl: clock show | clock set YYYY-MM-DD\n");
		return 2;
	}
	uint64_t next = (uint64_t)day * 86400 + 12 * 3600;
	if (next < at) {
		fprintf(stderr, "renewctl: the clock only moves forward (it is at %s)\n", argv[1]);
		return 1;
	}
	int rc = rd_store_write(s, clock_write, &next);
	if (rc < 0) {
		fprintf(stderr, "renewctl: %s\n", rd_strerror(rc));
		return 1;
	}
	printf("test clock set to %s (a renewd started with --test-clock resumes there)\n", argv[1]);
	return 0;
}

int rd_cli_schedule(struct rd_store *s, struct rd_domain *d, int argc, char **argv)
{
	const char *slug = NULL, *days = "30";
	for (int i = 1; i + 1 < argc; i++) {
		if (!strcmp(argv[i], "--vendor"))
			slug = argv[i + 1];
		else if (!strcmp(argv[i], "--days"))
			days = argv[i + 1];
	}
	uint64_t nd = 0;
	if (argc < 1 || strcmp(argv[0], "preview") || !slug) {
		fprintf(stderr, "renewctl: schedule preview --vendor SLUG [--days 1..400]\n");
		return 2;
	}
	if (!rd_cli_whole(days, 1, 400, &nd)) {
		fprintf(stderr, "renewctl: --days must be a whole number from 1 to 400, not \"%s\"\n", days);
		return 2;
	}
	int n = (int)nd;
	struct rd_txn *t;
	uint64_t vendor = 0;
	if (rd_store_read(s, &t) == 0) {
		struct rd_iter it;
		struct rd_item item;
		struct rd_vendor v;
		int rc = rd_iter_records(&it, t, d->vendors, 0, 0);
		while (rc >= 0 && (rc = rd_iter_next(&it, &item)) > 0)
			if (rd_entity_decode(&rd_entity_vendor, item.val, item.len, &v) == 0 && !strcmp(v.slug, slug))
				vendor = v.id;
		rd_iter_close(&it);
		rd_txn_end(t);
	}
	if (!vendor) {
		fprintf(stderr, "renewctl: no vendor with slug \"%s\"\n", slug);
		return 1;
	}
	uint64_t at = stored_clock(s);
	if (at)
		rd_clock_make_settable(at); /* preview from where the test clock stands */
	struct rd_config cfg = { .data = (char *)rd_store_dir(s), .listen = (char *)"127.0.0.1:8080" };
	struct rd_app app = { .store = s, .domain = d, .config = &cfg };
	app.policies = rd_policy_runtime_new();
	app.plugins = rd_plugins_new(s, d, NULL);
	rd_plugins_add_builtins(app.plugins);
	struct rd_renew *r = rd_renew_new(&app);
	json_t *actions = NULL;
	int rc = rd_renew_preview(r, vendor, n, &actions);
	if (rc < 0) {
		fprintf(stderr, "renewctl: the preview failed: %s\n", rd_strerror(rc));
	} else {
		size_t i;
		json_t *a;
		json_array_foreach(actions, i, a) {
			printf("%s  %s\n", json_string_value(json_object_get(a, "day")), json_string_value(json_object_get(a, "key")));
			size_t k;
			json_t *m;
			json_array_foreach(json_object_get(a, "messages"), k, m)
				printf("            -> %s to %s: %s\n", json_string_value(json_object_get(m, "kind")),
				       json_string_value(json_object_get(m, "to")), json_string_value(json_object_get(m, "subject")));
		}
		printf("%zu action(s) in the next %d day(s); nothing was taken\n", json_array_size(actions), n);
	}
	json_decref(actions);
	rd_renew_free(&r);
	rd_plugins_free(&app.plugins);
	rd_policy_runtime_free(&app.policies);
	return rc < 0;
}
