#include <stdlib.h>
#include <string.h>

#include "store/record.h"
#include "util/err.h"

size_t rd_uvarint_put(uint8_t *out, uint64_t v)
{
	size_t n = 0;
	while (v >= 0x80) {
		out[n++] = (uint8_t)(v | 0x80);
		v >>= 7;
	}
	out[n++] = (uint8_t)v;
	return n;
}

size_t rd_uvarint_get(const uint8_t *p, const uint8_t *end, uint64_t *v)
{
	uint64_t x = 0;
	for (size_t i = 0; i < 10 && p + i < end; i++) {
		uint8_t b = p[i];
		if (i == 9 && b > 1)
			return 0; /* more than 64 bits */
		x |= (uint64_t)(b & 0x7f) << (7 * i);
		if (!(b & 0x80)) {
			*v = x;
			return i + 1;
		}
	}
	return 0;
}

static void reserve(struct rd_rec_writer *w, size_t extra)
{
	if (w->len + extra <= w->cap)
		return;
	size_t cap = w->cap ? w->cap : 64;
	while (cap < w->len + extra)
		cap *= 2;
	w->buf = rd_realloc(w->buf, cap);
	w->cap = cap;
}

static void put_tag(struct rd_rec_writer *w, uint32_t field, enum rd_wire wire)
{
	rd_require(field > 0 && field < (1u << 28));
	reserve(w, 10);
	w->len += rd_uvarint_put(w->buf + w->len, (uint64_t)field << 3 | wire);
}

void rd_rec_begin(struct rd_rec_writer *w, uint8_t kind, uint16_t version)
{
	w->len = 0;
	reserve(w, RD_REC_HEADER);
	w->buf[0] = RD_REC_FORMAT;
	w->buf[1] = kind;
	w->buf[2] = (uint8_t)(version & 0xff);
	w->buf[3] = (uint8_t)(version >> 8);
	w->len = RD_REC_HEADER;
}

void rd_rec_uint(struct rd_rec_writer *w, uint32_t field, uint64_t v)
{
	put_tag(w, field, RD_WIRE_UINT);
	reserve(w, 10);
	w->len += rd_uvarint_put(w->buf + w->len, v);
}

void rd_rec_sint(struct rd_rec_writer *w, uint32_t field, int64_t v)
{
	put_tag(w, field, RD_WIRE_SINT);
	reserve(w, 10);
	uint64_t zz = ((uint64_t)v << 1) ^ (uint64_t)(v >> 63);
	w->len += rd_uvarint_put(w->buf + w->len, zz);
}

void rd_rec_bytes(struct rd_rec_writer *w, uint32_t field, const void *p, size_t n)
{
	put_tag(w, field, RD_WIRE_BYTES);
	reserve(w, 10 + n);
	w->len += rd_uvarint_put(w->buf + w->len, n);
	if (n)
		memcpy(w->buf + w->len, p, n);
	w->len += n;
}

void rd_rec_str(struct rd_rec_writer *w, uint32_t field, const char *s)
{
	if (s && *s)
		rd_rec_bytes(w, field, s, strlen(s));
}

void rd_rec_writer_free(struct rd_rec_writer *w)
{
	free(w->buf);
	memset(w, 0, sizeof *w);
}

int rd_rec_open(struct rd_rec_reader *r, const void *data, size_t len, uint8_t kind, uint16_t max_version)
{
	const uint8_t *p = data;
	if (len < RD_REC_HEADER || p[0] != RD_REC_FORMAT)
		return RD_ECORRUPT;
	r->kind = p[1];
	r->version = (uint16_t)(p[2] | p[3] << 8);
	r->p = p + RD_REC_HEADER;
	r->end = p + len;
	if (kind && r->kind != kind)
		return RD_EINVAL;
	if (r->version > max_version)
		return RD_EVERSION;
	return 0;
}

int rd_rec_next(struct rd_rec_reader *r, struct rd_rec_field *f)
{
	if (r->p == r->end)
		return 0;
	uint64_t tag, v;
	size_t n = rd_uvarint_get(r->p, r->end, &tag);
	if (!n || (tag >> 3) == 0 || (tag >> 3) >= (1u << 28))
		return RD_ECORRUPT;
	r->p += n;
	f->no = (uint32_t)(tag >> 3);
	f->wire = (enum rd_wire)(tag & 7);
	n = rd_uvarint_get(r->p, r->end, &v);
	if (!n)
		return RD_ECORRUPT;
	r->p += n;
	switch (f->wire) {
	case RD_WIRE_UINT:
		f->u = v;
		return 1;
	case RD_WIRE_SINT:
		f->i = (int64_t)(v >> 1) ^ -(int64_t)(v & 1);
		return 1;
	case RD_WIRE_BYTES:
		if (v > (uint64_t)(r->end - r->p))
			return RD_ECORRUPT;
		f->data = r->p;
		f->len = (size_t)v;
		r->p += v;
		return 1;
	}
	return RD_ECORRUPT;
}
