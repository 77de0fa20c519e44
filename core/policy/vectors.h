/* vectors.h: running a policy's test vectors (format in vectors.c). */
#ifndef RD_POLICY_VECTORS_H
#define RD_POLICY_VECTORS_H

#include <jansson.h>

#include "policy/policy.h"

/* Each returns how many vectors failed and appends {vector, message} for
 * each failure to report. */
int rd_vectors_margin(struct rd_margin_policy *p, json_t *vectors, json_t *report);
int rd_vectors_routing(struct rd_routing_policy *p, json_t *vectors, json_t *report);
/* A margin line from its JSON form (strings borrowed from j). */
int rd_margin_line_from_json(json_t *j, struct rd_margin_line *l);

#endif
