/*
 * page.h: what the invoice and the statement PDFs share (libharu): a
 * document in Helvetica and Helvetica-Bold (WinAnsi, like the quote), the
 * first libharu error kept for the message, text cut to a width, and the
 * document saved to memory.  Internal to core/pdf.
 */
#ifndef RD_PDF_PAGE_H
#define RD_PDF_PAGE_H

#include <hpdf.h>
#include <stdbool.h>
#include <stddef.h>

struct rd_pdf {
	HPDF_Doc doc;
	HPDF_Page page;
	HPDF_Font font, bold;
	float y;     /* the next baseline, from the top down */
	int pages;
	bool failed; /* the first libharu error */
	HPDF_STATUS error_no, detail_no;
};

/* Starts a document (compressed, the two fonts, "renewd" its creator).
 * 0, or RD_EINTERNAL with err saying why. */
int rd_pdf_begin(struct rd_pdf *p, char *err, size_t errlen);

/* Text at x, y: UTF-8 converted to WinAnsi, cut to maxw points (0: no
 * cut), ending at x when right. */
void rd_pdf_text(struct rd_pdf *p, bool bold, float size, float x, float y, const char *utf8, bool right, float maxw);

/* A 0.8 pt rule at the current y from x0 to x1. */
void rd_pdf_rule(struct rd_pdf *p, float x0, float x1);

/* Ends the document built with result built (0: drawn; < 0: the builder
 * gave up, too_many naming why when libharu did not): the PDF in *out
 * (malloc'd) and 0, else RD_EINTERNAL with err.  The document is freed
 * either way. */
int rd_pdf_finish(struct rd_pdf *p, int built, const char *too_many, void **out, size_t *out_len, char *err,
		  size_t errlen);

#endif
