/*
 * x12.c: inbound X12 interchanges (855 acknowledgements, 810 invoices,
 * 997 functional acknowledgements) read by connector-x12 (edi.h).
 */
#include "edi.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	fz_edi("connector-x12",
	       "\"sender_qualifier\": \"ZZ\", \"sender_id\": \"RENEWD\", \"receiver_qualifier\": \"01\", "
	       "\"receiver_id\": \"DISTNW\"",
	       data, size);
	return 0;
}
