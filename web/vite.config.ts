import { defineConfig } from "vite";

// The build goes where the store serves it (neptune_sync_store/static) and is committed, so
// `pip install` needs no Node. No source maps, no inlined assets: same sources, same bytes.
export default defineConfig({
  base: "/",
  build: {
    outDir: "../neptune_sync_store/static",
    emptyOutDir: true,
    assetsDir: "assets",
    sourcemap: false,
    assetsInlineLimit: 0,
    modulePreload: { polyfill: false },
    target: "es2020",
  },
});
