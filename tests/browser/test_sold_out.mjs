// A fan waiting in line is told at once when the event sells out ahead of them.

import { runTest, screenshots, smallEvent } from './harness.mjs';

const kEvent = 'Tiny Club Night';

await runTest('sold_out', async (t) => {
  // One fan may shop at a time, so the second waits while the first buys every seat.
  const event = await t.api.createEvent(
    smallEvent({
      name: kEvent,
      seats: 2,
      queue: { enabled: true, max_active: 1 },
    }),
  );
  const buyer = await t.api.session();
  const access = { 'X-Access-Token': await t.api.admitted(event.id, buyer) };

  const page = await t.newFan();
  await page.goto(t.server.url + '/');
  await page.getByRole('link', { name: kEvent }).click();
  await page.getByRole('link', { name: 'Get tickets' }).click();
  await page
    .getByRole('status')
    .filter({ hasText: /number 1 in line/ })
    .waitFor();

  const hold = await t.api.expect(201, 'POST', `/v1/events/${event.id}/holds`, {
    token: buyer,
    headers: access,
    body: { best_available: { quantity: 2 } },
  });
  await t.api.expect(201, 'POST', '/v1/orders', {
    token: buyer,
    headers: { ...access, 'Idempotency-Key': 'sold-out-buyer' },
    body: {
      hold_id: hold.hold_id,
      email: 'first@example.com',
      payment: { token: 'tok_visa' },
    },
  });

  await page.getByRole('alert').filter({ hasText: 'Sold out' }).waitFor();
  await screenshots(t, page, 'sold_out');
});
