// A fan buys two tickets for the demo event from the events list to the QR codes: events list,
// event page, Get tickets, waiting room, seats, Find seats, checkout, Pay with tok_visa, tickets.

import { check, enterSeats, pay, runTest, screenshots } from './harness.mjs';

const kDemoEvent = 'boxoffice Demo Arena: Opening Night';
const kDemoVenue = 'Demo Arena, Example City';
const kSeatId = /\b[A-Za-z0-9_]+-[A-Za-z0-9_]+-\d+\b/;

await runTest('purchase', async (t) => {
  const page = await t.newFan();

  await page.goto(t.server.url + '/');
  await page.getByRole('link', { name: kDemoEvent }).waitFor();
  await page.getByText('Tickets available').waitFor();
  // Where it is, as the operator wrote it, beside the date and the prices.
  await page.getByText(kDemoVenue).waitFor();
  await screenshots(t, page, 'events');

  await enterSeats(page, t, kDemoEvent);
  await page.getByRole('checkbox', { name: 'F1-A-1', exact: true }).waitFor();
  await screenshots(t, page, 'seats');
  // The map is read again while the fan looks; unchanged, it costs a 304.
  await page.waitForResponse((r) => r.url().includes('/seats?section=') && r.status() === 304);

  await page.getByLabel('Quantity').selectOption('2');
  await page.getByRole('button', { name: 'Find seats' }).click();
  await page.waitForURL(/\/checkout\?hold=/);
  await page.getByRole('timer').waitFor();
  await screenshots(t, page, 'checkout');

  await pay(page, 'tok_visa');
  await page.waitForURL(/\/orders\//);
  await page.getByRole('heading', { name: 'Your tickets' }).waitFor();
  const qr_codes = page.getByRole('img', { name: /QR code/ });
  await qr_codes.first().waitFor();
  check((await qr_codes.count()) === 2, `expected 2 QR codes, found ${await qr_codes.count()}`);
  for (const qr of await qr_codes.all()) {
    const name = await qr.getAttribute('alt');
    check(kSeatId.test(name ?? ''), `the QR code's name "${name}" holds no seat id`);
    // The image must have been drawn, not just be there: a blob that is not an SVG would not be.
    await qr.evaluate((img) => img.decode());
    check((await qr.evaluate((img) => img.naturalWidth)) > 0, `the QR code "${name}" is empty`);
  }
  await screenshots(t, page, 'tickets');
});
