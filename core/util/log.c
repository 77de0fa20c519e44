#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "util/log.h"

static enum rd_log_level threshold = RD_LOG_INFO;
static const char *const names[] = { "debug", "info", "warn", "error" };

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

static void vlog(enum rd_log_level level, const char *comp, const char *req_id, const char *fmt, va_list ap)
{
	if (level < threshold)
		return;
	char msg[2048];
	vsnprintf(msg, sizeof msg, fmt, ap);

	struct timespec ts;
	clock_gettime(CLOCK_REALTIME, &ts);
	struct tm tm;
	gmtime_r(&ts.tv_sec, &tm);
	char when[32];
	strftime(when, sizeof when, "%Y-%m-%dT%H:%M:%S", &tm);

	flockfile(stderr);
	fprintf(stderr, "ts=%s.%03ldZ level=%s comp=%s", when, ts.tv_nsec / 1000000, names[level], comp);
	if (req_id)
		fprintf(stderr, " req=%s", req_id);
	fputs(" msg=", stderr);
	put_quoted(stderr, msg);
	fputc('\n', stderr);
	funlockfile(stderr);
}

void rd_log(enum rd_log_level level, const char *comp, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	vlog(level, comp, NULL, fmt, ap);
	va_end(ap);
}

void rd_log_req(enum rd_log_level level, const char *comp, const char *req_id, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	vlog(level, comp, req_id, fmt, ap);
	va_end(ap);
}
