import { defineConfig } from 'vite';
import react from '@vitejs/plugin-react';

// `npm run build:web` runs `vite build apps/web`: this directory is the root, output lands in
// apps/web/dist, which the Parley server serves at `/` (with an SPA fallback for /room/<name>).
const backend = process.env['PARLEY_DEV_BACKEND'] ?? 'http://127.0.0.1:8080';

export default defineConfig({
  plugins: [react()],
  build: { outDir: 'dist', emptyOutDir: true, target: 'es2022', sourcemap: true },
  server: {
    proxy: {
      '/socket.io': { target: backend, ws: true, changeOrigin: true },
      '/api': { target: backend, changeOrigin: true },
    },
  },
});
