/*
 * test_record.c: the binary record encoding (core/store/record.h).
 *
 * Covers: round trips of uint, sint and bytes fields at their limits;
 * readers skipping fields they do not know; the header checks of
 * rd_rec_open (format, kind, version); every truncated prefix of a record
 * decoding to a clean end or RD_ECORRUPT (each prefix in a buffer of exactly
 * that size, so ASan sees any read past it); varint limits.
 */
#include <stdlib.h>

#include "store/record.h"
#include "unit.h"

#define KIND 7

/* Opens w's bytes as a record of KIND version 1. */
static void open_ok(struct rd_rec_reader *r, const struct rd_rec_writer *w)
{
	assert_rc(rd_rec_open(r, w->buf, w->len, KIND, 1), 0);
	assert_int_equal(r->kind, KIND);
	assert_int_equal(r->version, 1);
}

/* Reads the next field and checks its number and wire type. */
static void next_field(struct rd_rec_reader *r, struct rd_rec_field *f, uint32_t no, enum rd_wire wire)
{
	assert_rc(rd_rec_next(r, f), 1);
	assert_int_equal(f->no, no);
	assert_int_equal(f->wire, wire);
}

static void test_uint_round_trip(void **state)
{
	static const uint64_t values[] = { 0, 1, 127, 128, 300, 16383, 16384, UINT32_MAX, (uint64_t)1 << 63,
					   UINT64_MAX - 1, UINT64_MAX };
	size_t n = sizeof values / sizeof *values;
	struct rd_rec_writer w = { 0 };
	rd_rec_begin(&w, KIND, 1);
	for (size_t i = 0; i < n; i++)
		rd_rec_uint(&w, (uint32_t)i + 1, values[i]);

	struct rd_rec_reader r;
	struct rd_rec_field f;
	open_ok(&r, &w);
	for (size_t i = 0; i < n; i++) {
		next_field(&r, &f, (uint32_t)i + 1, RD_WIRE_UINT);
		assert_true(f.u == values[i]);
	}
	assert_rc(rd_rec_next(&r, &f), 0);
	rd_rec_writer_free(&w);
	assert_null(w.buf);
}

static void test_sint_round_trip(void **state)
{
	static const int64_t values[] = { 0, 1, -1, 63, -64, 64, -65, INT32_MIN, INT32_MAX, INT64_MIN, INT64_MIN + 1,
					  INT64_MAX, INT64_MAX - 1 };
	size_t n = sizeof values / sizeof *values;
	struct rd_rec_writer w = { 0 };
	rd_rec_begin(&w, KIND, 1);
	for (size_t i = 0; i < n; i++)
		rd_rec_sint(&w, (uint32_t)i + 1, values[i]);

	struct rd_rec_reader r;
	struct rd_rec_field f;
	open_ok(&r, &w);
	for (size_t i = 0; i < n; i++) {
		next_field(&r, &f, (uint32_t)i + 1, RD_WIRE_SINT);
		if (f.i != values[i])
			fail_msg("field %zu: got %lld, want %lld", i + 1, (long long)f.i, (long long)values[i]);
	}
	assert_rc(rd_rec_next(&r, &f), 0);
	rd_rec_writer_free(&w);
}

/* Zigzag keeps small negative numbers short: -1 is one byte, not ten. */
static void test_sint_is_compact(void **state)
{
	struct rd_rec_writer w = { 0 };
	rd_rec_begin(&w, KIND, 1);
	rd_rec_sint(&w, 1, -1);
	assert_int_equal(w.len, RD_REC_HEADER + 2); /* tag + one byte */
	rd_rec_writer_free(&w);
}

static void test_bytes_round_trip(void **state)
{
	uint8_t big[300];
	for (size_t i = 0; i < sizeof big; i++)
		big[i] = (uint8_t)(i * 7); /* includes NUL bytes */
	struct rd_rec_writer w = { 0 };
	rd_rec_begin(&w, KIND, 1);
	rd_rec_bytes(&w, 1, "", 0);
	rd_rec_bytes(&w, 2, "a", 1);
	rd_rec_bytes(&w, 3, big, sizeof big);
	rd_rec_str(&w, 4, NULL); /* absent */
	rd_rec_str(&w, 5, "");   /* absent */
	rd_rec_str(&w, 6, "text");
	rd_rec_uint(&w, (1u << 28) - 1, 42); /* the largest field number */

	struct rd_rec_reader r;
	struct rd_rec_field f;
	open_ok(&r, &w);
	next_field(&r, &f, 1, RD_WIRE_BYTES);
	assert_int_equal(f.len, 0);
	next_field(&r, &f, 2, RD_WIRE_BYTES);
	assert_int_equal(f.len, 1);
	assert_memory_equal(f.data, "a", 1);
	next_field(&r, &f, 3, RD_WIRE_BYTES);
	assert_int_equal(f.len, sizeof big);
	assert_memory_equal(f.data, big, sizeof big);
	next_field(&r, &f, 6, RD_WIRE_BYTES);
	assert_int_equal(f.len, 4);
	assert_memory_equal(f.data, "text", 4);
	next_field(&r, &f, (1u << 28) - 1, RD_WIRE_UINT);
	assert_int_equal(f.u, 42);
	assert_rc(rd_rec_next(&r, &f), 0);
	rd_rec_writer_free(&w);
}

