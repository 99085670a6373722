// Builds the console (server/web) into server/dist/web, which the server
// serves at "/". `npm run dev:web` serves it with hot reload and forwards the
// API to a server on 127.0.0.1:8080 (`npm start`).
import { defineConfig } from "vite";

export default defineConfig({
  base: "/",
  build: {
    outDir: "../dist/web",
    emptyOutDir: true,
    target: "es2022",
    sourcemap: true,
    // Nothing inlined as data: URLs; the page's CSP allows only its own files.
    assetsInlineLimit: 0,
  },
  server: {
    proxy: { "/grepstreams.v1.GrepService": "http://127.0.0.1:8080" },
  },
});
