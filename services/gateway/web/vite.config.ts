/// <reference types="vitest/config" />
// Vite builds the staff web app into dist/, which the gateway serves at "/".
// In development (`npm run dev`) /api and /ws are proxied to a local gateway.
import { defineConfig } from "vite";
import react from "@vitejs/plugin-react";
import tailwindcss from "@tailwindcss/vite";

const gateway = process.env.RAGCHAT_GATEWAY_URL ?? "http://127.0.0.1:8080";

export default defineConfig({
  plugins: [react(), tailwindcss()],
  server: {
    proxy: {
      "/api": gateway,
      "/ws": { target: gateway.replace(/^http/, "ws"), ws: true },
    },
  },
  build: {
    outDir: "dist",
    emptyOutDir: true,
    sourcemap: false,
    rollupOptions: {
      output: {
        // Charts are only needed on the analytics screen; keep them (and markdown) in their own
        // chunks so the first load stays small.
        manualChunks: {
          react: ["react", "react-dom", "react-router"],
        },
      },
    },
  },
  test: {
    environment: "jsdom",
    globals: false,
    setupFiles: ["./src/test/setup.ts"],
    css: false,
    include: ["src/**/*.test.{ts,tsx}"],
    // The shared 2-core CI box can be slow: generous limits, since no test asserts timing.
    testTimeout: 30_000,
  },
});
