// Two fans race for the same seat: one holds it, the other is shown the seats the server offers
// instead and can hold those.

import { check, enterSeats, runTest, screenshots, smallEvent } from './harness.mjs';

const kEvent = 'Front Row Duel';
const kSeat = { name: '101-A-5', exact: true };

await runTest('seat_race', async (t) => {
  await t.api.createEvent(smallEvent({ name: kEvent, seats: 12 }));
  const fans = [await t.newFan(), await t.newFan()];
  for (const page of fans) {
    await enterSeats(page, t, kEvent);
    await page.getByRole('checkbox', kSeat).click();
    await page.getByRole('checkbox', { ...kSeat, checked: true }).waitFor();
  }

  // Both press Hold seats at once; the server decides who was first.
  await Promise.all(fans.map((page) => page.getByRole('button', { name: 'Hold seats' }).click()));
  const outcome = await Promise.all(
    fans.map((page) =>
      Promise.race([
        page.waitForURL(/\/checkout\?hold=/).then(() => 'won'),
        page
          .getByRole('alert')
          .filter({ hasText: 'Those seats are gone' })
          .waitFor()
          .then(() => 'lost'),
      ]),
    ),
  );
  check(outcome.includes('won') && outcome.includes('lost'), `expected one winner: ${outcome}`);

  const loser = fans[outcome.indexOf('lost')];
  const alert = loser.getByRole('alert');
  check(/101-A-5/.test(await alert.innerText()), 'the alert does not name the seat that was lost');
  await alert.getByRole('listitem').first().waitFor();
  await screenshots(t, loser, 'alternatives');
  await loser.getByRole('button', { name: 'Hold the offered seats' }).click();
  await loser.waitForURL(/\/checkout\?hold=/);
  await loser.getByRole('timer').waitFor();
});
