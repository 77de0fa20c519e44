/*
 * quote.h: a quote's lines as C values, their stored encoding and the one
 * rule for the quote's total.
 *
 * The renewal engine writes the lines once (core/renew/engine.c); pages,
 * orders, commissions, e-mails and the PDF read them as these structs, never
 * as text.  A line is stored as one bytes field of the opportunity record,
 * itself a small record (core/store/record.h, kind RD_KIND_QUOTE_LINE):
 *
 *   1 kind (uint)          2 optional (uint)     3 selected (uint)
 *   4 sku (bytes)          5 description (bytes) 6 quantity (uint)
 *   7 unit_list (sint)     8 list (sint)         9 priced (uint, RD_QUOTE_* bits)
 *   10, 11 partner channel_bp, net (sint)        12, 13 vendor channel_bp, net
 *   14 share (bytes, repeated): 1 mode (uint, enum rd_publish) 2 party
 *      3 bp (sint) 4 amount (sint) 5 reason
 *   15 product (uint), 16 contract (uint): an order's frozen line only
 *
 * Stores written before this encoding held the lines as JSON text in field
 * 20 of the opportunity; rd_quote_lines_from_json reads that form, so old
 * records open unchanged and are rewritten in this form on their next write.
 *
 * The array holds every line the engine can make (the renewal line and one
 * per up-sell and cross-sell product), so nothing is ever cut to fit; a
 * stored record with more is RD_ECORRUPT, never silently shortened.
 */
#ifndef RD_DOMAIN_QUOTE_H
#define RD_DOMAIN_QUOTE_H

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define RD_KIND_QUOTE_LINE 31
#define RD_QUOTE_MAX_SHARES 3                        /* the margin policy's parties */
#define RD_QUOTE_MAX_LINES (1 + 2 * 8)              /* renewal + RD_MAX_RELATED up- and cross-sells */

enum rd_quote_line_kind { RD_LINE_RENEWAL = 1, RD_LINE_UPSELL = 2, RD_LINE_CROSSSELL = 3 };

/* priced bits: which of the two publish modes the margin policy priced.
 * RD_QUOTE_MARGINS clear: no margin policy was active (the JSON says
 * "shares": null). */
enum { RD_QUOTE_MARGINS = 1, RD_QUOTE_PARTNER = 2, RD_QUOTE_VENDOR = 4 };

struct rd_quote_share {
	char party[16];      /* reseller, distributor, referral */
	int32_t bp;
	int64_t amount;      /* rd_money_share(line list, bp) */
	char reason[120];    /* the policy's words, cut on a UTF-8 boundary */
};

/* The line in one publish mode: the channel's shares and the vendor's net
 * (list less the sum of the shares: shares + net == list exactly). */
struct rd_quote_margin {
	uint8_t n;
	struct rd_quote_share shares[RD_QUOTE_MAX_SHARES];
	int32_t channel_bp;
	int64_t net;
};

struct rd_quote_line {
	uint8_t kind;        /* enum rd_quote_line_kind */
	bool optional;       /* an up-sell or cross-sell the customer may choose */
	bool selected;       /* chosen when the quote was accepted */
	uint8_t priced;      /* RD_QUOTE_* bits */
	char sku[64];
	char description[128];
	uint32_t quantity;
	int64_t unit_list;   /* minor units per seat per term */
	int64_t list;        /* unit_list * quantity, checked */
	struct rd_quote_margin partner, vendor; /* by publish mode */
	/* An order's frozen line (rd_quote_select at placement): the product
	 * it delivers, resolved when ordered, and the contract it became, once
	 * fulfilled.  0 on a quote's own lines. */
	uint64_t product_id, contract_id;
};

const char *rd_quote_kind_name(uint8_t kind); /* "renewal", "upsell", "crosssell" */

/* The margin of a line in a publish mode (enum rd_publish: 1 vendor,
 * 2 partner), or NULL when that mode was not priced. */
const struct rd_quote_margin *rd_quote_margin(const struct rd_quote_line *l, uint8_t publish);

/* Whether a frozen line (an order's, rd_quote_select) is on the order: it
 * is not optional, or it was chosen.  On a quote's own lines use
 * rd_quote_line_charged, which knows that a chosen up-sell replaces the
 * renewal line. */
static inline bool rd_quote_line_ordered(const struct rd_quote_line *l)
{
	return !l->optional || l->selected;
}

/* The selection rule, stated once: what an order of the quote charges,
 * fulfils and commissions.  The renewal line, unless an up-sell is chosen:
 * a chosen up-sell replaces it (the renewal line is not charged); every
 * chosen cross-sell line adds.  At most one up-sell may be chosen (two would
 * be two replacements of one contract): more is RD_EINVAL. */
bool rd_quote_upsell_chosen(const struct rd_quote_line *lines, size_t n);
/* Whether line i is charged by that rule (upsell: rd_quote_upsell_chosen). */
static inline bool rd_quote_line_charged(const struct rd_quote_line *l, bool upsell)
{
	return l->optional ? l->selected : !(upsell && l->kind == RD_LINE_RENEWAL);
}
/* The lines an order freezes at placement, in the quote's order, copied
 * into out (room for n; out may be lines itself): each is marked selected.
 * 0, or RD_EINVAL when more than one up-sell is chosen. */
int rd_quote_select(const struct rd_quote_line *lines, size_t n, struct rd_quote_line *out, uint8_t *n_out);

struct rd_quote_sum {
	int64_t base;     /* the lines that are not optional */
	int64_t subtotal; /* the charged lines (rd_quote_line_charged) */
	int64_t total;    /* subtotal less the discount (rd_money_discounted) */
};
/* The one rule for a quote's total, used by the pages, the order, the
 * commission and the PDF: the charged lines less the discount.  0,
 * RD_ERANGE when a sum overflows, RD_EINVAL when more than one up-sell is
 * chosen (*out is then untouched). */
int rd_quote_total(const struct rd_quote_line *lines, size_t n, uint32_t discount_bp, struct rd_quote_sum *out);

/* The first channel share of the quote's renewal line in a publish mode, as
 * partners read it: "20% (EUR 1,234.00)"; false and out untouched when that
 * mode has no share. */
bool rd_quote_share_text(const struct rd_quote_line *lines, size_t n, uint8_t publish, const char *currency,
			 char *out, size_t cap);

/* Codec: one line as a record (a writer owned by the caller) and back. */
struct rd_rec_writer;
void rd_quote_line_encode(const struct rd_quote_line *l, struct rd_rec_writer *w);
int rd_quote_line_decode(const void *data, size_t len, struct rd_quote_line *l); /* 0, RD_ECORRUPT */

/* The lines as the API shows them (new reference): an array of {kind, sku,
 * description, quantity, unit_list, list, optional?, selected?, margins:
 * {partner, vendor} | shares: null}. */
json_t *rd_quote_lines_json(const struct rd_quote_line *lines, size_t n);
/* The JSON text stored before the typed encoding -> lines.  0, or
 * RD_ECORRUPT when it does not parse or has more than max lines. */
int rd_quote_lines_from_json(const char *text, size_t len, struct rd_quote_line *lines, size_t max, uint8_t *n);

#endif
