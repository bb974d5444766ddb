/**
 * Entry point of `widget.js`: reads its own script tag and mounts the chat bubble once the page's
 * body exists. Loaded with `<script src="https://HOST/widget.js" data-key="..." data-kb="...">`.
 */
import { readScriptConfig } from "./config";
import { mountWidget } from "./widget";

// Only readable while this script runs for the first time, so it is taken before any await.
const script = document.currentScript as HTMLScriptElement | null;
const config = readScriptConfig(script);

/** The tab's sessionStorage, or a memory-only stand-in where the page may not use it. */
function sessionStore(): Storage {
  try {
    return window.sessionStorage;
  } catch {
    // Sandboxed frames and some privacy modes throw on access: keep the conversation in memory.
    const items = new Map<string, string>();
    return {
      get length() {
        return items.size;
      },
      clear: () => items.clear(),
      getItem: (key) => items.get(key) ?? null,
      key: (index) => [...items.keys()][index] ?? null,
      removeItem: (key) => void items.delete(key),
      setItem: (key, value) => void items.set(key, value),
    };
  }
}

function start(): void {
  if (typeof config === "string") {
    console.error(config);
    return;
  }
  mountWidget(config, {
    fetch: window.fetch.bind(window),
    storage: sessionStore(),
    document,
  });
}

if (document.readyState === "loading") document.addEventListener("DOMContentLoaded", start);
else start();
