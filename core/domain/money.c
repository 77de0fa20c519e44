/* money.c: amounts in minor units, as people read them (domain/money.h). */
#include <stdbool.h>
#include <stdio.h>
#include <string.h>

#include "domain/money.h"

void rd_money_format(int64_t amount, const char *currency, char *out, size_t cap)
{
	char digits[32];
	bool neg = amount < 0;
	uint64_t a = neg ? (uint64_t)(-(amount + 1)) + 1 : (uint64_t)amount;
	snprintf(digits, sizeof digits, "%llu", (unsigned long long)(a / 100));
	char grouped[48];
	size_t n = strlen(digits), o = 0;
	for (size_t i = 0; i < n; i++) {
		if (i && (n - i) % 3 == 0)
			grouped[o++] = ',';
		grouped[o++] = digits[i];
	}
	grouped[o] = 0;
	snprintf(out, cap, "%s %s%s.%02u", currency && *currency ? currency : "", neg ? "-" : "", grouped,
		 (unsigned)(a % 100));
}
