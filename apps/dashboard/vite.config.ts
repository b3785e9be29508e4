import tailwindcss from '@tailwindcss/vite';
import { defineConfig } from 'vite';
import solid from 'vite-plugin-solid';

// The dev server proxies everything that is not the dashboard to a running Marquee (MARQUEE_URL).
const target = process.env.MARQUEE_URL ?? 'http://127.0.0.1:8080';
const proxied = ['/api', '/v1', '/t', '/assets', '/health', '/ready', '/metrics', '/demo', '/marquee.js'];

export default defineConfig({
  plugins: [solid(), tailwindcss()],
  build: {
    // Not "assets": Marquee serves uploaded creative files at /assets.
    assetsDir: 'ui',
    target: 'es2022',
    // A chart library chunk is loaded by the report screens only; keep the warning meaningful for the rest.
    chunkSizeWarningLimit: 700,
  },
  server: {
    port: Number(process.env.DASHBOARD_PORT ?? 5173),
    proxy: Object.fromEntries(proxied.map((p) => [p, { target, changeOrigin: false }])),
  },
});
