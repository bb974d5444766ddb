/**
 * The widget's stylesheet. It lives inside the shadow root, so the host page's CSS cannot reach
 * the widget and this CSS cannot reach the page; `:host { all: initial }` also stops inherited
 * properties (font, colour, line height) from leaking in.
 */
export const WIDGET_CSS = `
:host {
  all: initial;
  --rc-accent: #2563eb;
  --rc-accent-text: #ffffff;
  --rc-bg: #ffffff;
  --rc-fg: #111827;
  --rc-muted: #6b7280;
  --rc-border: #e5e7eb;
  --rc-user-bg: #eff6ff;
  --rc-bot-bg: #f9fafb;
  --rc-error: #b91c1c;
  font-family: system-ui, -apple-system, "Segoe UI", Roboto, sans-serif;
  font-size: 14px;
  line-height: 1.45;
  color: var(--rc-fg);
}
@media (prefers-color-scheme: dark) {
  :host {
    --rc-accent: #60a5fa;
    --rc-accent-text: #0b1220;
    --rc-bg: #111827;
    --rc-fg: #f3f4f6;
    --rc-muted: #9ca3af;
    --rc-border: #374151;
    --rc-user-bg: #1e3a8a;
    --rc-bot-bg: #1f2937;
    --rc-error: #fca5a5;
  }
}
*, *::before, *::after { box-sizing: border-box; }
[hidden] { display: none !important; }
button, textarea { font: inherit; color: inherit; }
:focus-visible { outline: 3px solid var(--rc-accent); outline-offset: 2px; }
.bubble {
  position: fixed; right: 20px; bottom: 20px; z-index: 2147483646;
  width: 56px; height: 56px; border-radius: 50%; border: none; cursor: pointer;
  background: var(--rc-accent); color: var(--rc-accent-text);
  box-shadow: 0 6px 20px rgba(0, 0, 0, 0.25);
  display: flex; align-items: center; justify-content: center;
}
.bubble svg { width: 28px; height: 28px; fill: currentColor; }
.panel {
  position: fixed; right: 20px; bottom: 88px; z-index: 2147483647;
  width: min(380px, calc(100vw - 24px)); height: min(560px, calc(100vh - 110px));
  display: flex; flex-direction: column;
  background: var(--rc-bg); color: var(--rc-fg);
  border: 1px solid var(--rc-border); border-radius: 12px;
  box-shadow: 0 12px 40px rgba(0, 0, 0, 0.25); overflow: hidden;
}
@media (max-width: 480px) {
  .panel { right: 12px; bottom: 80px; }
  .bubble { right: 12px; bottom: 12px; }
}
header {
  display: flex; align-items: center; gap: 8px; padding: 10px 12px;
  background: var(--rc-accent); color: var(--rc-accent-text);
}
header h2 { flex: 1; margin: 0; font-size: 15px; font-weight: 600; }
header button {
  background: transparent; border: 1px solid currentColor; border-radius: 6px;
  padding: 2px 8px; cursor: pointer; color: inherit;
}
.log { flex: 1; overflow-y: auto; padding: 12px; display: flex; flex-direction: column; gap: 10px; }
.empty { color: var(--rc-muted); margin: auto 0; text-align: center; }
.message { padding: 8px 10px; border-radius: 10px; max-width: 92%; white-space: pre-wrap; word-wrap: break-word; }
.message.user { align-self: flex-end; background: var(--rc-user-bg); }
.message.assistant { align-self: flex-start; background: var(--rc-bot-bg); border: 1px solid var(--rc-border); }
.message.error { color: var(--rc-error); }
.message p { margin: 0; }
.marker { font-size: 11px; vertical-align: super; color: var(--rc-accent); text-decoration: none; }
.sources { margin: 8px 0 0; padding: 6px 0 0; border-top: 1px solid var(--rc-border); list-style: none; font-size: 12px; }
.sources li { margin: 2px 0; }
.sources a { color: var(--rc-accent); }
.status { min-height: 1.2em; margin: 0; padding: 0 12px; color: var(--rc-muted); font-size: 12px; }
form { display: flex; gap: 8px; padding: 10px 12px; border-top: 1px solid var(--rc-border); align-items: flex-end; }
.field { flex: 1; display: flex; flex-direction: column; gap: 2px; }
label { font-size: 12px; color: var(--rc-muted); }
textarea {
  resize: none; width: 100%; padding: 6px 8px; border-radius: 8px;
  border: 1px solid var(--rc-border); background: var(--rc-bg);
}
.send {
  padding: 7px 14px; border-radius: 8px; border: none; cursor: pointer;
  background: var(--rc-accent); color: var(--rc-accent-text); font-weight: 600;
}
`;
