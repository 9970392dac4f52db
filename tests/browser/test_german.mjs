// A browser asking for German gets the German strings; the visible switch changes the language
// and the choice outlasts a reload.

import { check, runTest, screenshots } from './harness.mjs';

const kDemoEvent = 'boxoffice Demo Arena: Opening Night';

await runTest('german', async (t) => {
  const page = await t.newFan({ locale: 'de-DE' });
  await page.goto(t.server.url + '/');
  await page.getByRole('heading', { level: 1, name: 'Kommende Veranstaltungen' }).waitFor();
  check(
    (await page.locator('html').getAttribute('lang')) === 'de',
    'the document is not marked German',
  );
  await page.getByText('Tickets verfügbar').waitFor();
  await screenshots(t, page, 'events');

  await page.getByRole('link', { name: kDemoEvent }).click();
  await page.getByRole('link', { name: 'Tickets kaufen' }).waitFor();
  await screenshots(t, page, 'event');

  await page.getByLabel('Sprache').selectOption('en');
  await page.getByRole('link', { name: 'Get tickets' }).waitFor();
  await page.reload();
  await page.getByRole('link', { name: 'Get tickets' }).waitFor();
});
