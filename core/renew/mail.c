/*
 * mail.c: delivering the outbox.  A timer (every second) and a kick after
 * each sweep or action collect due messages, up to BATCH at a time; a kick
 * while a batch is out is kept and collects again as soon as it ends, and
 * so does a full batch.  The batch is sent on the thread pool by the
 * configured transport (.eml files in DATA/mail, or SMTP through libcurl:
 * one session for the batch, each message its own MAIL FROM / RCPT TO /
 * DATA, so one refused recipient fails its message alone) and each
 * outcome is written back on the loop: sent, or retried later with
 * exponential backoff (mail_retry_ms doubled per attempt, up to an hour
 * between attempts, for as long as it takes: nothing is dropped; long
 * failures are logged as errors).  Delivery time is real time, whatever
 * the business clock says.
 * Delivery is at least once, one message at a time: each message's outcome
 * is committed before the next one is handed to the transport, so a crash
 * sends again at most the one message that was in flight.
 *
 * A server that cannot be reached (server_level) is found out by the
 * batch's first message: the others are each recorded as a failed attempt
 * with that error, in one transaction, neither rendered nor sent (a down
 * server used to cost each message its render, connection and commit, one
 * after the other).  When a message goes through again after that, the
 * messages waiting for a retry are brought forward (bring_forward): they
 * go at once instead of at the end of a backoff that grew while the server
 * was away.
 *
 * A customer notice carries its quote as a PDF attachment (core/pdf), drawn
 * at send time: the quote's records are read on the loop while the batch is
 * collected, and the PDF is drawn on the worker, which holds no read
 * transaction (the store grows its map only with none open).  The message
 * then is multipart/mixed: the multipart/alternative text and HTML as
 * before, and the PDF.  A PDF that cannot be drawn is logged and the
 * notice goes without it.
 */
#include <curl/curl.h>
#include <errno.h>
#include <fcntl.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "config/config.h"
#include "pdf/invoice.h"
#include "pdf/quote.h"
#include "pdf/statement.h"
#include "renew/internal.h"
#include "store/store.h"
#include "util/err.h"
#include "util/log.h"
#include "util/mailaddr.h"

#define BATCH 32
#define WARN_ATTEMPTS 30 /* past this, each failure is logged as an error: someone must look */
#define BACKOFF_MAX_MS (3600 * 1000)
/* The mail server answers again after it could not be reached: this many
 * waiting messages (the soonest due first) are brought forward at once. */
#define FORWARD_MAX 1024

struct item {
	uint64_t vendor;
	struct rd_message m;
	int rc;
	char error[256];
	/* A customer notice carries its quote as a PDF: the quote is read on the
	 * loop (deliver) and drawn on the worker (send_batch).  NULL: none. */
	struct rd_quote_doc *quote;
	/* A commission statement carries its PDF the same way. */
	struct rd_statement_doc *statement;
	/* An order's confirmation or receipt carries its invoice the same way. */
	struct rd_invoice_doc *invoice;
	char pdf_error[200];   /* the PDF could not be drawn: sent without it */
	bool elsewhere;        /* several nodes: another node has it (claim_batch) */
	uint64_t claimed_until; /* several nodes: the due time claim_batch gave it */
};

struct batch {
	uv_work_t work;
	struct rd_renew *r;
	struct item *items;
	size_t n;
	size_t next;     /* the item on the worker (or the next one to send) */
	unsigned failed; /* items not delivered so far */
	/* SMTP: one session for the whole batch (libcurl keeps the connection
	 * between transfers on one handle); closed on the worker at the end. */
	CURL *curl;
	/* The server could not be reached (server_level): the items after the
	 * one that found out are not rendered nor sent, each is recorded as a
	 * failed attempt with this error, in one transaction (record_rest). */
	bool down;
	char down_error[256];
	bool recovered; /* a message went through after the server could not be reached */
	/* Several nodes: when the batch's claims were taken or last renewed
	 * (real ms); renew_rest renews them before a message is sent once a
	 * quarter of the lease has gone, so that no claim runs out while its
	 * message waits its turn in the batch (another node would send it). */
	uint64_t claimed_ms;
	bool claims_lost; /* a renewal failed: the rest is left to the lease */
	/* copies of the settings, for the worker thread */
	char transport[512], from[256], user[256];
	char from_name[256], from_addr[256]; /* mail_from split (util/mailaddr.h) */
	bool starttls;
};

static uint64_t real_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_REALTIME, &ts);
	return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}

/* ---- the message as RFC 5322 text -------------------------------------------------- */

struct buf {
	char *p;
	size_t len, cap;
};

static void put(struct buf *b, const char *s, size_t n)
{
	if (b->len + n + 1 > b->cap) {
		b->cap = (b->len + n + 1) * 2;
		b->p = rd_realloc(b->p, b->cap);
	}
	memcpy(b->p + b->len, s, n);
	b->len += n;
	b->p[b->len] = 0;
}

static void puts_(struct buf *b, const char *s)
{
	put(b, s, strlen(s));
}

/* An unstructured header value: as is when plain ASCII, else folded
 * RFC 2047 encoded words (util/mailaddr.h). */
