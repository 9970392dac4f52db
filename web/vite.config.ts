import { mkdirSync, writeFileSync } from 'node:fs';
import { dirname } from 'node:path';
import { fileURLToPath } from 'node:url';
import { defineConfig, type Plugin } from 'vite';
import preact from '@preact/preset-vite';

const web_dir = dirname(fileURLToPath(import.meta.url));

// Where the build leaves its chunk graph for scripts/size-check.mjs: outside dist/, which the
// server serves whole.
const chunk_graph_path = `${web_dir}/node_modules/.boxoffice/chunks.json`;

// Writes every emitted script's static and dynamic imports, so the size check can add up what
// each document (the fan page, the console) may load, and budget them apart.
function chunkGraph(): Plugin {
  return {
    name: 'boxoffice-chunk-graph',
    apply: 'build',
    generateBundle(_options, bundle) {
      const graph: Record<string, { imports: string[]; dynamic: string[] }> = {};
      for (const output of Object.values(bundle)) {
        if (output.type !== 'chunk') continue;
        graph[output.fileName] = { imports: output.imports, dynamic: output.dynamicImports };
      }
      mkdirSync(dirname(chunk_graph_path), { recursive: true });
      writeFileSync(chunk_graph_path, JSON.stringify(graph, null, 1));
    },
  };
}

// Where `npm run dev` and `npm run preview` send API calls: a `boxoffice serve` started by hand.
const api_origin = process.env.BOXOFFICE_URL ?? 'http://127.0.0.1:8080';

// The policy `boxoffice serve` sends with every page. `vite preview` sends it too, so a build that
// would break under it (an inline script or style, a request to another origin) shows up before
// it reaches the server. The dev server does not: its hot reloading injects inline scripts.
const content_security_policy = [
  "default-src 'self'",
  "script-src 'self'",
  "style-src 'self'",
  "img-src 'self' data: blob:",
  "connect-src 'self'",
  "worker-src 'self' blob:",
  "font-src 'self'",
  "object-src 'none'",
  "base-uri 'none'",
  "form-action 'self'",
  "frame-ancestors 'none'",
].join('; ');

export default defineConfig({
  base: '/',
  plugins: [preact(), chunkGraph()],
  build: {
    target: 'es2022',
    // Two documents: the fan's pages and the operator's console (with the door scanner).
    rollupOptions: {
      input: { fan: `${web_dir}/index.html`, console: `${web_dir}/console.html` },
    },
    // Every browser that runs this bundle supports modulepreload; the polyfill would only add bytes.
    modulePreload: { polyfill: false },
    assetsInlineLimit: 0,
  },
  server: { proxy: { '/v1': api_origin } },
  preview: {
    proxy: { '/v1': api_origin },
    headers: { 'Content-Security-Policy': content_security_policy },
  },
});
