/*
 * import_jsonl.c: JSON Lines import files (core/services/imports.c), each
 * kind: the first byte picks customers, contacts, products or contracts
 * and how many bytes each read returns; the rest is the file (import.h).
 */
#include "import.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static const enum rd_resource res[] = { RD_RES_CUSTOMER, RD_RES_CONTACT, RD_RES_PRODUCT, RD_RES_CONTRACT };
	if (size < 1)
		return 0;
	fz_import(data + 1, size - 1, res[data[0] & 3], false, false, "", (data[0] & 4) ? 7 : 0);
	return 0;
}