static void header(struct buf *b, const char *name, const char *value)
{
	char *h = rd_mail_text_header(name, value);
	puts_(b, h);
	free(h);
}

/* An address header: the display name (if any) quoted or encoded, the
 * address never; a recipient that is not a plain local@domain goes as
 * encoded text (no line of it can become a header of its own). */
static void address_header(struct buf *b, const char *name, const char *display, const char *addr)
{
	if (!rd_mail_addr_spec_ok(addr)) {
		header(b, name, addr);
		return;
	}
	char *h = rd_mail_address_header(name, display, addr);
	puts_(b, h);
	free(h);
}

/* Normalises line ends to CRLF. */
static void body_crlf(struct buf *b, const char *s)
{
	for (; *s; s++) {
		if (*s == '\n' && (b->len == 0 || b->p[b->len - 1] != '\r'))
			put(b, "\r", 1);
		put(b, s, 1);
	}
	if (b->len < 2 || memcmp(b->p + b->len - 2, "\r\n", 2) != 0)
		puts_(b, "\r\n");
}

static void base64_bin(struct buf *b, const void *s, size_t n)
{
	size_t cap = sodium_base64_ENCODED_LEN(n, sodium_base64_VARIANT_ORIGINAL);
	char *enc = rd_malloc(cap);
	sodium_bin2base64(enc, cap, s, n, sodium_base64_VARIANT_ORIGINAL);
	size_t len = strlen(enc);
	for (size_t i = 0; i < len; i += 76) {
		put(b, enc + i, len - i < 76 ? len - i : 76);
		puts_(b, "\r\n");
	}
	free(enc);
}

static void base64_lines(struct buf *b, const char *s)
{
	base64_bin(b, s, strlen(s));
}

/* The message; with a PDF, a multipart/mixed whose first part is the
 * message's multipart/alternative and whose second is the attachment. */
static char *render_message(const struct batch *bt, const struct item *it, const void *pdf, size_t pdf_len,
			    size_t *len)
{
	const struct rd_message *m = &it->m;
	struct buf b = { 0 };
	char date[64], id[128], boundary[64], mixed[80];
	time_t now = time(NULL);
	struct tm tm;
	gmtime_r(&now, &tm);
	strftime(date, sizeof date, "%a, %d %b %Y %H:%M:%S +0000", &tm);
	snprintf(id, sizeof id, "<renewd-%llu-%llu@renewd>", (unsigned long long)it->vendor, (unsigned long long)m->id);
	/* The boundaries come from a hash of the text part.  It goes as 8bit
	 * lines (the HTML and the PDF go as base64, which has no '-'), and text
	 * a partner or a customer chose (a name) holding a line "--BOUNDARY"
	 * would otherwise end a part or the message there (and make a part of
	 * its own after it).  A text cannot hold 128 bits of its own hash but by
	 * chance, and a salt is added until it does not hold them at all.  The
	 * same message renders to the same bytes: rendered at queue or at send
	 * time, or sent again after a crash. */
	char hex[65];
	for (uint32_t salt = 0;; salt++) {
		unsigned char h[32];
		crypto_generichash_state st;
		crypto_generichash_init(&st, NULL, 0, sizeof h);
		crypto_generichash_update(&st, (const unsigned char *)&salt, sizeof salt);
		crypto_generichash_update(&st, (const unsigned char *)m->text, strlen(m->text));
		crypto_generichash_final(&st, h, sizeof h);
		sodium_bin2hex(hex, sizeof hex, h, sizeof h);
		char first[33], second[33];
		snprintf(first, sizeof first, "%.32s", hex);
		snprintf(second, sizeof second, "%.32s", hex + 32);
		if (!strstr(m->text, first) && !strstr(m->text, second))
			break;
	}
	snprintf(boundary, sizeof boundary, "renewd-%.32s", hex);
	address_header(&b, "From", bt->from_name, bt->from_addr);
	address_header(&b, "To", NULL, m->to);
	header(&b, "Subject", m->subject);
	header(&b, "Date", date);
	header(&b, "Message-ID", id);
	header(&b, "X-Renewd-Kind", m->kind);
	header(&b, "X-Renewd-Ref", m->ref);
	header(&b, "MIME-Version", "1.0");
	if (pdf) {
		snprintf(mixed, sizeof mixed, "renewd-mixed-%.32s", hex + 32);
		puts_(&b, "Content-Type: multipart/mixed; boundary=\"");
		puts_(&b, mixed);
		puts_(&b, "\"\r\n\r\n--");
		puts_(&b, mixed);
		puts_(&b, "\r\n");
	}
	puts_(&b, "Content-Type: multipart/alternative; boundary=\"");
	puts_(&b, boundary);
	puts_(&b, "\"\r\n\r\n");
	puts_(&b, "--");
	puts_(&b, boundary);
	puts_(&b, "\r\nContent-Type: text/plain; charset=utf-8\r\nContent-Transfer-Encoding: 8bit\r\n\r\n");
	body_crlf(&b, m->text);
	puts_(&b, "--");
	puts_(&b, boundary);
	puts_(&b, "\r\nContent-Type: text/html; charset=utf-8\r\nContent-Transfer-Encoding: base64\r\n\r\n");
	base64_lines(&b, m->html);
	puts_(&b, "--");
	puts_(&b, boundary);
	puts_(&b, "--\r\n");
	if (pdf) {
		char name[80];
		if (it->statement)
			rd_statement_filename(&it->statement->st, "pdf", name, sizeof name);
		else if (it->invoice)
			rd_invoice_filename(&it->invoice->order, name, sizeof name);
		else
			rd_quote_filename(it->quote->o.number, name, sizeof name);
		puts_(&b, "--");
		puts_(&b, mixed);
		puts_(&b, "\r\nContent-Type: application/pdf; name=\"");
		puts_(&b, name);
		puts_(&b, "\"\r\nContent-Transfer-Encoding: base64\r\nContent-Disposition: attachment; filename=\"");
		puts_(&b, name);
		puts_(&b, "\"\r\n\r\n");
		base64_bin(&b, pdf, pdf_len);
		puts_(&b, "--");
		puts_(&b, mixed);
		puts_(&b, "--\r\n");
	}
	*len = b.len;
	return b.p;
}

