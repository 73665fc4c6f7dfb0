import { resolve } from 'node:path';
import react from '@vitejs/plugin-react';
import { defineConfig } from 'electron-vite';

export default defineConfig({
  main: {
    build: {
      outDir: 'out/main',
      rollupOptions: {
        input: {
          // Electron's main process (app mode) and the browser-mode server share one bundle graph.
          index: resolve(__dirname, 'main/electron/index.ts'),
          serve: resolve(__dirname, 'main/serve.ts'),
          helper: resolve(__dirname, 'main/helper/main.ts'),
          // Report verification in worker threads (main/swarm/verify-pool.ts loads it beside app.ts's bundle).
          'verify-worker': resolve(__dirname, 'main/swarm/verify-worker.ts'),
          // The swarm's replay state is committed on this thread (main/swarm/replay-writer.ts).
          'replay-writer-worker': resolve(__dirname, 'main/swarm/replay-writer-worker.ts'),
          // The embedded MQTT broker's thread (main/mqtt/broker.ts finds it beside the bundle).
          'broker-worker': resolve(__dirname, 'main/mqtt/broker-worker.ts'),
          // `npx omnisight …` uses out/main/cli.js when built (scripts/omnisight.mjs), tsx otherwise.
          cli: resolve(__dirname, 'scripts/omnisight.ts'),
        },
        // A lazy import('sharp') becomes a lazy require: Electron's CommonJS loader reads packages
        // inside app.asar (and their unpacked .node files) on every version.
        output: { dynamicImportInCjs: false },
      },
    },
  },
  preload: {
    build: {
      outDir: 'out/preload',
      // A sandboxed preload cannot require node_modules: bundle zod and the contract into it.
      externalizeDeps: false,
      rollupOptions: { input: { index: resolve(__dirname, 'preload/index.ts') } },
    },
  },
  renderer: {
    root: resolve(__dirname, 'renderer'),
    base: './',
    plugins: [react()],
    build: {
      outDir: resolve(__dirname, 'out/renderer'),
      // electron-vite leaves the renderer unminified by default; start-up parse time matters.
      minify: true,
      rollupOptions: { input: resolve(__dirname, 'renderer/index.html') },
    },
  },
});
