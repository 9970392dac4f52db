// Writes a .gz and a .br sibling next to every text asset of the build, which `boxoffice serve`
// sends instead of the file when the client accepts that encoding. Run after `vite build`.

import { readdir, readFile, writeFile } from 'node:fs/promises';
import { join, extname } from 'node:path';
import { brotliCompressSync, constants, gzipSync } from 'node:zlib';

const kDistDir = new URL('../dist/', import.meta.url).pathname;
const kTextExtensions = new Set(['.js', '.css', '.html', '.svg', '.json']);

async function* files(dir) {
  for (const entry of await readdir(dir, { withFileTypes: true })) {
    const path = join(dir, entry.name);
    if (entry.isDirectory()) yield* files(path);
    else yield path;
  }
}

let count = 0;
for await (const path of files(kDistDir)) {
  if (!kTextExtensions.has(extname(path))) continue;
  const content = await readFile(path);
  // Highest settings: this runs once per build and the files are served many times.
  await writeFile(`${path}.gz`, gzipSync(content, { level: 9 }));
  await writeFile(
    `${path}.br`,
    brotliCompressSync(content, {
      params: {
        [constants.BROTLI_PARAM_MODE]: constants.BROTLI_MODE_TEXT,
        [constants.BROTLI_PARAM_QUALITY]: constants.BROTLI_MAX_QUALITY,
        [constants.BROTLI_PARAM_SIZE_HINT]: content.length,
      },
    }),
  );
  ++count;
}
console.log(`compress: wrote .gz and .br next to ${count} text assets in dist/`);