/* A message queued as templates' version and parameters is rendered here,
 * on the loop, before it is sent (notify.c); false: it cannot be (logged),
 * and it stays queued. */
static bool render_stored(struct rd_renew *r, struct rd_txn *t, struct rd_message *m)
{
	char err[300];
	if (rd_message_render(r, t, m, err, sizeof err) == 0)
		return true;
	rd_log(RD_LOG_ERROR, "mail", "%s", err);
	return false;
}

/* ---- transports (worker thread) ---------------------------------------------------------- */

static int to_maildir(const char *dir, const struct item *it, const char *msg, size_t len, char *err, size_t errlen)
{
	char tmp[4300], path[4200];
	mkdir(dir, 0700);
	snprintf(path, sizeof path, "%s/%llu-%llu.eml", dir, (unsigned long long)it->vendor, (unsigned long long)it->m.id);
	snprintf(tmp, sizeof tmp, "%s.tmp", path);
	int fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
	if (fd < 0) {
		snprintf(err, errlen, "%.160s: %s", tmp, strerror(errno));
		return -errno;
	}
	ssize_t w = write(fd, msg, len);
	int rc = (w == (ssize_t)len && fsync(fd) == 0) ? 0 : -EIO;
	close(fd);
	if (rc == 0 && rename(tmp, path) != 0)
		rc = -errno;
	if (rc < 0)
		snprintf(err, errlen, "%.160s: %s", path, strerror(-rc));
	return rc;
}

struct upload {
	const char *p;
	size_t left;
};

static size_t read_cb(char *out, size_t size, size_t n, void *arg)
{
	struct upload *u = arg;
	size_t want = size * n < u->left ? size * n : u->left;
	memcpy(out, u->p, want);
	u->p += want;
	u->left -= want;
	return want;
}

/* A failure that is the server's, not the message's: it could not be
 * reached or answered nothing (connection refused, no such host, a timeout,
 * the connection closed before any answer, TLS or login refused), or it
 * said 421 (closing the channel).  The batch's other messages would fail
 * the same way. */
static bool server_level(CURL *c, CURLcode cc)
{
	long code = 0;
	curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &code);
	switch (cc) {
	case CURLE_COULDNT_CONNECT:
	case CURLE_COULDNT_RESOLVE_HOST:
	case CURLE_COULDNT_RESOLVE_PROXY:
	case CURLE_OPERATION_TIMEDOUT:
	case CURLE_LOGIN_DENIED:
	case CURLE_USE_SSL_FAILED:
	case CURLE_SSL_CONNECT_ERROR:
	case CURLE_PEER_FAILED_VERIFICATION:
		return true;
	default:
		return code == 0 || code == 421;
	}
}

/* One message over the batch's session: MAIL FROM, RCPT TO, DATA; the
 * connection (and its EHLO, STARTTLS and login) is made by the first
 * message and kept for the next ones (libcurl reconnects by itself when
 * the server closed it).  Delivered only on the server's 250 to the DATA. */
