import { defineConfig } from "vitest/config";

// jsdom: the widget renders into a shadow root of a real-enough DOM.
export default defineConfig({
  test: {
    environment: "jsdom",
    include: ["src/**/*.test.ts"],
  },
});
