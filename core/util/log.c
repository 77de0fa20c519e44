#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <stdbool.h>

#include "util/log.h"

static enum rd_log_level threshold = RD_LOG_INFO;
static const char *const names[] = { "debug", "info", "warn", "error" };
static FILE *out_file; /* NULL: stderr */
static char *out_path;

int rd_log_open(const char *path)
{
	int fd = open(path, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0600);
	FILE *f = fd < 0 ? NULL : fdopen(fd, "a");
	if (!f) {
		int e = errno;
		if (fd >= 0)
			close(fd);
		return -e;
	}
	setvbuf(f, NULL, _IOLBF, 0);
	flockfile(stderr); /* writers take stderr's lock: swap under it */
	FILE *old = out_file;
	out_file = f;
	funlockfile(stderr);
	if (old)
		fclose(old);
	if (path != out_path) {
		char *copy = strdup(path);
		free(out_path);
		out_path = copy;
	}
	return 0;
}

int rd_log_reopen(void)
{
	return out_path ? rd_log_open(out_path) : 0;
}

static bool token_char(char c)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '_' || c == '-';
}

unsigned rd_redact_links(char *s)
{
	static const char mark[] = "\xe2\x80\xa6"; /* … */
	unsigned n = 0;
	for (char *p = strstr(s, "/c/"); p; p = strstr(p, "/c/")) {
		char *t = p + 3, *e = t;
		while (token_char(*e))
			e++;
		if (e - t > (long)strlen(mark)) { /* a token is far longer than the mark */
			memcpy(t, mark, strlen(mark));
			memmove(t + strlen(mark), e, strlen(e) + 1);
			n++;
		}
		p = t;
	}
	return n;
}

void rd_log_set_level(enum rd_log_level level)
{
	threshold = level;
}

int rd_log_parse_level(const char *name, enum rd_log_level *out)
{
	for (int i = 0; i < 4; i++) {
		if (strcmp(name, names[i]) == 0) {
			*out = (enum rd_log_level)i;
			return 0;
		}
	}
	return -1;
}

/* Message text is quoted; quotes, backslashes and control characters are
 * escaped so one event is always one line. */
static void put_quoted(FILE *f, const char *s)
{
	fputc('"', f);
	for (; *s; s++) {
		unsigned char c = (unsigned char)*s;
		if (c == '"' || c == '\\')
			fprintf(f, "\\%c", c);
		else if (c == '\n')
			fputs("\\n", f);
		else if (c < 0x20 || c == 0x7f)
			fprintf(f, "\\x%02x", c);
		else
			fputc(c, f);
	}
	fputc('"', f);
}

static void vlog(enum rd_log_level level, const char *comp, const char *req_id, const char *fields, const char *fmt,
		 va_list ap)
{
	if (level < threshold)
		return;
	char msg[2048];
	vsnprintf(msg, sizeof msg, fmt, ap);
	rd_redact_links(msg);

	struct timespec ts;
	clock_gettime(CLOCK_REALTIME, &ts);
	struct tm tm;
	gmtime_r(&ts.tv_sec, &tm);
	char when[32];
	strftime(when, sizeof when, "%Y-%m-%dT%H:%M:%S", &tm);

	flockfile(stderr);
	FILE *f = out_file ? out_file : stderr;
	fprintf(f, "ts=%s.%03ldZ level=%s comp=%s", when, ts.tv_nsec / 1000000, names[level], comp);
	if (req_id)
		fprintf(f, " req=%s", req_id);
	if (fields && *fields)
		fprintf(f, " %s", fields);
	fputs(" msg=", f);
	put_quoted(f, msg);
	fputc('\n', f);
	funlockfile(stderr);
}

void rd_log(enum rd_log_level level, const char *comp, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	vlog(level, comp, NULL, NULL, fmt, ap);
	va_end(ap);
}

void rd_log_req(enum rd_log_level level, const char *comp, const char *req_id, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	vlog(level, comp, req_id, NULL, fmt, ap);
	va_end(ap);
}

void rd_log_req_fields(enum rd_log_level level, const char *comp, const char *req_id, const char *fields,
		       const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	vlog(level, comp, req_id, fields, fmt, ap);
	va_end(ap);
}

static _Thread_local char current_req[48];

void rd_log_set_current_req(const char *id)
{
	snprintf(current_req, sizeof current_req, "%s", id ? id : "");
}

const char *rd_log_current_req(void)
{
	return current_req[0] ? current_req : NULL;
}
