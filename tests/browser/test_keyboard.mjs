// A fan buys by keyboard alone: links and buttons by Enter, seats on the map by the arrow keys
// (one tab stop, roving focus) and Space, the checkout form submitted by Enter. Then, on an event
// with a short hold, the hold's last minute is announced and its end is told.

import { check, enterSeats, kAdmission_ms, kStep_ms, runTest, smallEvent } from './harness.mjs';

const kDemoEvent = 'boxoffice Demo Arena: Opening Night';
const kShortHold = 'Quick Hold Evening';

async function isFocused(locator) {
  return locator.evaluate((element) => element === document.activeElement);
}

await runTest('keyboard', async (t) => {
  const page = await t.newFan();
  await page.goto(t.server.url + '/');
  await page.getByRole('link', { name: kDemoEvent }).focus();
  await page.keyboard.press('Enter');
  await page.getByRole('link', { name: 'Get tickets' }).focus();
  await page.keyboard.press('Enter');
  await page.waitForURL(/\/seats$/, { timeout: kAdmission_ms });

  const seat = (id) => page.getByRole('checkbox', { name: id, exact: true });
  await seat('F1-A-1').focus();
  await page.keyboard.press('ArrowRight');
  await page.keyboard.press('ArrowDown');
  check(await isFocused(seat('F1-B-2')), 'ArrowRight, ArrowDown from F1-A-1 did not reach F1-B-2');
  // Roving tabindex: the tab stop went along, so the map stays one stop in the tab order.
  await seat('F1-B-2').and(page.locator('[tabindex="0"]')).waitFor();
  await seat('F1-A-1').and(page.locator('[tabindex="-1"]')).waitFor();
  await page.keyboard.press('Space');
  await page.keyboard.press('ArrowRight');
  await page.keyboard.press('Space');
  await page.getByRole('checkbox', { name: 'F1-B-2', exact: true, checked: true }).waitFor();
  await page.getByRole('checkbox', { name: 'F1-B-3', exact: true, checked: true }).waitFor();

  await page.getByRole('button', { name: 'Hold seats' }).focus();
  await page.keyboard.press('Enter');
  await page.waitForURL(/\/checkout\?hold=/);
  await page.getByLabel('Email').focus();
  await page.keyboard.type('keys@example.com');
  await page.keyboard.press('Enter');
  await page.getByRole('heading', { name: 'Your tickets' }).waitFor();
  await page.getByRole('img', { name: /F1-B-2/ }).waitFor();
  await page.getByRole('img', { name: /F1-B-3/ }).waitFor();

  // A 30-second hold starts in its last minute: the page says so once, then tells its end.
  await t.api.createEvent(
    smallEvent({ name: kShortHold, hold_ttl_s: 30, queue: { enabled: false } }),
  );
  await enterSeats(page, t, kShortHold);
  await page.getByRole('button', { name: 'Find seats' }).click();
  await page.waitForURL(/\/checkout\?hold=/);
  await page.getByRole('status').filter({ hasText: 'One minute left' }).waitFor();
  await page.getByText('Your hold has expired').waitFor({ timeout: 30_000 + kStep_ms });
});
