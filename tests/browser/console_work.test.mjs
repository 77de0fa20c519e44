// The console to work in: the vendor admin opens a contract from the
// contracts list (and its customer from there), finds the partner's
// purchase order in the orders list with the totals per currency, records
// its payment on the order's page (the order is fulfilled), and adds a
// call-back task in the sales view, gives it a due date and closes it in
// the tasks inbox.
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';

import { launchBrowser, login, newPage, World } from './lib/world.mjs';

const FLOW = 'console-work';

describe('console work flow', { timeout: 120000 }, () => {
  let w;
  let browser;
  let vendor;
  const s = {};

  before(async () => {
    w = await World.start(FLOW);
    browser = await launchBrowser();
    vendor = await newPage(browser, w);
  });

  after(async () => {
    await vendor?.context.close().catch(() => {});
    await browser?.close().catch(() => {});
    w?.cleanup();
  });

  test('the vendor admin opens a contract from the list, and its customer', async () => {
    const page = vendor.page;
    await login(page, w, 'admin');
    await page.goto(`${w.base}/vendor/contracts`);
    await w.shot(page, FLOW, 'contracts');
    const link = page.locator('table a[href^="/vendor/contracts/"]').first();
    const ext = (await link.textContent()).trim();
    await Promise.all([page.waitForURL(/\/vendor\/contracts\/\d+$/), link.click()]);
    await w.shot(page, FLOW, 'contract');
    assert.equal((await page.textContent('#contract-id')).trim(), ext);
    const id = Number(page.url().split('/').at(-1));
    const k = await w.get(`/api/v1/contracts/${id}`);
    assert.equal(k.external_id, ext);
    await Promise.all([page.waitForURL(/\/vendor\/customers\/\d+$/), page.click('#contract-customer')]);
    assert.equal(Number(page.url().split('/').at(-1)), k.customer_id);
    assert.equal(await page.locator(`a[href="/vendor/contracts/${id}"]`).count(), 1);
    await w.shot(page, FLOW, 'customer');
    assert.deepEqual(page.problems, []);
  });

  test('the vendor admin records the purchase order\'s payment', async () => {
    await w.ok('POST', '/api/v1/plugins/payment-po/enablements', { config: {} }, 201);
    const kid = (await w.items('/api/v1/contracts?external_id=K-20003'))[0].id;
    const o = (await w.items('/api/v1/opportunities')).find((x) => x.contract_id === kid);
    await w.ok('POST', `/api/v1/opportunities/${o.id}/decision`, { publish: 'partner' }, 200, w.tokens.partner);
    const r = await w.request('POST', '/api/v1/orders', {
      body: { opportunity_id: o.id, payment_option: 'purchase_order', po_number: 'PO-4711' },
      token: w.tokens.partner, headers: { 'idempotency-key': 'browser-po-1' },
    });
    assert.ok(r.status === 201 || r.status === 200, r.text);
    s.order = r.json;
    assert.equal(s.order.state, 'awaiting_payment');

    const page = vendor.page;
    await page.goto(`${w.base}/vendor/orders?state=awaiting_payment`);
    await w.shot(page, FLOW, 'orders');
    const total = page.locator(`tr.total[data-currency="${s.order.currency}"]`);
    assert.equal(await total.count(), 1);
    const link = page.locator(`a[href="/vendor/orders/${s.order.id}"]`);
    await Promise.all([page.waitForURL(new RegExp(`/vendor/orders/${s.order.id}$`)), link.click()]);
    assert.match(await page.textContent('.facts'), /PO-4711/);
    assert.equal((await page.textContent('#order-state')).trim(), 'awaiting payment');
    await page.fill('#reference', 'BANK-2026-118');
    await w.shot(page, FLOW, 'pay-form');
    await Promise.all([page.waitForURL(new RegExp(`/vendor/orders/${s.order.id}$`)),
      page.getByRole('button', { name: 'Record the payment' }).click()]);
    await w.shot(page, FLOW, 'paid');
    assert.equal((await page.textContent('#order-state')).trim(), 'fulfilled');
    assert.match(await page.textContent('#order-paid'), /BANK-2026-118/);
    const got = await w.get(`/api/v1/orders/${s.order.id}`);
    assert.equal(got.state, 'fulfilled');
    assert.equal(got.paid_amount, s.order.total);
    s.opportunity = o.id;
    assert.deepEqual(page.problems, []);
  });

  test('the vendor admin adds a call-back task, gives it a due date and closes it', async () => {
    const page = vendor.page;
    const kid = (await w.items('/api/v1/contracts?external_id=K-20006'))[0].id;
    const o = (await w.items('/api/v1/opportunities')).find((x) => x.contract_id === kid);
    await page.goto(`${w.base}/sales/opportunities/${o.id}`);
    await page.selectOption('#task-kind', 'callback');
    if (await page.locator('#task-for').count()) await page.selectOption('#task-for', 'vendor');
    await page.fill('#task-message', 'Call the buyer about the renewal date');
    await Promise.all([page.waitForNavigation(), page.getByRole('button', { name: 'Add the task' }).click()]);
    const task = (await w.items('/api/v1/tasks')).find((t) => t.message === 'Call the buyer about the renewal date');
    assert.ok(task, 'the task');
    await page.goto(`${w.base}/vendor/tasks`);
    const card = page.locator(`#task-${task.id}`);
    await card.locator(`#due-${task.id}`).fill('2030-06-30');
    await Promise.all([page.waitForURL(/\/vendor\/tasks$/), card.getByRole('button', { name: 'Set the due date' }).click()]);
    assert.equal((await page.locator(`#task-${task.id} .due`).textContent()).trim(), '2030-06-30');
    await w.shot(page, FLOW, 'task-due');
    await Promise.all([page.waitForURL(/\/vendor\/tasks$/),
      page.locator(`#task-${task.id}`).getByRole('button', { name: 'Close' }).click()]);
    await w.shot(page, FLOW, 'task-closed');
    assert.equal(await page.locator(`#task-${task.id}`).count(), 0, 'a closed task leaves the open inbox');
    const got = (await w.items('/api/v1/tasks')).find((t) => t.id === task.id);
    assert.equal(got.done, 1);
    assert.equal(got.due_on, '2030-06-30');
    assert.deepEqual(page.problems, []);
  });

  test('renewd stops cleanly', async () => {
    const exit = await w.stop();
    assert.deepEqual(exit, { code: 0, signal: null }, w.log());
    assert.match(w.log(), /stopped cleanly/);
  });
});
