import { defineConfig, defaultClientConditions } from 'vite';
import react from '@vitejs/plugin-react';

// `npm run build:web` runs `vite build apps/web`: this directory is the root; the output lands in
// packages/server/web, which the Parley server serves at `/` (with an SPA fallback for
// /room/<name>) and which ships inside the server's npm package.
// Workspace packages resolve to their TypeScript sources through the `@parley-rtc/source` export
// condition, so the app never needs the SDK built first.
const backend = process.env['PARLEY_DEV_BACKEND'] ?? 'http://127.0.0.1:8080';

export default defineConfig({
  plugins: [react()],
  resolve: { conditions: ['@parley-rtc/source', ...defaultClientConditions] },
  build: { outDir: '../../packages/server/web', emptyOutDir: true, target: 'es2022', sourcemap: true },
  server: {
    proxy: {
      '/socket.io': { target: backend, ws: true, changeOrigin: true },
      '/api': { target: backend, changeOrigin: true },
    },
  },
});
