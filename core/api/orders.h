/*
 * orders.h: the API's order handlers that the route table names besides
 * those of api.h (core/api/orders.c).  Placing an order, fulfilment and the
 * reconciliation at start are the orders service (services/orders.h).
 */
#ifndef RD_API_ORDERS_H
#define RD_API_ORDERS_H

#include "edge/app.h"

/* POST /api/v1/orders/{id}/refund: a paid order, in full (orders.c). */
int rd_api_order_refund(struct rd_req *req);

/* POST /api/v1/orders/{id}/cancel: an order not yet paid (orders.c). */
int rd_api_order_cancel(struct rd_req *req);

/* POST /api/v1/orders/payments: payments from a CSV file, all or nothing. */
int rd_api_order_payments_file(struct rd_req *req);

#endif
