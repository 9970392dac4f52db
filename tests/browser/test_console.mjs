// The operator's console, driven as an operator would: sign in, change the admission rate and
// max active (and see them in force), pause with a message that a fan in line sees at once in
// another browser, resume, refund an order (its seats go back on sale), close the queue to new
// fans and reopen it, and the audit log of it all; a viewer key sees the dashboard but may not
// touch a control.

import { check, runTest, screenshots, smallEvent } from './harness.mjs';

const kEvent = 'Console Test Night';
const kMessage = 'Doors reopen at 10:15. You keep your place.';

async function signIn(page, t, key) {
  await page.goto(t.server.url + '/console');
  await page.getByLabel('Operator key').fill(key);
  await page.getByRole('button', { name: 'Sign in' }).click();
  await page.getByRole('link', { name: kEvent }).click();
  await page.getByRole('heading', { level: 1, name: kEvent }).waitFor();
}

await runTest('console', async (t) => {
  // One fan may shop at a time, and the buyer below holds that slot: the browser fan waits.
  const event = await t.api.createEvent(
    smallEvent({ name: kEvent, seats: 6, queue: { enabled: true, max_active: 1 } }),
  );
  const buyer = await t.api.session();
  const access = { 'X-Access-Token': await t.api.admitted(event.id, buyer) };
  const hold = await t.api.expect(201, 'POST', `/v1/events/${event.id}/holds`, {
    token: buyer,
    headers: access,
    body: { best_available: { quantity: 2 } },
  });

  const fan = await t.newFan();
  await fan.goto(`${t.server.url}/events/${event.id}/queue`);
  await fan.getByRole('status').filter({ hasText: /number 1 in line/ }).waitFor();

  const operator = await t.newFan();
  await signIn(operator, t, t.server.admin_key);
  await operator.getByRole('img', { name: /^Queue, last hour; now: waiting 1/ }).waitFor();
  // The joins and the hold above were scored: loopback's network leads the busiest ones.
  const network = operator.getByRole('row').filter({
    has: operator.getByRole('rowheader', { name: '127.0.0.0/24' }),
  });
  await network.waitFor();

  // Pause with a message: confirmed first, then on the fan's page without a reload.
  await operator.getByRole('textbox', { name: 'Message' }).fill(kMessage);
  await operator.getByRole('button', { name: 'Pause' }).click();
  const dialog = operator.getByRole('dialog');
  await dialog.getByRole('button', { name: 'Confirm' }).click();
  await operator.getByRole('status').filter({ hasText: 'Paused.' }).waitFor();
  await fan.getByText(kMessage).waitFor();
  await fan.getByText('The sale is paused').waitFor();
  await screenshots(t, fan, 'fan_sees_message');

  // The rate and max active, applied and in force (while paused, so nobody is let in yet).
  await operator.getByRole('spinbutton', { name: 'Admission rate' }).fill('7');
  await operator.getByRole('spinbutton', { name: 'Max active' }).fill('3');
  await operator.getByRole('button', { name: 'Apply' }).click();
  await operator.getByRole('status').filter({ hasText: 'Applied: 7 fans a second' }).waitFor();
  const applied = await t.api.expect(200, 'GET', `/v1/events/${event.id}`);
  check(
    applied.queue.admission_rate_per_s === 7 &&
      applied.queue.max_active === 3 &&
      applied.queue.paused === true,
    `the settings in force are ${JSON.stringify(applied.queue)}`,
  );
  await screenshots(t, operator, 'paused');
  await operator.getByRole('button', { name: 'Resume' }).click();
  await operator.getByRole('status').filter({ hasText: 'Resumed.' }).waitFor();
  // Resumed with a free slot: the fan in line is let in and goes on to the seats.
  await fan.waitForURL(/\/seats$/);

  // A refund from the console puts the order's seats back on sale.
  const order = await t.api.expect(201, 'POST', '/v1/orders', {
    token: buyer,
    headers: { ...access, 'Idempotency-Key': 'console-buyer' },
    body: { hold_id: hold.hold_id, email: 'buyer@example.com', payment: { token: 'tok_visa' } },
  });
  // Found by the buyer's address, as a fan on the phone gives it (case aside).
  await operator.getByRole('textbox', { name: 'Order ID or email' }).fill('Buyer@Example.com');
  await operator.getByRole('button', { name: 'Find order' }).click();
  await operator.getByText(order.order_id).waitFor();
  await operator.getByText('buyer@example.com').waitFor();
  await operator.getByRole('button', { name: 'Refund' }).click();
  await operator.getByRole('dialog').getByRole('button', { name: 'Confirm' }).click();
  await operator.getByRole('status').filter({ hasText: 'refunded' }).waitFor();
  const stats = await t.api.expect(200, 'GET', `/v1/events/${event.id}/stats`, {
    token: t.server.admin_key,
  });
  check(
    stats.inventory.sold === 0 && stats.inventory.available === 6,
    `after the refund the seats are ${JSON.stringify(stats.inventory)}`,
  );

  // The payments panel: the demo's gateway took the order's authorization and the refund, so
  // it shows calls timed in the last minute and a closed breaker.
  const gateway_row = operator.getByRole('row').filter({
    has: operator.getByRole('rowheader', { name: 'demo-sim' }),
  });
  await gateway_row.getByText('closed (taking payments)').waitFor();
  await gateway_row.getByText(/^[\d.]+ ms \/ [\d.]+ ms$/).waitFor();

  // Every action is in the audit log, with who did it.
  await operator.getByRole('cell', { name: 'order.refund' }).waitFor();
  await operator.getByRole('cell', { name: 'queue.update' }).first().waitFor();
  await screenshots(t, operator, 'dashboard');

  // Closed to new fans (after a confirmation): a fan arriving now is turned away with the
  // reason, and let in once the operator reopens.
  await operator.getByRole('button', { name: 'Close the queue' }).click();
  await operator.getByRole('dialog').getByRole('button', { name: 'Confirm' }).click();
  await operator.getByRole('status').filter({ hasText: 'Closed.' }).waitFor();
  const closed = await t.api.expect(200, 'GET', `/v1/events/${event.id}`);
  check(closed.queue.closed === true, `the queue in force is ${JSON.stringify(closed.queue)}`);
  const latecomer = await t.newFan();
  await latecomer.goto(`${t.server.url}/events/${event.id}/queue`);
  await latecomer.getByRole('alert').filter({ hasText: 'This waiting room is closed' }).waitFor();
  await screenshots(t, latecomer, 'queue_closed');
  await operator.getByRole('button', { name: 'Reopen the queue' }).click();
  await operator.getByRole('status').filter({ hasText: 'Reopened.' }).waitFor();
  await latecomer.getByRole('button', { name: 'Try again' }).click();
  await latecomer.waitForURL(/\/seats$/);

  // A viewer key: the dashboard, but no control.
  const viewer = await t.api.expect(201, 'POST', '/v1/operator-keys', {
    token: t.server.admin_key,
    body: { scope: 'viewer', label: 'wall screen' },
  });
  const wall = await t.newFan();
  await signIn(wall, t, viewer.key);
  await wall.getByRole('img', { name: /^Seats, last hour/ }).waitFor();
  await wall.getByRole('spinbutton', { name: 'Admission rate' }).fill('50');
  await wall.getByRole('button', { name: 'Apply' }).click();
  await wall.getByRole('status').filter({ hasText: 'may only view' }).waitFor();
  const unchanged = await t.api.expect(200, 'GET', `/v1/events/${event.id}`);
  check(unchanged.queue.admission_rate_per_s === 7, 'a viewer key changed the rate');
});
