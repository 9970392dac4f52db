// The door scanner, as door staff use it: sign in with the event's scanner key, type a ticket's
// code, Check in: valid; the same code again: already checked in (with when); after a refund the
// code is invalid; a key of the wrong kind is refused and the scanner asks for one again.

import { check, runTest, screenshots, smallEvent } from './harness.mjs';

const kEvent = 'Scanner Test Night';

await runTest('scanner', async (t) => {
  const event = await t.api.createEvent(
    smallEvent({ name: kEvent, queue: { enabled: false } }),
  );
  const buyer = await t.api.session();
  const access = { 'X-Access-Token': await t.api.admitted(event.id, buyer) };
  const hold = await t.api.expect(201, 'POST', `/v1/events/${event.id}/holds`, {
    token: buyer,
    headers: access,
    body: { best_available: { quantity: 1 } },
  });
  const placed = await t.api.expect(201, 'POST', '/v1/orders', {
    token: buyer,
    headers: { ...access, 'Idempotency-Key': 'scanner-buyer' },
    body: { hold_id: hold.hold_id, email: 'door@example.com', payment: { token: 'tok_visa' } },
  });
  // Ticket codes are signed once the order is captured and ticketed.
  let order = placed;
  while (!order.tickets?.[0]?.code) {
    order = await t.api.expect(200, 'GET', `/v1/orders/${placed.order_id}`, { token: buyer });
    if (!order.tickets?.[0]?.code) await new Promise((done) => setTimeout(done, 100));
  }
  const code = order.tickets[0].code;
  const scanner = await t.api.expect(201, 'POST', `/v1/events/${event.id}/scanner-keys`, {
    token: t.server.admin_key,
    body: {},
  });

  const page = await t.newFan();
  await page.goto(`${t.server.url}/scan?event=${event.id}`);
  await page.getByLabel('Scanner or operator key').fill('wrong-key');
  await page.getByRole('button', { name: 'Sign in' }).click();
  await page.getByLabel('Ticket code').fill(code);
  await page.getByRole('button', { name: 'Check in' }).click();
  await page.getByRole('alert').filter({ hasText: 'refused' }).waitFor();

  await page.getByLabel('Scanner or operator key').fill(scanner.key);
  await page.getByRole('button', { name: 'Sign in' }).click();
  const result = page.getByRole('status');
  await page.getByLabel('Ticket code').fill(code);
  await page.getByRole('button', { name: 'Check in' }).click();
  // Anchored: "valid" is also in "Invalid" and in the refusal's "a valid key".
  await result.filter({ hasText: /^Valid/ }).waitFor();
  check(
    (await result.textContent()).includes(order.tickets[0].seat_id),
    'the result does not name the seat',
  );
  await screenshots(t, page, 'valid');

  await page.getByLabel('Ticket code').fill(code);
  await page.getByRole('button', { name: 'Check in' }).click();
  await result.filter({ hasText: 'Already checked in' }).waitFor();
  await result.filter({ hasText: 'First checked in at' }).waitFor();
  await screenshots(t, page, 'already_checked_in');

  await t.api.expect(200, 'POST', `/v1/orders/${placed.order_id}/refund`, {
    token: t.server.admin_key,
    headers: { 'Idempotency-Key': 'scanner-refund' },
    body: {},
  });
  await page.getByLabel('Ticket code').fill(code);
  await page.getByRole('button', { name: 'Check in' }).click();
  await result.filter({ hasText: 'Invalid' }).waitFor();
  await screenshots(t, page, 'invalid');
});
