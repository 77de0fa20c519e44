#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "util/err.h"
#include "util/mailaddr.h"

/* Raw bytes per encoded word: 36 bytes are 48 base64 characters, so a word
 * ("=?UTF-8?B?" + 48 + "?=") is 60 characters and a line holding a header
 * name and one word stays under RFC 2047's 76. */
#define WORD_BYTES 36
#define LINE_MAX_CHARS 78

struct out {
	char *p;
	size_t len, cap;
	size_t line; /* characters on the current line */
};

static void put(struct out *o, const char *s, size_t n)
{
	if (o->len + n + 1 > o->cap) {
		o->cap = (o->len + n + 1) * 2;
		o->p = rd_realloc(o->p, o->cap);
	}
	memcpy(o->p + o->len, s, n);
	o->len += n;
	o->p[o->len] = 0;
	for (size_t i = 0; i < n; i++)
		o->line = s[i] == '\n' ? 0 : o->line + 1;
}

static void puts_(struct out *o, const char *s)
{
	put(o, s, strlen(s));
}

static bool plain_ascii(const char *s)
{
	for (; *s; s++)
		if ((unsigned char)*s >= 0x7f || (unsigned char)*s < 0x20)
			return false;
	return true;
}

/* atext of RFC 5322 3.2.3. */
static bool atext(char c)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || strchr("!#$%&'*+-/=?^_`{|}~", c);
}

int rd_mail_addr_spec_ok(const char *a)
{
	const char *at = strrchr(a, '@');
	size_t n = strlen(a);
	if (!at || at == a || !at[1] || n > 254 || (size_t)(at - a) > 64)
		return 0;
	/* dot-atom local part: atext and single dots, not first or last */
	for (const char *p = a; p < at; p++)
		if (!(atext(*p) || (*p == '.' && p > a && p + 1 < at && p[1] != '.')))
			return 0;
	/* domain: letters, digits, hyphens and single dots */
	for (const char *p = at + 1; *p; p++) {
		char c = *p;
		bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '-' ||
			  (c == '.' && p > at + 1 && p[1] && p[1] != '.');
		if (!ok)
			return 0;
	}
	return 1;
}

/* Well-formed UTF-8 without control characters (so no CR, LF or NUL). */
static bool utf8_text(const char *s)
{
	const unsigned char *p = (const unsigned char *)s;
	while (*p) {
		unsigned c = *p;
		int more = c < 0x80 ? 0 : (c & 0xe0) == 0xc0 ? 1 : (c & 0xf0) == 0xe0 ? 2 : (c & 0xf8) == 0xf0 ? 3 : -1;
		if (more < 0 || (c < 0x80 && (c < 0x20 || c == 0x7f)) || c == 0xc0 || c == 0xc1 || c > 0xf4)
			return false;
		p++;
		for (int k = 0; k < more; k++, p++)
			if ((*p & 0xc0) != 0x80)
				return false;
	}
	return true;
}

static void trim(char *s)
{
	size_t n = strlen(s), i = 0;
	while (n && (s[n - 1] == ' ' || s[n - 1] == '\t'))
		s[--n] = 0;
	while (s[i] == ' ' || s[i] == '\t')
		i++;
	memmove(s, s + i, n - i + 1);
}

int rd_mail_address_parse(const char *in, char *name, size_t ncap, char *addr, size_t acap, char *why, size_t whylen)
{
	name[0] = addr[0] = 0;
	const char *lt = strchr(in, '<');
	if (!lt) {
		char a[320];
		snprintf(a, sizeof a, "%s", in);
		trim(a);
		if (!rd_mail_addr_spec_ok(a) || strlen(a) >= acap) {
			snprintf(why, whylen, "\"%.80s\" is not an e-mail address (local@domain, or Name <local@domain>)", in);
			return RD_EINVAL;
		}
		memcpy(addr, a, strlen(a) + 1);
		return 0;
	}
	const char *gt = strchr(lt, '>');
	if (!gt || strchr(gt + 1, '<') || strspn(gt + 1, " \t") != strlen(gt + 1)) {
		snprintf(why, whylen, "\"%.80s\": the address goes in one pair of angle brackets at the end (Name <local@domain>)",
			 in);
		return RD_EINVAL;
	}
	size_t an = (size_t)(gt - lt - 1);
	if (an >= acap || an >= 320) {
		snprintf(why, whylen, "\"%.80s\": the address is too long", in);
		return RD_EINVAL;
	}
	memcpy(addr, lt + 1, an);
	addr[an] = 0;
	if (!rd_mail_addr_spec_ok(addr)) {
		snprintf(why, whylen, "\"%.80s\": \"%.80s\" is not an e-mail address (plain ASCII local@domain)", in, addr);
		addr[0] = 0;
		return RD_EINVAL;
	}
	size_t nn = (size_t)(lt - in);
	if (nn >= ncap) {
		snprintf(why, whylen, "\"%.80s\": the display name is longer than %zu bytes", in, ncap - 1);
		addr[0] = 0;
		return RD_EINVAL;
	}
	memcpy(name, in, nn);
	name[nn] = 0;
	trim(name);
	nn = strlen(name);
	if (nn >= 2 && name[0] == '"' && name[nn - 1] == '"') { /* a quoted-string: unquote */
		size_t o = 0;
		for (size_t i = 1; i + 1 < nn; i++) {
			if (name[i] == '\\' && i + 2 < nn)
				i++;
			name[o++] = name[i];
		}
		name[o] = 0;
	}
	if (!utf8_text(name)) {
		snprintf(why, whylen, "\"%.80s\": the display name must be UTF-8 text without control characters", in);
		name[0] = addr[0] = 0;
		return RD_EINVAL;
	}
	return 0;
}