static int to_smtp(struct batch *bt, const struct item *it, const char *msg, size_t len, char *err, size_t errlen)
{
	if (!bt->curl && !(bt->curl = curl_easy_init()))
		return -ENOMEM;
	CURL *c = bt->curl;
	char from[300], rcpt[300];
	snprintf(from, sizeof from, "<%s>", bt->from_addr);
	snprintf(rcpt, sizeof rcpt, "<%s>", it->m.to);
	struct curl_slist *to = curl_slist_append(NULL, rcpt);
	struct upload u = { msg, len };
	curl_easy_setopt(c, CURLOPT_URL, bt->transport);
	curl_easy_setopt(c, CURLOPT_MAIL_FROM, from);
	curl_easy_setopt(c, CURLOPT_MAIL_RCPT, to);
	curl_easy_setopt(c, CURLOPT_READFUNCTION, read_cb);
	curl_easy_setopt(c, CURLOPT_READDATA, &u);
	curl_easy_setopt(c, CURLOPT_UPLOAD, 1L);
	curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L);
	curl_easy_setopt(c, CURLOPT_TIMEOUT, 30L);
	curl_easy_setopt(c, CURLOPT_CONNECTTIMEOUT, 10L);
	if (bt->starttls)
		curl_easy_setopt(c, CURLOPT_USE_SSL, (long)CURLUSESSL_ALL);
	if (bt->user[0]) {
		curl_easy_setopt(c, CURLOPT_USERNAME, bt->user);
		const char *pw = getenv("RENEWD_SMTP_PASSWORD");
		curl_easy_setopt(c, CURLOPT_PASSWORD, pw ? pw : "");
	}
	CURLcode cc = curl_easy_perform(c);
	curl_easy_setopt(c, CURLOPT_MAIL_RCPT, NULL);
	curl_slist_free_all(to);
	if (cc != CURLE_OK) {
		snprintf(err, errlen, "SMTP %.120s: %s", bt->transport, curl_easy_strerror(cc));
		if (server_level(c, cc)) {
			bt->down = true;
			snprintf(bt->down_error, sizeof bt->down_error, "%s", err);
		}
		return -EIO;
	}
	return 0;
}

/* Sends the batch's next item only: its outcome is stored (record, on the
 * loop) before the one after it is sent. */
static void send_one(uv_work_t *w)
{
	struct batch *bt = w->data;
	{
		struct item *it = &bt->items[bt->next];
		if (bt->down) { /* (not reached: record_rest records them) */
			it->rc = -EIO;
			snprintf(it->error, sizeof it->error, "%s", bt->down_error);
			return;
		}
		size_t len, pdf_len = 0;
		void *pdf = NULL;
		if (it->quote && rd_quote_render(it->quote, &pdf, &pdf_len, it->pdf_error, sizeof it->pdf_error) < 0)
			pdf = NULL; /* the notice still goes, without the PDF (logged on the loop) */
		if (it->statement &&
		    rd_statement_render(it->statement, &pdf, &pdf_len, it->pdf_error, sizeof it->pdf_error) < 0)
			pdf = NULL;
		if (it->invoice && rd_invoice_render(it->invoice, &pdf, &pdf_len, it->pdf_error, sizeof it->pdf_error) < 0)
			pdf = NULL;
		char *msg = render_message(bt, it, pdf, pdf_len, &len);
		free(pdf);
		if (!strcmp(bt->transport, "maildir"))
			it->rc = to_maildir(bt->r->maildir, it, msg, len, it->error, sizeof it->error);
		else
			it->rc = to_smtp(bt, it, msg, len, it->error, sizeof it->error);
		free(msg);
	}
}

/* ---- write-back (loop) -------------------------------------------------------------------- */

/* One item's outcome: sent, or failed with its next attempt after the
 * backoff (mail_retry_ms doubled per attempt, up to an hour), rounded up
 * to the next whole second (due times are seconds: a retry is never due
 * again in the pass that failed it). */
static int record_item(struct rd_txn *t, struct batch *bt, struct item *it, uint64_t now)
{
	{
		struct rd_message *m = rd_malloc(sizeof *m);
		int rc = rd_entity_get(t, bt->r->app->domain->outbox, &rd_entity_message, it->vendor, it->m.id, m);
		if (rc < 0) {
			free(m);
			return 0;
		}
		m->attempts++;
		if (it->rc == 0) {
			if (bt->r->server_down)
				bt->recovered = true;
			m->state = RD_MSG_SENT;
			m->sent_at = now / 1000;
			m->last_error[0] = 0;
		} else {
			uint64_t backoff = bt->r->app->config->mail_retry_ms;
			for (uint32_t k = 1; k < m->attempts && backoff < BACKOFF_MAX_MS; k++)
				backoff *= 2;
			if (backoff > BACKOFF_MAX_MS)
				backoff = BACKOFF_MAX_MS;
			m->next_at = (now + backoff + 999) / 1000;
			snprintf(m->last_error, sizeof m->last_error, "%s", it->error);
			/* Never given up on: a mail server down for days loses nothing. */
			if (m->attempts >= WARN_ATTEMPTS)
				rd_log(RD_LOG_ERROR, "mail", "message %llu to %s still not delivered after %u attempts: %s",
				       (unsigned long long)m->id, m->to, m->attempts, m->last_error);
		}
		rc = rd_entity_put(t, bt->r->app->domain->outbox, &rd_entity_message, it->vendor, m, 0);
		free(m);
		if (rc < 0)
			return rc;
	}
	return 0;
}

static int record(struct rd_txn *t, void *arg)
{
	struct batch *bt = arg;
	return record_item(t, bt, &bt->items[bt->next], real_ms());
}

/* The server could not be reached: the items after the one that found out
 * are each recorded as a failed attempt with its error (counted, with
 * their backoff), in one transaction, without being rendered or sent. */
static int record_rest(struct rd_txn *t, void *arg)
{
	struct batch *bt = arg;
	uint64_t now = real_ms();
	int rc = 0;
	for (size_t i = bt->next; rc >= 0 && i < bt->n; i++) {
		struct item *it = &bt->items[i];
		if (it->elsewhere)
			continue; /* another node's since its claim ran out (renew_rest) */
		it->rc = -EIO;
		snprintf(it->error, sizeof it->error, "%s", bt->down_error);
		rc = record_item(t, bt, it, now);
	}
	return rc;
}