/* A reader that knows fields 1 (uint) and 3 (bytes) only, the way every
 * codec reads: anything else is skipped. */
struct known {
	uint64_t one;
	char three[32];
	int seen;
};

static int read_known(const void *data, size_t len, struct known *k)
{
	struct rd_rec_reader r;
	struct rd_rec_field f;
	memset(k, 0, sizeof *k);
	int rc = rd_rec_open(&r, data, len, KIND, 1);
	if (rc < 0)
		return rc;
	while ((rc = rd_rec_next(&r, &f)) > 0) {
		if (f.no == 1 && f.wire == RD_WIRE_UINT) {
			k->one = f.u;
			k->seen++;
		} else if (f.no == 3 && f.wire == RD_WIRE_BYTES && f.len < sizeof k->three) {
			memcpy(k->three, f.data, f.len);
			k->three[f.len] = 0;
			k->seen++;
		}
	}
	return rc;
}

static void test_unknown_fields_skipped(void **state)
{
	uint8_t blob[1000];
	memset(blob, 0xee, sizeof blob);
	struct rd_rec_writer w = { 0 };
	rd_rec_begin(&w, KIND, 1);
	rd_rec_bytes(&w, 50, blob, sizeof blob); /* unknown, long */
	rd_rec_uint(&w, 1, 77);
	rd_rec_sint(&w, 2, -123456789);          /* unknown */
	rd_rec_uint(&w, 99, UINT64_MAX);         /* unknown */
	rd_rec_str(&w, 3, "kept");
	rd_rec_bytes(&w, 1000, "zz", 2);         /* unknown, after the known ones */

	struct known k;
	assert_rc(read_known(w.buf, w.len, &k), 0);
	assert_int_equal(k.seen, 2);
	assert_int_equal(k.one, 77);
	assert_string_equal(k.three, "kept");
	rd_rec_writer_free(&w);
}

static void test_open_checks_header(void **state)
{
	struct rd_rec_writer w = { 0 };
	struct rd_rec_reader r;
	rd_rec_begin(&w, KIND, 3);
	rd_rec_uint(&w, 1, 5);

	assert_rc(rd_rec_open(&r, w.buf, w.len, KIND, 3), 0);
	assert_int_equal(r.version, 3);
	assert_rc(rd_rec_open(&r, w.buf, w.len, KIND, 10), 0); /* older records are fine */
	assert_rc(rd_rec_open(&r, w.buf, w.len, 0, 3), 0);     /* kind 0: any kind */
	assert_int_equal(r.kind, KIND);
	assert_rc(rd_rec_open(&r, w.buf, w.len, KIND + 1, 3), RD_EINVAL);
	assert_rc(rd_rec_open(&r, w.buf, w.len, KIND, 2), RD_EVERSION);
	for (size_t len = 0; len < RD_REC_HEADER; len++)
		assert_rc(rd_rec_open(&r, w.buf, len, KIND, 3), RD_ECORRUPT);

	w.buf[0] = RD_REC_FORMAT + 1;
	assert_rc(rd_rec_open(&r, w.buf, w.len, KIND, 3), RD_ECORRUPT);
	w.buf[0] = 0;
	assert_rc(rd_rec_open(&r, w.buf, w.len, 0, UINT16_MAX), RD_ECORRUPT);
	w.buf[0] = '{'; /* JSON is not a record */
	assert_rc(rd_rec_open(&r, w.buf, w.len, 0, UINT16_MAX), RD_ECORRUPT);

	/* The version is little endian: 0x0102 is 258. */
	rd_rec_begin(&w, KIND, 0x0102);
	assert_int_equal(w.buf[2], 0x02);
	assert_int_equal(w.buf[3], 0x01);
	assert_rc(rd_rec_open(&r, w.buf, w.len, KIND, 258), 0);
	assert_rc(rd_rec_open(&r, w.buf, w.len, KIND, 257), RD_EVERSION);
	rd_rec_writer_free(&w);
}

