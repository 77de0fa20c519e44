/*
 * edifact.c: inbound EDIFACT interchanges (ORDRSP, INVOIC, CONTRL) read by
 * connector-edifact (edi.h).
 */
#include "edi.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	fz_edi("connector-edifact",
	       "\"sender_qualifier\": \"ZZZ\", \"sender_id\": \"RENEWD\", \"receiver_qualifier\": \"14\", "
	       "\"receiver_id\": \"5412345000013\", \"syntax\": \"UNOC\"",
	       data, size);
	return 0;
}
