/*
 * feed_mapping.c: a partner's feed mapping ("Their Column=renewd_column;
 * ...") and a vendor's precedence table, checked as the API checks them
 * (rd_feed_mapping_problem, rd_feed_precedence_problem), and a good mapping
 * applied to a partner's contracts feed (import.h).  The input is
 * MAPPING \n FEED; the feed is CSV when the mapping's length is even, else
 * JSON Lines.
 */
#include "import.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char *mapping, *feed, why[256];
	size_t feed_len;
	fz_split(data, size, '\n', &mapping, &feed, &feed_len);
	(void)rd_feed_precedence_problem(mapping, why, sizeof why);
	if (!rd_feed_mapping_problem(mapping, why, sizeof why) && strlen(mapping) < 1024)
		fz_import((const uint8_t *)feed, feed_len, RD_RES_CONTRACT, strlen(mapping) % 2 == 0, true, mapping, 0);
	free(mapping);
	free(feed);
	return 0;
}