/* Every prefix of a record, each in a heap buffer of exactly its length:
 * decoding either ends cleanly, exactly at a field boundary, or reports
 * RD_ECORRUPT; it never reads past the prefix. */
static void test_truncated_prefixes(void **state)
{
	uint8_t blob[200];
	for (size_t i = 0; i < sizeof blob; i++)
		blob[i] = (uint8_t)i;
	struct rd_rec_writer w = { 0 };
	size_t bounds[16], nb = 0;
	rd_rec_begin(&w, KIND, 1);
	bounds[nb++] = w.len;
	rd_rec_uint(&w, 1, UINT64_MAX);
	bounds[nb++] = w.len;
	rd_rec_sint(&w, 2, INT64_MIN);
	bounds[nb++] = w.len;
	rd_rec_bytes(&w, 3, blob, sizeof blob);
	bounds[nb++] = w.len;
	rd_rec_uint(&w, 300, 1);
	bounds[nb++] = w.len;
	rd_rec_str(&w, 4, "last");
	bounds[nb++] = w.len;

	for (size_t len = 0; len <= w.len; len++) {
		uint8_t *copy = malloc(len ? len : 1);
		assert_non_null(copy);
		memcpy(copy, w.buf, len);
		struct rd_rec_reader r;
		struct rd_rec_field f;
		int rc = rd_rec_open(&r, copy, len, KIND, 1);
		int fields = 0;
		if (len < RD_REC_HEADER) {
			assert_rc(rc, RD_ECORRUPT);
		} else {
			assert_rc(rc, 0);
			while ((rc = rd_rec_next(&r, &f)) > 0) {
				fields++;
				if (f.wire == RD_WIRE_BYTES)
					assert_true(f.data >= copy && f.data + f.len <= copy + len);
			}
			bool at_boundary = false;
			for (size_t b = 0; b < nb; b++)
				if (bounds[b] == len) {
					at_boundary = true;
					assert_int_equal(fields, b); /* every whole field, nothing more */
				}
			if (at_boundary)
				assert_rc(rc, 0);
			else
				assert_rc(rc, RD_ECORRUPT);
		}
		free(copy);
	}
	rd_rec_writer_free(&w);
}

/* Hand-made damage the writer never produces. */
static void test_damaged_fields(void **state)
{
	struct rd_rec_reader r;
	struct rd_rec_field f;
	/* field number 0 */
	const uint8_t zero_field[] = { RD_REC_FORMAT, KIND, 1, 0, 0x00, 0x05 };
	assert_rc(rd_rec_open(&r, zero_field, sizeof zero_field, KIND, 1), 0);
	assert_rc(rd_rec_next(&r, &f), RD_ECORRUPT);
	/* wire type 3 does not exist */
	const uint8_t bad_wire[] = { RD_REC_FORMAT, KIND, 1, 0, 1 << 3 | 3, 0x05 };
	assert_rc(rd_rec_open(&r, bad_wire, sizeof bad_wire, KIND, 1), 0);
	assert_rc(rd_rec_next(&r, &f), RD_ECORRUPT);
	/* a bytes field longer than what is left */
	const uint8_t long_bytes[] = { RD_REC_FORMAT, KIND, 1, 0, 1 << 3 | RD_WIRE_BYTES, 10, 'a', 'b' };
	assert_rc(rd_rec_open(&r, long_bytes, sizeof long_bytes, KIND, 1), 0);
	assert_rc(rd_rec_next(&r, &f), RD_ECORRUPT);
	/* a bytes length near 2^64 must not wrap the pointer */
	const uint8_t huge_len[] = { RD_REC_FORMAT, KIND, 1, 0, 1 << 3 | RD_WIRE_BYTES,
				     0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x01, 'x' };
	assert_rc(rd_rec_open(&r, huge_len, sizeof huge_len, KIND, 1), 0);
	assert_rc(rd_rec_next(&r, &f), RD_ECORRUPT);
	/* a tag with a field number of 2^28 */
	uint8_t big_no[4 + 10 + 1] = { RD_REC_FORMAT, KIND, 1, 0 };
	size_t n = rd_uvarint_put(big_no + 4, (uint64_t)1 << 31 | RD_WIRE_UINT);
	big_no[4 + n] = 1;
	assert_rc(rd_rec_open(&r, big_no, 4 + n + 1, KIND, 1), 0);
	assert_rc(rd_rec_next(&r, &f), RD_ECORRUPT);
	/* an over-long tag varint */
	const uint8_t long_tag[] = { RD_REC_FORMAT, KIND, 1, 0, 0x88, 0x80, 0x80, 0x80, 0x80,
				     0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x00 };
	assert_rc(rd_rec_open(&r, long_tag, sizeof long_tag, KIND, 1), 0);
	assert_rc(rd_rec_next(&r, &f), RD_ECORRUPT);
	/* an over-long uint value */
	const uint8_t long_value[] = { RD_REC_FORMAT, KIND, 1, 0, 1 << 3 | RD_WIRE_UINT,
				       0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x02 };
	assert_rc(rd_rec_open(&r, long_value, sizeof long_value, KIND, 1), 0);
	assert_rc(rd_rec_next(&r, &f), RD_ECORRUPT);
}

