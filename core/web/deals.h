/*
 * deals.h: the pages of deal registration (deals.c): the partner portal's
 * (register, my registrations with state and expiry, resubmit, close won
 * with proof or lost) and the vendor console's (registrations to review
 * with their conflict report; approve, reject, extend).  The rules are
 * services/deals.h.
 */
#ifndef RD_WEB_DEALS_H
#define RD_WEB_DEALS_H

struct rd_req;

int rd_page_partner_deals(struct rd_req *req);
int rd_page_partner_deals_post(struct rd_req *req);
int rd_page_partner_deal_post(struct rd_req *req);
int rd_page_partner_deal_win(struct rd_req *req);
int rd_page_vendor_deals(struct rd_req *req);
int rd_page_vendor_deal_post(struct rd_req *req);

#endif
