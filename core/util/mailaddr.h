/*
 * mailaddr.h: mail header text per RFC 5322 and RFC 2047.
 *
 * An address header carries a display name and an address: only the display
 * name is ever encoded.  A display name in plain ASCII is written as atoms
 * when it holds no specials, else as one quoted-string ("Renewals, Acme"
 * with its quotes and backslashes escaped); in a display name with other
 * characters, the words that are plain atoms stay as they are and each run
 * of the others becomes RFC 2047 "B" encoded words of UTF-8, each at most 60
 * characters and cut on character boundaries, folded onto lines of their
 * own when a line would pass 76 characters.  The
 * address itself (the addr-spec in angle brackets) is written as it is: it
 * is checked to be a plain ASCII local@domain first, never encoded.
 *
 * Unstructured text (a Subject) in plain ASCII is written as it is; other
 * text, or text with a line break in it, becomes folded encoded words the
 * same way, so no value can add a header line.
 */
#ifndef RD_UTIL_MAILADDR_H
#define RD_UTIL_MAILADDR_H

#include <stddef.h>

/* Splits a configured sender, "local@domain" or "Display Name <local@domain>"
 * (the name may be a quoted-string), into the display name ("" when none)
 * and the address.  RD_EINVAL with the reason in why when it is not one: an
 * address that is not plain ASCII local@domain, a name with a control
 * character or a line break, text after the closing ">", a name or address
 * that does not fit. */
int rd_mail_address_parse(const char *in, char *name, size_t ncap, char *addr, size_t acap, char *why,
			  size_t whylen);

/* Is this a plain ASCII local@domain address (no display name)? */
int rd_mail_addr_spec_ok(const char *addr);

/* "From: =?UTF-8?B?...?=\r\n =?UTF-8?B?...?= <a@b.example>\r\n": the whole
 * header field with its closing CRLF, the display name encoded or quoted as
 * above (none when name is NULL or "").  The caller frees it. */
char *rd_mail_address_header(const char *field, const char *name, const char *addr);

/* "Subject: text\r\n" with non-ASCII text (or a line break) as folded
 * encoded words.  The caller frees it. */
char *rd_mail_text_header(const char *field, const char *text);

#endif
