import { fileURLToPath } from 'node:url';
import { defineConfig } from 'vite';

// Built ahead of time by `npm run build` into dist/explorer, which `hub serve` serves at `/`.
export default defineConfig({
  root: fileURLToPath(new URL('.', import.meta.url)),
  base: '/',
  // The client's Node fallback (`import('ws')`) is never taken in a browser, which has WebSocket.
  resolve: { alias: { ws: fileURLToPath(new URL('src/no-ws.ts', import.meta.url)) } },
  oxc: { jsx: { runtime: 'automatic', importSource: 'preact' } },
  build: {
    outDir: fileURLToPath(new URL('../dist/explorer', import.meta.url)),
    emptyOutDir: true,
    target: 'es2022',
    // No inline polyfill script: the page's CSP allows only same-origin scripts.
    modulePreload: { polyfill: false },
    reportCompressedSize: false,
  },
  logLevel: 'warn',
});