static void base64(struct out *o, const unsigned char *s, size_t n)
{
	static const char tab[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
	for (size_t i = 0; i < n; i += 3) {
		unsigned v = (unsigned)s[i] << 16 | (i + 1 < n ? (unsigned)s[i + 1] << 8 : 0) | (i + 2 < n ? s[i + 2] : 0);
		char q[4] = { tab[v >> 18 & 63], tab[v >> 12 & 63], i + 1 < n ? tab[v >> 6 & 63] : '=',
			      i + 2 < n ? tab[v & 63] : '=' };
		put(o, q, 4);
	}
}

/* The text as encoded words of at most WORD_BYTES bytes each, cut before a
 * UTF-8 continuation byte never; the words after the first on lines of
 * their own (folded: CRLF and a space). */
static void encoded_words(struct out *o, const char *text)
{
	const unsigned char *s = (const unsigned char *)text;
	size_t n = strlen(text), i = 0;
	bool first = true;
	while (i < n) {
		size_t k = n - i < WORD_BYTES ? n - i : WORD_BYTES;
		while (k > 1 && i + k < n && (s[i + k] & 0xc0) == 0x80)
			k--;
		if (!first)
			puts_(o, "\r\n ");
		puts_(o, "=?UTF-8?B?");
		base64(o, s + i, k);
		puts_(o, "?=");
		first = false;
		i += k;
	}
}

/* A display name with non-ASCII text as an RFC 5322 phrase: its words that
 * are plain atoms as they are, each run of other words (with the spaces
 * inside the run) as encoded words.  Whitespace between an atom and an
 * encoded word is kept by every reader, so runs stay short and most names
 * need no split inside a run; a run longer than one word is split on a
 * character boundary (RFC 2047 readers join adjacent words). */
static void phrase(struct out *o, const char *name)
{
	const char *p = name;
	bool first = true;
	while (*p) {
		while (*p == ' ')
			p++;
		if (!*p)
			break;
		const char *e = p;
		bool atom = true;
		for (; *e && *e != ' '; e++)
			atom = atom && atext(*e);
		char *run;
		if (atom) {
			run = rd_malloc((size_t)(e - p) + 1);
			memcpy(run, p, (size_t)(e - p));
			run[e - p] = 0;
		} else {
			/* the run: this word and every following one that is no atom */
			const char *r = e;
			for (;;) {
				const char *w = r;
				while (*w == ' ')
					w++;
				if (!*w)
					break;
				const char *we = w;
				bool a = true;
				for (; *we && *we != ' '; we++)
					a = a && atext(*we);
				if (a)
					break;
				r = we;
			}
			e = r;
			run = rd_malloc((size_t)(e - p) + 1);
			size_t n = 0;
			for (const char *q = p; q < e; q++) /* single spaces inside the run */
				if (*q != ' ' || (n && run[n - 1] != ' '))
					run[n++] = *q;
			run[n] = 0;
		}
		size_t width = atom ? strlen(run) : 60;
		if (!first)
			puts_(o, o->line + 1 + width > 76 ? "\r\n " : " ");
		if (atom)
			puts_(o, run);
		else
			encoded_words(o, run);
		free(run);
		first = false;
		p = e;
	}
}

static bool needs_quoting(const char *name)
{
	/* a phrase of atoms: atext and single spaces between them */
	for (const char *p = name; *p; p++)
		if (!atext(*p) && !(*p == ' ' && p > name && p[1] && p[1] != ' '))
			return true;
	return false;
}

char *rd_mail_address_header(const char *field, const char *name, const char *addr)
{
	struct out o = { 0 };
	puts_(&o, field);
	puts_(&o, ": ");
	if (name && *name) {
		if (!plain_ascii(name)) {
			phrase(&o, name);
		} else if (needs_quoting(name)) {
			puts_(&o, "\"");
			for (const char *p = name; *p; p++) {
				if (*p == '"' || *p == '\\')
					puts_(&o, "\\");
				put(&o, p, 1);
			}
			puts_(&o, "\"");
		} else {
			puts_(&o, name);
		}
		/* the address on this line when it fits, else folded onto its own */
		puts_(&o, o.line + strlen(addr) + 3 > LINE_MAX_CHARS ? "\r\n <" : " <");
		puts_(&o, addr);
		puts_(&o, ">");
	} else {
		puts_(&o, addr);
	}
	puts_(&o, "\r\n");
	return o.p;
}

char *rd_mail_text_header(const char *field, const char *text)
{
	struct out o = { 0 };
	puts_(&o, field);
	puts_(&o, ": ");
	if (plain_ascii(text))
		puts_(&o, text);
	else
		encoded_words(&o, text);
	puts_(&o, "\r\n");
	return o.p;
}
