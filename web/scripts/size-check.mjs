// Prints the compressed size of every JavaScript asset of the build and fails when the fan path
// ships more than the budget. The fan path is every script a fan may load: the entry on every
// page, plus the chunks loaded on demand (the ALTCHA widget and its worker when a challenge
// comes), so the budget holds for the heaviest visit. Sizes are those of the .gz and .br files
// `compress.mjs` wrote, i.e. what the server sends; the budget applies to gzip, the larger of the
// two, since not every client takes brotli.

import { readdir, readFile, stat } from 'node:fs/promises';
import { join } from 'node:path';

const kBudgetBytes = 100 * 1000;
const kDistDir = new URL('../dist/', import.meta.url).pathname;
const kAssetsDir = join(kDistDir, 'assets');

async function size(path) {
  try {
    return (await stat(path)).size;
  } catch {
    console.error(`size-check: ${path} is missing; run scripts/compress.mjs after vite build`);
    process.exit(1);
  }
}

const html = await readFile(join(kDistDir, 'index.html'), 'utf8');
const entries = new Set(
  [...html.matchAll(/<script[^>]*src="\/assets\/([^"]+\.js)"/g)].map((m) => m[1]),
);

const rows = [];
for (const name of (await readdir(kAssetsDir)).filter((file) => file.endsWith('.js')).sort()) {
  const path = join(kAssetsDir, name);
  rows.push({
    name,
    entry: entries.has(name),
    raw: await size(path),
    gzip: await size(`${path}.gz`),
    brotli: await size(`${path}.br`),
  });
}

const kb = (bytes) => `${(bytes / 1000).toFixed(1)} kB`.padStart(9);
console.log(
  `${'asset'.padEnd(32)}${'raw'.padStart(9)}${'gzip'.padStart(9)}${'brotli'.padStart(9)}`,
);
for (const row of rows) {
  const label = `${row.name}${row.entry ? ' (entry)' : ''}`;
  console.log(`${label.padEnd(32)}${kb(row.raw)}${kb(row.gzip)}${kb(row.brotli)}`);
}
const sum = (key, filter = () => true) =>
  rows.filter(filter).reduce((total, row) => total + row[key], 0);
console.log(
  `${'every page (entry)'.padEnd(32)}${kb(sum('raw', (r) => r.entry))}${kb(sum('gzip', (r) => r.entry))}${kb(sum('brotli', (r) => r.entry))}`,
);
const total_gzip = sum('gzip');
console.log(`${'whole fan path'.padEnd(32)}${kb(sum('raw'))}${kb(total_gzip)}${kb(sum('brotli'))}`);

if (total_gzip > kBudgetBytes) {
  console.error(
    `size-check: FAIL: the fan path ships ${kb(total_gzip).trim()} of gzipped JavaScript, over the budget of ${kb(kBudgetBytes).trim()}`,
  );
  process.exit(1);
}
console.log(
  `size-check: ok, ${kb(total_gzip).trim()} gzipped of a ${kb(kBudgetBytes).trim()} budget`,
);
