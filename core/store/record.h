/*
 * record.h: the compact binary encoding of stored records.
 *
 * Hot tables never hold JSON (building and parsing a small jansson object
 * costs microseconds; see docs/storage.md for the measured figures).  A
 * record is a short header followed by tagged fields, in the spirit of
 * protocol buffers but with no code generator:
 *
 *   byte 0      format    RD_REC_FORMAT (1); any other value is refused
 *   byte 1      kind      which record type this is (contract, partner, ...)
 *   bytes 2-3   version   layout version of that kind, little endian
 *   fields...   each: uvarint tag = field_no << 3 | wire type, then
 *                 RD_WIRE_UINT   uvarint
 *                 RD_WIRE_SINT   zigzag uvarint (negative numbers stay short)
 *                 RD_WIRE_BYTES  uvarint length, then that many bytes
 *
 * Readers skip fields they do not know, so adding a field never needs a
 * migration; a reader refuses a record whose kind differs from the one it
 * expects or whose version is newer than it understands (RD_EVERSION).
 * Field numbers are 1..2^28; 0 is invalid.
 */
#ifndef RD_STORE_RECORD_H
#define RD_STORE_RECORD_H

#include <stddef.h>
#include <stdint.h>

#define RD_REC_FORMAT 1
#define RD_REC_HEADER 4

enum rd_wire { RD_WIRE_UINT = 0, RD_WIRE_SINT = 1, RD_WIRE_BYTES = 2 };

/* A growable output buffer.  Owns buf (free with rd_rec_writer_free). */
struct rd_rec_writer {
	uint8_t *buf;
	size_t len, cap;
};

void rd_rec_begin(struct rd_rec_writer *w, uint8_t kind, uint16_t version);
void rd_rec_uint(struct rd_rec_writer *w, uint32_t field, uint64_t v);
void rd_rec_sint(struct rd_rec_writer *w, uint32_t field, int64_t v);
void rd_rec_bytes(struct rd_rec_writer *w, uint32_t field, const void *p, size_t n);
/* A NUL-terminated string; NULL and "" are both skipped (absent field). */
void rd_rec_str(struct rd_rec_writer *w, uint32_t field, const char *s);
void rd_rec_writer_free(struct rd_rec_writer *w);

/* A reader borrows the bytes it decodes (for a stored record: valid until
 * the read transaction ends). */
struct rd_rec_reader {
	const uint8_t *p, *end;
	uint8_t kind;
	uint16_t version;
};

struct rd_rec_field {
	uint32_t no;
	enum rd_wire wire;
	uint64_t u;          /* RD_WIRE_UINT */
	int64_t i;           /* RD_WIRE_SINT */
	const uint8_t *data; /* RD_WIRE_BYTES: borrowed, not NUL-terminated */
	size_t len;
};

/* Checks the header.  kind 0 accepts any kind.  Returns 0, RD_ECORRUPT for
 * a short or foreign buffer, RD_EINVAL for the wrong kind, RD_EVERSION when
 * the record is newer than max_version. */
int rd_rec_open(struct rd_rec_reader *r, const void *data, size_t len, uint8_t kind, uint16_t max_version);
/* 1 and *f filled: one more field; 0: end of record; RD_ECORRUPT: damaged. */
int rd_rec_next(struct rd_rec_reader *r, struct rd_rec_field *f);

/* Varints, shared with key encodings. Returns bytes written (at most 10). */
size_t rd_uvarint_put(uint8_t *out, uint64_t v);
/* Returns bytes read, or 0 when the input is truncated or over-long. */
size_t rd_uvarint_get(const uint8_t *p, const uint8_t *end, uint64_t *v);

#endif
