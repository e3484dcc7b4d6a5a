import react from '@vitejs/plugin-react';
import { fileURLToPath } from 'node:url';
import { defineConfig } from 'vite';

// The web UI of the embedded store (docs/adr/0007-web-ui.md). `npm run build:ui` writes it to
// dist/ui, which the exporter process serves at `/` (libs/pipeline/web-ui). `npx vite --config
// ui/vite.config.ts` serves it with hot reload, proxying the APIs to EMBER_UI_API (default: a
// local Emberflow on :9529) or to any Pyroscope.
const api = process.env.EMBER_UI_API ?? 'http://127.0.0.1:9529';

export default defineConfig({
  root: fileURLToPath(new URL('.', import.meta.url)),
  base: './',
  plugins: [react()],
  build: {
    outDir: fileURLToPath(new URL('../dist/ui', import.meta.url)),
    emptyOutDir: true,
    sourcemap: true,
    target: 'es2022',
    chunkSizeWarningLimit: 1024,
  },
  server: {
    proxy: {
      '/querier.v1.QuerierService': api,
      '/api/v1': api,
    },
  },
});
