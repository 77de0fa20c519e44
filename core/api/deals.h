/*
 * deals.h: the API's deal registration handlers (deals.c); the rules are
 * services/deals.h.
 */
#ifndef RD_API_DEALS_H
#define RD_API_DEALS_H

struct rd_req;

int rd_api_deals_list(struct rd_req *req);
int rd_api_deals_create(struct rd_req *req);
int rd_api_deal_get(struct rd_req *req);
int rd_api_deal_approve(struct rd_req *req);
int rd_api_deal_reject(struct rd_req *req);
int rd_api_deal_extend(struct rd_req *req);
int rd_api_deal_lose(struct rd_req *req);
int rd_api_deal_ask_extension(struct rd_req *req);
int rd_api_deal_win(struct rd_req *req);
int rd_api_deal_proof(struct rd_req *req);

#endif
