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

/* The buffered thread's lines (the server's loop: rd_log_buffer_here),
 * written by rd_log_flush.  Guarded, as every write, by stderr's lock. */
#define BUF_CAP (64 * 1024)
static char buf[BUF_CAP];
static size_t buf_len;
static _Thread_local bool buffered_here;

static int out_fd(void)
{
	return out_file ? fileno(out_file) : STDERR_FILENO;
}

/* Writes all of p (a partial write goes on; an error drops the rest, as
 * a failed fprintf did). */
static void write_all(const char *p, size_t n)
{
	int fd = out_fd();
	while (n) {
		ssize_t w = write(fd, p, n);
		if (w < 0 && errno == EINTR)
			continue;
		if (w <= 0)
			return;
		p += w;
		n -= (size_t)w;
	}
}

static void flush_locked(void)
{
	if (buf_len)
		write_all(buf, buf_len);
	buf_len = 0;
}

void rd_log_flush(void)
{
	flockfile(stderr);
	flush_locked();
	funlockfile(stderr);
}

static void flush_at_exit(void)
{
	rd_log_flush();
}

void rd_log_buffer_here(void)
{
	static bool registered;
	flockfile(stderr);
	if (!registered) {
		atexit(flush_at_exit);
		registered = true;
	}
	buffered_here = true;
	funlockfile(stderr);
}

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
	flush_locked(); /* lines kept so far belong to the old file */
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

/* A line being built; what does not fit is cut (the newline stays). */
struct line {
	char b[12288];
	size_t n;
};

static void put(struct line *l, const char *s, size_t n)
{
	if (n > sizeof l->b - 1 - l->n)
		n = sizeof l->b - 1 - l->n;
	memcpy(l->b + l->n, s, n);
	l->n += n;
}

static void puts_(struct line *l, const char *s)
{
	put(l, s, strlen(s));
}

/* Message text is quoted; quotes, backslashes and control characters are
 * escaped so one event is always one line. */
static void put_quoted(struct line *l, const char *s)
{
	put(l, "\"", 1);
	while (*s) {
		const char *run = s; /* characters that need no escape, put at once */
		while (*s && *s != '"' && *s != '\\' && (unsigned char)*s >= 0x20 && *s != 0x7f)
			s++;
		put(l, run, (size_t)(s - run));
		if (!*s)
			break;
		unsigned char c = (unsigned char)*s++;
		char esc[8];
		if (c == '"' || c == '\\') {
			esc[0] = '\\';
			esc[1] = (char)c;
			put(l, esc, 2);
		} else if (c == '\n') {
			put(l, "\\n", 2);
		} else {
			snprintf(esc, sizeof esc, "\\x%02x", c);
			put(l, esc, 4);
		}
	}
	put(l, "\"", 1);
}

/* One line: the message text msg (redacted here, so it is changed). */
static void emit(enum rd_log_level level, const char *comp, const char *req_id, const char *fields, char *msg)
{
	rd_redact_links(msg);

	struct timespec ts;
	clock_gettime(CLOCK_REALTIME, &ts);
	/* The date and time to the second, formatted once per second and thread. */
	static _Thread_local time_t when_sec = -1;
	static _Thread_local char when[32];
	if (ts.tv_sec != when_sec) {
		struct tm tm;
		gmtime_r(&ts.tv_sec, &tm);
		strftime(when, sizeof when, "%Y-%m-%dT%H:%M:%S", &tm);
		when_sec = ts.tv_sec;
	}

	struct line l;
	l.n = 0;
	/* "ts=WHEN.mmmZ level=NAME comp=" */
	char ms[5];
	long m = ts.tv_nsec / 1000000;
	ms[0] = '.';
	ms[1] = (char)('0' + m / 100);
	ms[2] = (char)('0' + m / 10 % 10);
	ms[3] = (char)('0' + m % 10);
	ms[4] = 'Z';
	puts_(&l, "ts=");
	puts_(&l, when);
	put(&l, ms, sizeof ms);
	puts_(&l, " level=");
	puts_(&l, names[level]);
	puts_(&l, " comp=");
	puts_(&l, comp);
	if (req_id) {
		puts_(&l, " req=");
		puts_(&l, req_id);
	}
	if (fields && *fields) {
		put(&l, " ", 1);
		puts_(&l, fields);
	}
	puts_(&l, " msg=");
	put_quoted(&l, msg);
	l.b[l.n++] = '\n';

	flockfile(stderr);
	if (buffered_here && level <= RD_LOG_INFO && l.n <= BUF_CAP) {
		if (buf_len + l.n > BUF_CAP)
			flush_locked();
		memcpy(buf + buf_len, l.b, l.n);
		buf_len += l.n;
	} else {
		flush_locked(); /* a warning or an error goes out now, after the lines before it */
		write_all(l.b, l.n);
	}
	funlockfile(stderr);
}

static void vlog(enum rd_log_level level, const char *comp, const char *req_id, const char *fields, const char *fmt,
		 va_list ap)
{
	if (level < threshold)
		return;
	char msg[2048];
	vsnprintf(msg, sizeof msg, fmt, ap);
	emit(level, comp, req_id, fields, msg);
}

void rd_log_req_text(enum rd_log_level level, const char *comp, const char *req_id, const char *fields,
		     const char *text, size_t len)
{
	if (level < threshold)
		return;
	char msg[2048];
	if (len > sizeof msg - 1)
		len = sizeof msg - 1;
	memcpy(msg, text, len);
	msg[len] = 0;
	emit(level, comp, req_id, fields, msg);
}

bool rd_log_enabled(enum rd_log_level level)
{
	return level >= threshold;
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
	size_t n = id ? strnlen(id, sizeof current_req - 1) : 0;
	if (n)
		memcpy(current_req, id, n);
	current_req[n] = 0;
}

const char *rd_log_current_req(void)
{
	return current_req[0] ? current_req : NULL;
}
