/*
 * test_file.c: rd_file_write_atomic (core/util/file.c), how renewd writes
 * the drop folders' and the EDI folders' reports: a reader sees the old
 * file or the whole new one, never a part, and nothing is left behind.
 *
 * Covers: a new file with its mode, a file replaced whole, no temporary
 * name left, a missing folder refused with its errno and nothing made.
 */
#include <dirent.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <unistd.h>

#include "util/file.h"
#include "unit.h"

static char dir[] = "/tmp/rd-test-file-XXXXXX";

static int entries(void)
{
	DIR *d = opendir(dir);
	int n = 0;
	for (struct dirent *e; d && (e = readdir(d));)
		n += strcmp(e->d_name, ".") && strcmp(e->d_name, "..");
	if (d)
		closedir(d);
	return n;
}

static void slurp(const char *path, char *buf, size_t cap)
{
	FILE *f = fopen(path, "rb");
	assert_non_null(f);
	size_t n = fread(buf, 1, cap - 1, f);
	buf[n] = 0;
	fclose(f);
}

static void writes_and_replaces_whole(void **state)
{
	(void)state;
	char path[128], buf[64];
	snprintf(path, sizeof path, "%s/r.report.json", dir);
	assert_rc(rd_file_write_atomic(path, "{\"a\":1}\n", 8, 0640), 0);
	slurp(path, buf, sizeof buf);
	assert_string_equal(buf, "{\"a\":1}\n");
	struct stat st;
	assert_int_equal(stat(path, &st), 0);
	assert_int_equal(st.st_mode & 0777, 0640 & ~0022 & 0777);
	assert_rc(rd_file_write_atomic(path, "{}", 2, 0640), 0);
	slurp(path, buf, sizeof buf);
	assert_string_equal(buf, "{}");
	assert_int_equal(entries(), 1); /* no ".r.report.json.tmp" left */
	unlink(path);
}

static void missing_folder_refused(void **state)
{
	(void)state;
	char path[128];
	snprintf(path, sizeof path, "%s/gone/r.json", dir);
	assert_rc(rd_file_write_atomic(path, "x", 1, 0640), -ENOENT);
	assert_int_equal(entries(), 0);
}

int main(void)
{
	umask(0022);
	if (!mkdtemp(dir))
		return 1;
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(writes_and_replaces_whole),
		cmocka_unit_test(missing_folder_refused),
	};
	int rc = cmocka_run_group_tests_name("file", tests, NULL, NULL);
	rmdir(dir);
	return rc;
}
