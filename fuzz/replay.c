/*
 * replay.c: a harness without libFuzzer (the normal and ASan builds): feeds
 * each file named on the command line, or each file of each directory
 * named, to LLVMFuzzerTestOneInput once.  Prints what it ran; a crash is
 * the test's failure (meson's unit suite runs it over fuzz/regress/<name>
 * and the harness's seed corpus).
 */
#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "fuzz.h"

static int one(const char *path)
{
	FILE *f = fopen(path, "rb");
	if (!f) {
		perror(path);
		return -1;
	}
	size_t cap = 4096, n = 0, r;
	uint8_t *buf = malloc(cap);
	while ((r = fread(buf + n, 1, cap - n, f)) > 0)
		if ((n += r) == cap)
			buf = realloc(buf, cap *= 2);
	fclose(f);
	/* an exact-size copy, so reading past the input is caught under ASan */
	uint8_t *in = malloc(n ? n : 1);
	memcpy(in, buf, n);
	free(buf);
	LLVMFuzzerTestOneInput(in, n);
	free(in);
	return 0;
}

static int by_name(const struct dirent **a, const struct dirent **b)
{
	return strcmp((*a)->d_name, (*b)->d_name);
}

int main(int argc, char **argv)
{
	int ran = 0, bad = 0;
	for (int i = 1; i < argc; i++) {
		struct stat st;
		if (stat(argv[i], &st) < 0) {
			perror(argv[i]);
			bad++;
			continue;
		}
		if (!S_ISDIR(st.st_mode)) {
			bad += one(argv[i]) < 0;
			ran++;
			continue;
		}
		struct dirent **list;
		int n = scandir(argv[i], &list, NULL, by_name);
		for (int k = 0; k < n; k++) {
			char path[4096];
			snprintf(path, sizeof path, "%s/%s", argv[i], list[k]->d_name);
			if (list[k]->d_name[0] != '.' && stat(path, &st) == 0 && S_ISREG(st.st_mode)) {
				bad += one(path) < 0;
				ran++;
			}
			free(list[k]);
		}
		free(n > 0 ? list : NULL);
	}
	printf("replayed %d inputs, %d unreadable\n", ran, bad);
	return bad ? 1 : 0;
}
