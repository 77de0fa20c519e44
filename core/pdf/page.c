/* page.c: the invoice's and the statement's shared PDF drawing (page.h). */
#include <stdio.h>
#include <stdlib.h>

#include "pdf/page.h"
#include "pdf/quote.h"
#include "util/err.h"

static void HPDF_STDCALL on_error(HPDF_STATUS error_no, HPDF_STATUS detail_no, void *arg)
{
	struct rd_pdf *p = arg;
	if (!p->failed) {
		p->failed = true;
		p->error_no = error_no;
		p->detail_no = detail_no;
	}
}

int rd_pdf_begin(struct rd_pdf *p, char *err, size_t errlen)
{
	p->doc = HPDF_New(on_error, p);
	if (!p->doc) {
		snprintf(err, errlen, "libharu could not start a document");
		return RD_EINTERNAL;
	}
	HPDF_SetCompressionMode(p->doc, HPDF_COMP_ALL);
	p->font = HPDF_GetFont(p->doc, "Helvetica", "WinAnsiEncoding");
	p->bold = HPDF_GetFont(p->doc, "Helvetica-Bold", "WinAnsiEncoding");
	HPDF_SetInfoAttr(p->doc, HPDF_INFO_CREATOR, "renewd");
	return 0;
}

void rd_pdf_text(struct rd_pdf *p, bool bold, float size, float x, float y, const char *utf8, bool right, float maxw)
{
	char s[512];
	size_t n = rd_quote_winansi(utf8, s, sizeof s, false);
	HPDF_Font f = bold ? p->bold : p->font;
	HPDF_Page_SetFontAndSize(p->page, f, size);
	while (n > 0 && maxw > 0 && HPDF_Page_TextWidth(p->page, s) > maxw)
		s[--n] = 0;
	float w = HPDF_Page_TextWidth(p->page, s);
	HPDF_Page_BeginText(p->page);
	HPDF_Page_TextOut(p->page, right ? x - w : x, y, s);
	HPDF_Page_EndText(p->page);
}

void rd_pdf_rule(struct rd_pdf *p, float x0, float x1)
{
	HPDF_Page_SetLineWidth(p->page, 0.8f);
	HPDF_Page_MoveTo(p->page, x0, p->y);
	HPDF_Page_LineTo(p->page, x1, p->y);
	HPDF_Page_Stroke(p->page);
}

int rd_pdf_finish(struct rd_pdf *p, int built, const char *too_many, void **out, size_t *out_len, char *err,
		  size_t errlen)
{
	if (built == 0 && !p->failed && HPDF_SaveToStream(p->doc) == HPDF_OK && !p->failed) {
		HPDF_UINT32 size = HPDF_GetStreamSize(p->doc);
		unsigned char *buf = size ? rd_malloc(size) : NULL;
		HPDF_UINT32 got = size;
		if (buf && HPDF_ReadFromStream(p->doc, buf, &got) != HPDF_FAILD_TO_ALLOC_MEM && !p->failed && got == size) {
			*out = buf;
			*out_len = size;
			HPDF_Free(p->doc);
			return 0;
		}
		free(buf);
	}
	snprintf(err, errlen, "libharu failed (error 0x%04X, detail %u)%s%s", (unsigned)p->error_no,
		 (unsigned)p->detail_no, built < 0 && !p->failed && too_many ? ": " : "",
		 built < 0 && !p->failed && too_many ? too_many : "");
	HPDF_Free(p->doc);
	return RD_EINTERNAL;
}
