// axe-core finds no serious or critical violation on any page: events, event, waiting room,
// seats (also with a conflict shown), checkout (also after a decline), tickets, not found; and
// the console's sign-in, events, dashboard (with its pause dialog open) and door scanner.
//
// This test alone runs its context with bypassCSP: axe is injected as a script the page did not
// ship, which the page's own policy rightly refuses. Every other test keeps the policy on.

import { audit, check, enterSeats, pay, runTest, smallEvent } from './harness.mjs';

const kDemoEvent = 'boxoffice Demo Arena: Opening Night';

await runTest('axe', async (t) => {
  const failures = [];
  const paused = await t.api.createEvent(
    smallEvent({
      name: 'Paused Matinee',
      queue: { enabled: true, paused: true },
    }),
  );
  const page = await t.newFan({ bypassCSP: true });

  await page.goto(t.server.url + '/');
  await page.getByRole('link', { name: kDemoEvent }).waitFor();
  await page.getByText('Tickets available').first().waitFor();
  await audit(page, 'events', failures);

  await page.getByRole('link', { name: 'Paused Matinee' }).click();
  await page.getByRole('heading', { level: 1, name: 'Paused Matinee' }).waitFor();
  await audit(page, 'event', failures);

  await page.getByRole('link', { name: 'Get tickets' }).click();
  await page.getByRole('status').filter({ hasText: /\d/ }).waitFor();
  await page.getByText('The sale is paused').waitFor();
  await audit(page, 'waiting room', failures);

  await enterSeats(page, t, kDemoEvent);
  await page.getByRole('checkbox', { name: 'F1-A-1', exact: true }).waitFor();
  await audit(page, 'seats', failures);
  await page.getByRole('checkbox', { name: 'F1-A-1', exact: true }).click();
  await page.getByRole('checkbox', { name: 'F1-A-2', exact: true }).click();
  await audit(page, 'seats with picks', failures);

  await page.getByRole('button', { name: 'Hold seats' }).click();
  await page.waitForURL(/\/checkout\?hold=/);
  await page.getByRole('timer').waitFor();
  await audit(page, 'checkout', failures);
  await pay(page, 'tok_declined');
  await page.getByRole('alert').waitFor();
  await audit(page, 'checkout after a decline', failures);

  await page.getByLabel('Test card').selectOption('tok_visa');
  await page.getByRole('button', { name: 'Pay' }).click();
  await page.getByRole('heading', { name: 'Your tickets' }).waitFor();
  await page
    .getByRole('img', { name: /QR code/ })
    .first()
    .waitFor();
  await audit(page, 'tickets', failures);

  await page.goto(t.server.url + '/orders/ord_nobody');
  await page.getByRole('alert').waitFor();
  await audit(page, 'unknown order', failures);

  // The console, signed in, on the event the fan just bought at: charts and figures are there.
  await page.goto(t.server.url + '/console');
  await page.getByLabel('Operator key').waitFor();
  await audit(page, 'console sign-in', failures);
  await page.getByLabel('Operator key').fill(t.server.admin_key);
  await page.getByRole('button', { name: 'Sign in' }).click();
  await page.getByRole('link', { name: 'Paused Matinee' }).waitFor();
  await audit(page, 'console events', failures);
  await page.getByRole('link', { name: kDemoEvent }).click();
  await page.getByRole('img', { name: /^Seats, last hour/ }).waitFor();
  await page.getByText('Revenue').waitFor();
  await audit(page, 'console dashboard', failures);
  await page.getByRole('button', { name: 'Pause' }).click();
  await page.getByRole('dialog').waitFor();
  await audit(page, 'console pause dialog', failures);
  await page.getByRole('button', { name: 'Cancel' }).click();
  await page.goto(t.server.url + '/scan');
  await page.getByRole('link', { name: kDemoEvent }).click();
  await page.getByLabel('Ticket code').fill('not-a-ticket');
  await page.getByRole('button', { name: 'Check in' }).click();
  await page.getByRole('status').filter({ hasText: 'Invalid' }).waitFor();
  await audit(page, 'door scanner', failures);

  check(
    failures.length === 0,
    `axe found serious or critical violations:\n  ${failures.join('\n  ')}`,
  );
});
