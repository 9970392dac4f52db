import { defineConfig } from 'vite';
import preact from '@preact/preset-vite';

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
  plugins: [preact()],
  build: {
    target: 'es2022',
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