/* The server answers again: the messages waiting for a retry (vendor by
 * vendor, the soonest due first, at most FORWARD_MAX) are due now instead of at the
 * end of their own backoff, which grew while the server was away. */
static int bring_forward(struct rd_txn *t, void *arg)
{
	struct rd_renew *r = arg;
	uint64_t now = real_ms() / 1000;
	/* Several nodes: a message claimed by a node (claim_batch) is due at
	 * the end of its lease, never later than now + lease + 1: only one due
	 * past that waits for a retry, and only that one is brought forward
	 * (another node's claim is left alone). */
	uint64_t after = now + (rd_claims_used(r) ? (r->app->config->claim_lease_ms + 999) / 1000 + 1 : 0);
	uint8_t from[8];
	rd_key_put_u64(from, after + 1);
	struct rd_iter vit, it;
	struct rd_item v, item;
	size_t moved = 0, n;
	struct { uint64_t vendor, id; } *ids = rd_calloc(FORWARD_MAX, sizeof *ids);
	int rc = rd_iter_records(&vit, t, r->app->domain->vendors, 0, 0);
	for (n = 0; rc >= 0 && n < FORWARD_MAX && (rc = rd_iter_next(&vit, &v)) > 0;) {
		rc = rd_iter_index(&it, t, r->app->domain->outbox, "due", v.id, from, 8, NULL, 0);
		it.keys_only = true;
		while (rc >= 0 && n < FORWARD_MAX && (rc = rd_iter_next(&it, &item)) > 0) {
			ids[n].vendor = v.id;
			ids[n++].id = item.id;
		}
		rd_iter_close(&it);
	}
	rd_iter_close(&vit);
	struct rd_message *m = rd_malloc(sizeof *m);
	for (size_t i = 0; rc >= 0 && i < n; i++) {
		rc = rd_entity_get(t, r->app->domain->outbox, &rd_entity_message, ids[i].vendor, ids[i].id, m);
		if (rc == RD_ENOTFOUND) {
			rc = 0;
			continue;
		}
		if (rc < 0 || m->state != RD_MSG_QUEUED || m->next_at <= now)
			continue;
		m->next_at = now;
		if ((rc = rd_entity_put(t, r->app->domain->outbox, &rd_entity_message, ids[i].vendor, m, 0)) >= 0)
			moved++;
	}
	free(m);
	free(ids);
	if (rc >= 0 && moved)
		rd_log(RD_LOG_INFO, "mail", "the mail server answers again: %zu waiting message(s) are due now", moved);
	return rc < 0 ? rc : (int)moved;
}

static void free_items(struct batch *bt)
{
	for (size_t i = 0; bt->items && i < bt->n; i++) {
		free(bt->items[i].quote);
		rd_statement_doc_free(bt->items[i].statement);
		free(bt->items[i].invoice);
	}
	free(bt->items);
}

/* A batch cut short (renewd stopping): the messages not tried are given
 * back (due as they were), so that a restart or another node sends them
 * without waiting out the lease. */
static int unclaim_rest(struct rd_txn *t, void *arg)
{
	struct batch *bt = arg;
	struct rd_message *m = rd_malloc(sizeof *m);
	int rc = 0;
	for (size_t i = bt->next; rc >= 0 && i < bt->n; i++) {
		struct item *it = &bt->items[i];
		rc = rd_entity_get(t, bt->r->app->domain->outbox, &rd_entity_message, it->vendor, it->m.id, m);
		if (rc == RD_ENOTFOUND) {
			rc = 0;
			continue;
		}
		if (rc < 0 || m->state != RD_MSG_QUEUED || m->next_at != it->claimed_until)
			continue;
		m->next_at = it->m.next_at;
		rc = rd_entity_put(t, bt->r->app->domain->outbox, &rd_entity_message, it->vendor, m, 0);
	}
	free(m);
	return rc;
}

static void finish(struct batch *bt);

static void close_work(uv_work_t *w)
{
	struct batch *bt = w->data;
	curl_easy_cleanup(bt->curl); /* QUIT, on the worker: the loop never waits for the server */
	bt->curl = NULL;
}

static void after_close(uv_work_t *w, int status)
{
	(void)status;
	struct batch *bt = w->data;
	if (bt->curl) /* cancelled */
		close_work(w);
	finish(bt);
}

static bool keep_claims(struct batch *bt);