static void test_varint(void **state)
{
	static const struct {
		uint64_t v;
		size_t len;
	} cases[] = {
		{ 0, 1 }, { 1, 1 }, { 127, 1 }, { 128, 2 }, { 16383, 2 }, { 16384, 3 },
		{ UINT32_MAX, 5 }, { (uint64_t)1 << 63, 10 }, { UINT64_MAX, 10 },
	};
	for (size_t i = 0; i < sizeof cases / sizeof *cases; i++) {
		uint8_t buf[10];
		uint64_t v = 12345;
		size_t n = rd_uvarint_put(buf, cases[i].v);
		assert_int_equal(n, cases[i].len);
		assert_int_equal(rd_uvarint_get(buf, buf + n, &v), n);
		assert_true(v == cases[i].v);
		/* Every shorter input is truncated. */
		for (size_t k = 0; k < n; k++)
			assert_int_equal(rd_uvarint_get(buf, buf + k, &v), 0);
	}

	uint64_t v;
	/* Ten bytes whose last carries more than the 64th bit. */
	const uint8_t overflow[] = { 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x02 };
	assert_int_equal(rd_uvarint_get(overflow, overflow + sizeof overflow, &v), 0);
	/* Eleven bytes: continuation past the tenth. */
	const uint8_t eleven[] = { 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x00 };
	assert_int_equal(rd_uvarint_get(eleven, eleven + sizeof eleven, &v), 0);
	/* A tenth byte of 0x81 also continues: over-long. */
	const uint8_t cont[] = { 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x81, 0x00 };
	assert_int_equal(rd_uvarint_get(cont, cont + sizeof cont, &v), 0);
	/* The largest value is accepted as it is written. */
	const uint8_t max[] = { 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x01 };
	assert_int_equal(rd_uvarint_get(max, max + sizeof max, &v), 10);
	assert_true(v == UINT64_MAX);
	/* Empty input. */
	assert_int_equal(rd_uvarint_get(max, max, &v), 0);
}

/* The writer grows its buffer and keeps earlier bytes. */
static void test_writer_growth(void **state)
{
	struct rd_rec_writer w = { 0 };
	rd_rec_begin(&w, KIND, 1);
	for (uint32_t i = 1; i <= 2000; i++)
		rd_rec_uint(&w, i, (uint64_t)i * 1000003u);
	struct rd_rec_reader r;
	struct rd_rec_field f;
	open_ok(&r, &w);
	for (uint32_t i = 1; i <= 2000; i++) {
		next_field(&r, &f, i, RD_WIRE_UINT);
		assert_true(f.u == (uint64_t)i * 1000003u);
	}
	assert_rc(rd_rec_next(&r, &f), 0);
	/* Begin again reuses the buffer from the start. */
	rd_rec_begin(&w, KIND, 1);
	assert_int_equal(w.len, RD_REC_HEADER);
	rd_rec_writer_free(&w);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_uint_round_trip),
		cmocka_unit_test(test_sint_round_trip),
		cmocka_unit_test(test_sint_is_compact),
		cmocka_unit_test(test_bytes_round_trip),
		cmocka_unit_test(test_unknown_fields_skipped),
		cmocka_unit_test(test_open_checks_header),
		cmocka_unit_test(test_truncated_prefixes),
		cmocka_unit_test(test_damaged_fields),
		cmocka_unit_test(test_varint),
		cmocka_unit_test(test_writer_growth),
	};
	return cmocka_run_group_tests_name("record", tests, NULL, NULL);
}
