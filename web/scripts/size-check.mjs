// Prints the compressed size of every JavaScript asset of the build and fails when a document
// ships more than its budget. A document's path is every script it may load: its entry, what
// the entry imports, and the chunks loaded on demand (for the fan, the ALTCHA widget and its
// worker when a challenge comes), so the budget holds for the heaviest visit. The fan page and
// the operator's console are budgeted apart: a fan never loads the console's charts. Sizes are
// those of the .gz and .br files `compress.mjs` wrote, i.e. what the server sends; budgets apply
// to gzip, the larger of the two, since not every client takes brotli.

import { readdir, readFile, stat } from 'node:fs/promises';
import { join } from 'node:path';

const kDistDir = new URL('../dist/', import.meta.url).pathname;
const kAssetsDir = join(kDistDir, 'assets');
// Written by vite.config.ts's chunkGraph plugin: each script's static and dynamic imports.
const kChunkGraph = new URL('../node_modules/.boxoffice/chunks.json', import.meta.url).pathname;
const kDocuments = [
  { name: 'fan path', html: 'index.html', budget_bytes: 100 * 1000 },
  { name: 'console', html: 'console.html', budget_bytes: 200 * 1000 },
];

async function size(path) {
  try {
    return (await stat(path)).size;
  } catch {
    console.error(`size-check: ${path} is missing; run scripts/compress.mjs after vite build`);
    process.exit(1);
  }
}

const graph = JSON.parse(await readFile(kChunkGraph, 'utf8'));
const sizes = new Map();
for (const name of (await readdir(kAssetsDir)).filter((file) => file.endsWith('.js')).sort()) {
  const path = join(kAssetsDir, name);
  sizes.set(`assets/${name}`, {
    raw: await size(path),
    gzip: await size(`${path}.gz`),
    brotli: await size(`${path}.br`),
  });
}

// Every script a document may load: its entries and all they import, now or on demand. Workers
// are emitted as assets, not chunks; a chunk's `new Worker(new URL(...))` does not show in its
// imports, so each worker is counted with every document whose scripts name it.
async function scriptsOf(html_file) {
  const html = await readFile(join(kDistDir, html_file), 'utf8');
  const pending = [...html.matchAll(/<script[^>]*src="\/(assets\/[^"]+\.js)"/g)].map((m) => m[1]);
  const entries = new Set(pending);
  // What every page loads: the entries and their static imports, all of them.
  const every_page = new Set();
  for (const stack = [...entries]; stack.length > 0; ) {
    const file = stack.pop();
    if (every_page.has(file)) continue;
    every_page.add(file);
    stack.push(...(graph[file]?.imports ?? []));
  }
  const seen = new Set();
  while (pending.length > 0) {
    const file = pending.pop();
    if (seen.has(file)) continue;
    seen.add(file);
    const node = graph[file];
    if (node) pending.push(...node.imports, ...node.dynamic);
  }
  // A chunk of only CSS is in the graph but removed from the output: nothing to count.
  for (const file of [...seen]) if (!sizes.has(file)) seen.delete(file);
  for (const file of [...seen]) {
    const text = await readFile(join(kDistDir, file), 'utf8');
    for (const name of sizes.keys()) {
      if (!seen.has(name) && !graph[name] && text.includes(name.slice('assets/'.length))) {
        seen.add(name);
      }
    }
  }
  return { entries, every_page, scripts: [...seen].sort() };
}

const kb = (bytes) => `${(bytes / 1000).toFixed(1)} kB`.padStart(9);
const row = (label, s) => `${label.padEnd(40)}${kb(s.raw)}${kb(s.gzip)}${kb(s.brotli)}`;
const total = (files) =>
  files.reduce(
    (sum, file) => {
      const s = sizes.get(file) ?? { raw: 0, gzip: 0, brotli: 0 };
      return { raw: sum.raw + s.raw, gzip: sum.gzip + s.gzip, brotli: sum.brotli + s.brotli };
    },
    { raw: 0, gzip: 0, brotli: 0 },
  );

let failed = false;
for (const document of kDocuments) {
  const { entries, every_page, scripts } = await scriptsOf(document.html);
  console.log(`${document.html.padEnd(40)}${'raw'.padStart(9)}${'gzip'.padStart(9)}${'brotli'.padStart(9)}`);
  for (const file of scripts) {
    console.log(row(`  ${file}${entries.has(file) ? ' (entry)' : ''}`, sizes.get(file)));
  }
  console.log(row('  every page (entries and their imports)', total([...every_page])));
  const whole = total(scripts);
  console.log(row(`  ${document.name}, whole`, whole));
  if (whole.gzip > document.budget_bytes) {
    console.error(
      `size-check: FAIL: the ${document.name} ships ${kb(whole.gzip).trim()} of gzipped JavaScript, over its budget of ${kb(document.budget_bytes).trim()}`,
    );
    failed = true;
  } else {
    console.log(
      `size-check: ok, the ${document.name}: ${kb(whole.gzip).trim()} gzipped of a ${kb(document.budget_bytes).trim()} budget`,
    );
  }
}
if (failed) process.exit(1);