static void after_one(uv_work_t *w, int status)
{
	struct batch *bt = w->data;
	struct rd_renew *r = bt->r;
	struct item *it = &bt->items[bt->next];
	if (status != 0 && it->rc == 0)
		it->rc = -ECANCELED;
	if (it->pdf_error[0])
		rd_log(RD_LOG_ERROR, "mail", "message %llu went without its PDF: %s", (unsigned long long)it->m.id,
		       it->pdf_error);
	int rc = rd_store_write_wait(r->app->store, record, bt); /* sent: not to be sent again */
	if (rc < 0)
		rd_log(RD_LOG_ERROR, "mail", "delivery result of message %llu could not be stored: %s",
		       (unsigned long long)it->m.id, rd_strerror(rc));
	rd_renew_mail_counted(r, it->rc == 0, real_ms());
	if (it->rc == 0)
		r->server_down = false;
	else if (bt->down)
		r->server_down = true;
	if (it->rc < 0 && bt->failed++ == 0)
		rd_log(RD_LOG_WARN, "mail", "message %llu not delivered, will retry: %s", (unsigned long long)it->m.id,
		       it->error[0] ? it->error : "cancelled");
	/* The next one, unless stopping (the rest stay queued, untried) or the
	 * server could not be reached (the rest fail with it, below). */
	++bt->next;
	if (bt->next < bt->n && r->started && status == 0 && !bt->down && keep_claims(bt) &&
	    uv_queue_work(r->app->loop, &bt->work, send_one, after_one) == 0)
		return;
	if (bt->next < bt->n && bt->down && r->started) {
		size_t first = bt->next;
		if ((rc = rd_store_write(r->app->store, record_rest, bt)) < 0)
			rd_log(RD_LOG_ERROR, "mail", "%zu message(s) not tried (%s): their attempt could not be stored: %s",
			       bt->n - first, bt->down_error, rd_strerror(rc));
		else {
			for (size_t i = first; i < bt->n; i++)
				rd_renew_mail_counted(r, false, real_ms());
			bt->failed += (unsigned)(bt->n - first);
			bt->next = bt->n;
		}
	}
	if (bt->next < bt->n && rd_claims_used(r) && (rc = rd_store_write(r->app->store, unclaim_rest, bt)) < 0)
		rd_log(RD_LOG_WARN, "mail", "%zu message(s) not tried stay claimed until the lease is over: %s",
		       bt->n - bt->next, rd_strerror(rc));
	if (bt->failed > 1)
		rd_log(RD_LOG_WARN, "mail", "%u of %zu message(s) not delivered, will retry", bt->failed, bt->next);
	if (bt->curl && uv_queue_work(r->app->loop, &bt->work, close_work, after_close) == 0)
		return;
	if (bt->curl)
		close_work(&bt->work);
	finish(bt);
}

/* The batch is over (its session closed): collect again at once when it
 * was full, when something was queued meanwhile (a kick while it was out)
 * or when the server answers again after it could not be reached (the
 * messages waiting for a retry brought forward first); otherwise the
 * timer's next turn (a second).  Even when the server could not be
 * reached: every message of the batch has its next attempt at the next
 * whole second at the soonest, so the next pass takes other messages (one
 * connection attempt for each 32) and the passes end when none is due. */
static void finish(struct batch *bt)
{
	struct rd_renew *r = bt->r;
	bool again = (bt->n == BATCH && bt->next == bt->n) || r->kick_pending;
	if (bt->recovered && !bt->down && r->started) {
		int moved = rd_store_write(r->app->store, bring_forward, r);
		if (moved < 0)
			rd_log(RD_LOG_WARN, "mail", "the waiting messages could not be brought forward: %s",
			       rd_strerror(moved));
		else if (moved > 0)
			again = true;
	}
	free_items(bt);
	free(bt);
	r->delivering = false;
	r->kick_pending = false;
	r->busy--;
	if (again && r->started)
		rd_renew_kick(r);
}

/* The customer notice's quote, to attach: read here, drawn on the worker. */
static void attach_quote(struct rd_renew *r, struct rd_txn *t, const struct rd_vendor *v, struct item *it)
{
	if (strcmp(it->m.kind, "customer_notice") != 0 || !it->m.opportunity_id)
		return;
	struct rd_opportunity *o = rd_malloc(sizeof *o);
	struct rd_quote_doc *q = rd_malloc(sizeof *q);
	int rc = rd_entity_get(t, r->app->domain->opportunities, &rd_entity_opportunity, v->id, it->m.opportunity_id, o);
	if (rc == 0)
		rc = rd_quote_load(r->app->plugins, t, r->app->domain, v, o, q);
	free(o);
	if (rc < 0) {
		rd_log(RD_LOG_WARN, "mail", "message %llu goes without its quote PDF: %s", (unsigned long long)it->m.id,
		       rd_strerror(rc));
		free(q);
		return;
	}
	it->quote = q;
}

/* A statement's e-mail (ref statement:PARTNER:YYYY-MM): its statement, to
 * attach; read here, drawn on the worker. */
static void attach_statement(struct rd_renew *r, struct rd_txn *t, uint64_t vendor, struct item *it)
{
	unsigned long long partner;
	char month[8];
	if (strcmp(it->m.kind, "statement") != 0 || sscanf(it->m.ref, "statement:%llu:%7s", &partner, month) != 2)
		return;
	struct rd_statement st;
	struct rd_iter si;
	struct rd_item item;
	bool found = false;
	int rc = rd_iter_records(&si, t, r->app->domain->statements, vendor, 0);
	while (!found && rc >= 0 && (rc = rd_iter_next(&si, &item)) > 0)
		found = rd_entity_decode(&rd_entity_statement, item.val, item.len, &st) == 0 && st.partner_id == partner &&
			!strcmp(st.month, month);
	rd_iter_close(&si);
	if (found)
		rc = rd_statement_load(t, r->app->domain, vendor, &st, &it->statement);
	if (!found || rc < 0)
		rd_log(RD_LOG_WARN, "mail", "message %llu goes without its statement PDF: %s", (unsigned long long)it->m.id,
		       found ? rd_strerror(rc) : "no such statement");
}

