// A declined card is told to the fan (role alert) and the hold stays, so the same checkout then
// pays with another card.

import { check, enterSeats, pay, runTest, screenshots } from './harness.mjs';

const kDemoEvent = 'boxoffice Demo Arena: Opening Night';

await runTest('decline', async (t) => {
  const page = await t.newFan();
  await enterSeats(page, t, kDemoEvent);
  await page.getByLabel('Quantity').selectOption('1');
  await page.getByRole('button', { name: 'Find seats' }).click();
  await page.waitForURL(/\/checkout\?hold=/);

  const declined = page.waitForResponse(
    (r) => r.url().endsWith('/v1/orders') && r.status() === 402,
  );
  await pay(page, 'tok_declined');
  await declined;
  const alert = page.getByRole('alert');
  await alert.waitFor();
  const text = await alert.innerText();
  check(/declined/i.test(text), `the alert does not say the card was declined: "${text}"`);
  await screenshots(t, page, 'declined');

  // Same page, same hold: only the card changes.
  await page.getByLabel('Test card').selectOption('tok_visa');
  await page.getByRole('button', { name: 'Pay' }).click();
  await page.waitForURL(/\/orders\//);
  await page.getByRole('heading', { name: 'Your tickets' }).waitFor();
  await page.getByRole('img', { name: /QR code/ }).waitFor();
});
