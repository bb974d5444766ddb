/**
 * The widget's settings, read from its own script tag:
 * `<script src="https://HOST/widget.js" data-key="..." data-kb="..."></script>`.
 *
 * - `data-key` (required): a widget API key with the `chat` scope.
 * - `data-kb` (optional): comma-separated knowledge base ids (default: every kb of the key).
 * - `data-title` (optional): the panel's heading.
 * - `data-api` (optional): the gateway's origin (default: where `widget.js` was loaded from).
 */

/** Everything the widget needs to talk to the gateway and label itself. */
export interface WidgetConfig {
  apiKey: string;
  kbIds: string[];
  apiBase: string;
  title: string;
}

export const DEFAULT_TITLE = "Ask us anything";

/** The settings of `script`, or an error message saying what is missing. */
export function readScriptConfig(script: HTMLScriptElement | null): WidgetConfig | string {
  if (script === null) return "ragchat widget: cannot find its own <script> tag";
  const apiKey = script.dataset.key?.trim() ?? "";
  if (apiKey === "") return 'ragchat widget: the <script> tag needs data-key="<widget API key>"';
  const kbIds = (script.dataset.kb ?? "")
    .split(",")
    .map((id) => id.trim())
    .filter((id) => id !== "");
  let apiBase: string;
  try {
    apiBase = new URL(script.dataset.api ?? script.src).origin;
  } catch {
    return "ragchat widget: data-api (or the script's src) is not a URL";
  }
  const title = script.dataset.title?.trim() || DEFAULT_TITLE;
  return { apiKey, kbIds, apiBase, title };
}