/* An order's confirmation or receipt (ref order:ID:...): its invoice, once
 * the order has its number; read here, drawn on the worker. */
static void attach_invoice(struct rd_renew *r, struct rd_txn *t, uint64_t vendor, struct item *it)
{
	unsigned long long order;
	if ((strcmp(it->m.kind, "order_confirmation") && strcmp(it->m.kind, "order_receipt")) ||
	    sscanf(it->m.ref, "order:%llu:", &order) != 1)
		return;
	int rc = rd_invoice_load(t, r->app->domain, vendor, order, &it->invoice);
	if (rc < 0 && rc != RD_ENOTFOUND) /* not found: not invoiced yet, nothing to attach */
		rd_log(RD_LOG_WARN, "mail", "message %llu goes without its invoice: %s", (unsigned long long)it->m.id,
		       rd_strerror(rc));
}

/* Several nodes (claims.c): a message collected here is claimed before it
 * goes to the transport.  In one write transaction, each one still queued
 * and due is pushed claim_lease_ms into the future (its due time is its
 * lease: no other node collects it until then, and record() sets its
 * outcome); one that is not any more (sent, or claimed by another node
 * since this node read it) is left to that node.  SERIALIZABLE makes two
 * nodes' claims of one message conflict: one is replayed and sees the
 * other's.  A node that dies with a message claimed leaves it to be sent
 * by another once the lease is over (at least once, as on one node). */
static int claim_batch(struct rd_txn *t, void *arg)
{
	struct batch *bt = arg;
	uint64_t now = real_ms() / 1000;
	/* due times are whole seconds: at least the lease, rounded up, and the
	 * second it was claimed in */
	uint64_t lease = (bt->r->app->config->claim_lease_ms + 999) / 1000 + 1;
	struct rd_message *m = rd_malloc(sizeof *m);
	int rc = 0;
	for (size_t i = 0; rc >= 0 && i < bt->n; i++) {
		struct item *it = &bt->items[i];
		it->elsewhere = true;
		rc = rd_entity_get(t, bt->r->app->domain->outbox, &rd_entity_message, it->vendor, it->m.id, m);
		if (rc == RD_ENOTFOUND) {
			rc = 0;
			continue;
		}
		if (rc < 0 || m->state != RD_MSG_QUEUED || m->next_at > now)
			continue;
		m->next_at = it->claimed_until = now + lease;
		if ((rc = rd_entity_put(t, bt->r->app->domain->outbox, &rd_entity_message, it->vendor, m, 0)) >= 0)
			it->elsewhere = false;
	}
	free(m);
	return rc;
}

/* Several nodes: the claims of the messages not sent yet, renewed in one
 * transaction (each is due a lease from now again); one that is not this
 * node's any more (sent or claimed by another node: its due time moved) is
 * marked elsewhere and skipped. */
static int renew_rest(struct rd_txn *t, void *arg)
{
	struct batch *bt = arg;
	uint64_t now = real_ms() / 1000;
	uint64_t lease = (bt->r->app->config->claim_lease_ms + 999) / 1000 + 1;
	struct rd_message *m = rd_malloc(sizeof *m);
	int rc = 0;
	for (size_t i = bt->next; rc >= 0 && i < bt->n; i++) {
		struct item *it = &bt->items[i];
		if (it->elsewhere)
			continue;
		rc = rd_entity_get(t, bt->r->app->domain->outbox, &rd_entity_message, it->vendor, it->m.id, m);
		if (rc == RD_ENOTFOUND || (rc >= 0 && (m->state != RD_MSG_QUEUED || m->next_at != it->claimed_until))) {
			it->elsewhere = true;
			rc = 0;
			continue;
		}
		if (rc < 0)
			break;
		m->next_at = now + lease;
		if ((rc = rd_entity_put(t, bt->r->app->domain->outbox, &rd_entity_message, it->vendor, m, 0)) >= 0)
			it->claimed_until = m->next_at;
	}
	free(m);
	return rc;
}

/* Before the next message of a batch on several nodes: renews the claims
 * once a quarter of the lease has gone (a message may take the SMTP
 * timeout, 30 s, and the default lease is 60 s), then skips the messages
 * that are not this node's any more.  False: stop the batch here. */
static bool keep_claims(struct batch *bt)
{
	struct rd_renew *r = bt->r;
	if (!rd_claims_used(r) || bt->next >= bt->n)
		return true;
	uint64_t now = real_ms();
	if (now - bt->claimed_ms >= r->app->config->claim_lease_ms / 4) {
		/* the items a failed renewal may have marked stay as they were */
		int rc = rd_store_write(r->app->store, renew_rest, bt);
		if (rc < 0) {
			rd_log(RD_LOG_WARN, "mail", "the claims of %zu message(s) could not be renewed (%s): they are left "
			       "to the lease", bt->n - bt->next, rd_strerror(rc));
			bt->claims_lost = true;
			return false;
		}
		bt->claimed_ms = now;
	}
	while (bt->next < bt->n && bt->items[bt->next].elsewhere)
		bt->next++;
	return bt->next < bt->n;
}

