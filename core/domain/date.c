#include <stdio.h>
#include <stdbool.h>
#include <stdint.h>
#include <string.h>
#include <time.h>

#include "domain/date.h"
#include "domain/model.h"
#include "util/err.h"

/* Howard Hinnant's days-from-civil algorithm (public domain description). */
rd_date rd_date_from_ymd(int y, int m, int d)
{
	y -= m <= 2;
	int era = (y >= 0 ? y : y - 399) / 400;
	unsigned yoe = (unsigned)(y - era * 400);
	unsigned doy = (unsigned)((153 * (m + (m > 2 ? -3 : 9)) + 2) / 5 + d - 1);
	unsigned doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
	return era * 146097 + (int)doe - 719468;
}

/* In 64 bits: a day number near either end of int32 (a damaged record's
 * date) would overflow int on the shift to 0000-03-01. */
void rd_date_to_ymd(rd_date days, int *y, int *m, int *d)
{
	int64_t z = (int64_t)days + 719468;
	int64_t era = (z >= 0 ? z : z - 146096) / 146097;
	unsigned doe = (unsigned)(z - era * 146097);
	unsigned yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
	int yy = (int)((int64_t)yoe + era * 400);
	unsigned doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
	unsigned mp = (5 * doy + 2) / 153;
	*d = (int)(doy - (153 * mp + 2) / 5 + 1);
	*m = (int)(mp < 10 ? mp + 3 : mp - 9);
	*y = yy + (*m <= 2);
}

static int days_in_month(int y, int m)
{
	static const int dm[] = { 31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31 };
	bool leap = (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;
	return m == 2 && leap ? 29 : dm[m - 1];
}

int rd_date_parse(const char *s, rd_date *out)
{
	if (!s || strlen(s) != 10 || s[4] != '-' || s[7] != '-')
		return RD_EINVAL;
	for (int i = 0; i < 10; i++)
		if (i != 4 && i != 7 && (s[i] < '0' || s[i] > '9'))
			return RD_EINVAL;
	int y = (s[0] - '0') * 1000 + (s[1] - '0') * 100 + (s[2] - '0') * 10 + (s[3] - '0');
	int m = (s[5] - '0') * 10 + (s[6] - '0');
	int d = (s[8] - '0') * 10 + (s[9] - '0');
	if (y < 1900 || m < 1 || m > 12 || d < 1 || d > days_in_month(y, m))
		return RD_EINVAL;
	*out = rd_date_from_ymd(y, m, d);
	return 0;
}

void rd_date_format(rd_date days, char out[11])
{
	int y, m, d;
	rd_date_to_ymd(days, &y, &m, &d);
	/* "%04u-%02u-%02u" of y % 10000, m % 100 and d % 100, without snprintf
	 * (the dates of a message's context are many) */
	unsigned part[3] = { (unsigned)y % 10000u, (unsigned)m % 100u, (unsigned)d % 100u };
	static const int at[3] = { 3, 6, 9 }, width[3] = { 4, 2, 2 };
	for (int i = 0; i < 3; i++)
		for (int k = 0; k < width[i]; k++, part[i] /= 10)
			out[at[i] - k] = (char)('0' + part[i] % 10);
	out[4] = out[7] = '-';
	out[10] = 0;
}

rd_date rd_date_today(void)
{
	return (rd_date)(time(NULL) / 86400);
}

rd_date rd_date_add_months(rd_date start, int months)
{
	int y, m, d;
	rd_date_to_ymd(start, &y, &m, &d);
	m += months;
	y += (m - 1) / 12;
	m = (m - 1) % 12 + 1;
	int next_y = m == 12 ? y + 1 : y, next_m = m == 12 ? 1 : m + 1;
	int last = rd_date_from_ymd(next_y, next_m, 1) - rd_date_from_ymd(y, m, 1);
	return rd_date_from_ymd(y, m, d < last ? d : last); /* 31 January + 1 month: 28 or 29 February */
}

/* The last day covered by a term that starts on start. */
rd_date rd_term_end(rd_date start, uint8_t term)
{
	switch (term) {
	case RD_TERM_QUARTERLY: return rd_date_add_months(start, 3) - 1;
	case RD_TERM_MONTHLY:
	case RD_TERM_FLEX: return rd_date_add_months(start, 1) - 1;
	default: return rd_date_add_months(start, 12) - 1;
	}
}
