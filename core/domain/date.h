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
/* Today in UTC by the real clock. */
rd_date rd_date_today(void);

#endif