/* Keeps the items this node claimed. */
static void keep_claimed(struct batch *bt)
{
	size_t k = 0;
	for (size_t i = 0; i < bt->n; i++) {
		if (bt->items[i].elsewhere) {
			free(bt->items[i].quote);
			rd_statement_doc_free(bt->items[i].statement);
			free(bt->items[i].invoice);
			continue;
		}
		if (k != i)
			bt->items[k] = bt->items[i];
		k++;
	}
	bt->n = k;
}

/* Collects due messages, every vendor. */
static void deliver(struct rd_renew *r)
{
	if (r->delivering)
		return;
	struct rd_txn *t;
	if (rd_store_read(r->app->store, &t) < 0)
		return;
	struct batch *bt = rd_calloc(1, sizeof *bt);
	bt->r = r;
	bt->items = rd_calloc(BATCH, sizeof *bt->items);
	uint8_t to[8];
	uint64_t now = real_ms() / 1000 + 1;
	rd_key_put_u64(to, now);
	struct rd_iter vit, it;
	struct rd_item v, item;
	int rc = rd_iter_records(&vit, t, r->app->domain->vendors, 0, 0);
	struct rd_vendor *vendor = rd_malloc(sizeof *vendor);
	while (rc >= 0 && bt->n < BATCH && (rc = rd_iter_next(&vit, &v)) > 0) {
		bool known = rd_entity_decode(&rd_entity_vendor, v.val, v.len, vendor) == 0;
		if (known && vendor->suspended)
			continue; /* held while the platform operator suspends the vendor */
		rc = rd_iter_index(&it, t, r->app->domain->outbox, "due", v.id, NULL, 0, to, 8);
		while (rc >= 0 && bt->n < BATCH && (rc = rd_iter_next(&it, &item)) > 0)
			if (rd_entity_decode(&rd_entity_message, item.val, item.len, &bt->items[bt->n].m) == 0 &&
			    render_stored(r, t, &bt->items[bt->n].m)) {
				bt->items[bt->n].vendor = v.id;
				if (known)
					attach_quote(r, t, vendor, &bt->items[bt->n]);
				attach_statement(r, t, v.id, &bt->items[bt->n]);
				attach_invoice(r, t, v.id, &bt->items[bt->n]);
				bt->n++;
			}
		rd_iter_close(&it);
	}
	free(vendor);
	rd_iter_close(&vit);
	rd_txn_end(t);
	if (bt->n && rd_claims_used(r)) {
		if (rd_store_write(r->app->store, claim_batch, bt) < 0)
			for (size_t i = 0; i < bt->n; i++)
				bt->items[i].elsewhere = true; /* claimed nothing: tried again next time */
		keep_claimed(bt);
		bt->claimed_ms = real_ms();
	}
	if (bt->n == 0) {
		free(bt->items);
		free(bt);
		return;
	}
	const struct rd_config *c = r->app->config;
	snprintf(bt->transport, sizeof bt->transport, "%s", c->mail_transport);
	snprintf(bt->from, sizeof bt->from, "%s", c->mail_from);
	char why[200];
	if (rd_mail_address_parse(bt->from, bt->from_name, sizeof bt->from_name, bt->from_addr, sizeof bt->from_addr, why,
				  sizeof why) < 0) /* checked at start (config.c): kept as it is */
		snprintf(bt->from_addr, sizeof bt->from_addr, "%s", bt->from);
	snprintf(bt->user, sizeof bt->user, "%s", c->mail_user ? c->mail_user : "");
	bt->starttls = c->mail_starttls;
	bt->work.data = bt;
	r->delivering = true;
	r->busy++;
	if (uv_queue_work(r->app->loop, &bt->work, send_one, after_one) != 0) {
		r->delivering = false;
		r->busy--;
		free_items(bt);
		free(bt);
	}
}

static void on_mail(uv_timer_t *t)
{
	deliver(t->data);
}

void rd_renew_mail_start(struct rd_renew *r)
{
	uv_timer_init(r->app->loop, &r->mail_timer);
	r->mail_timer.data = r;
	uv_timer_start(&r->mail_timer, on_mail, 0, 1000);
}

void rd_renew_mail_stop(struct rd_renew *r)
{
	uv_timer_stop(&r->mail_timer);
	uv_close((uv_handle_t *)&r->mail_timer, NULL);
}

/* Something was queued: collected at once, or, while a batch is out, as
 * soon as it ends (finish). */
void rd_renew_kick(struct rd_renew *r)
{
	if (!r->started)
		return;
	if (r->delivering)
		r->kick_pending = true;
	else
		uv_timer_start(&r->mail_timer, on_mail, 0, 1000);
}

bool rd_renew_busy(const struct rd_renew *r)
{
	return r->busy > 0;
}
