/* date.h: calendar dates as days since 1970-01-01 (proleptic Gregorian). */
#ifndef RD_DOMAIN_DATE_H
#define RD_DOMAIN_DATE_H

#include <stdint.h>

typedef int32_t rd_date;

/* Strict "YYYY-MM-DD" (a real calendar day, years 1900..9999).  0 or RD_EINVAL. */
int rd_date_parse(const char *s, rd_date *out);
/* Writes "YYYY-MM-DD" and a NUL into out[11]. */
void rd_date_format(rd_date d, char out[11]);
rd_date rd_date_from_ymd(int y, int m, int d);
void rd_date_to_ymd(rd_date days, int *y, int *m, int *d);
/* start plus months, on the same day of the month or the month's last day
 * (31 January + 1 month: 28 or 29 February). */
rd_date rd_date_add_months(rd_date start, int months);
/* The last day covered by a term (enum rd_term) that starts on start:
 * quarterly 3 months, monthly and flex 1, annual (and unknown) 12. */
rd_date rd_term_end(rd_date start, uint8_t term);
/* Today in UTC by the real clock. */
rd_date rd_date_today(void);

#endif
