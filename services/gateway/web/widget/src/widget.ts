/**
 * The chat bubble and its panel, rendered into a shadow root so the host page's styles and the
 * widget's never meet.
 *
 * Accessibility: the bubble and every control are native buttons, the panel is a labelled dialog,
 * the conversation is a `role="log"` live region, the textarea has a visible label; Enter sends,
 * Shift+Enter adds a line, Escape closes the panel and gives focus back to the bubble.
 * Answer text is only ever set as text (never HTML), and links are made only from http(s) URLs.
 */
import type { WidgetConfig } from "./config";
import { WIDGET_CSS } from "./styles";
import {
  type ChatClient,
  type ChatEvent,
  ChatRequestError,
  type Citation,
  startChat,
} from "./stream";

/** What the widget reaches for outside itself: passed in so tests give fakes. */
export interface WidgetDeps {
  fetch: typeof fetch;
  storage: Storage;
  document: Document;
}

/** A mounted widget. */
export interface WidgetHandle {
  host: HTMLElement;
  root: ShadowRoot;
  open(): void;
  close(): void;
  /** Ask a question as if typed; resolves when the answer has finished streaming. */
  ask(question: string): Promise<void>;
  /** Forget the conversation (the next question starts a new one). */
  reset(): void;
  destroy(): void;
}

interface StoredMessage {
  role: "user" | "assistant";
  text: string;
  citations: Citation[];
  failed?: boolean;
}

/** What survives a page navigation within the tab (sessionStorage). */
interface Transcript {
  conversationId: string | null;
  messages: StoredMessage[];
}

const BUBBLE_ICON =
  '<svg viewBox="0 0 24 24" aria-hidden="true" focusable="false"><path d="M4 3h16a2 2 0 0 1 2 2v11a2 2 0 0 1-2 2H9l-5 4v-4a2 2 0 0 1-2-2V5a2 2 0 0 1 2-2z"/></svg>';

/** The sessionStorage key of a widget's transcript: one per gateway, key and kb selection. */
export function transcriptKey(config: WidgetConfig): string {
  return `ragchat-widget:${config.apiBase}:${config.apiKey.slice(0, 12)}:${config.kbIds.join(",")}`;
}

/** `url` when it is an http(s) URL, else `null` (no `javascript:` links from an answer). */
export function safeHref(url: string): string | null {
  try {
    const parsed = new URL(url);
    return parsed.protocol === "http:" || parsed.protocol === "https:" ? parsed.href : null;
  } catch {
    return null;
  }
}

/** What to tell the visitor when a question fails. */
export function failureText(error: unknown): string {
  if (error instanceof ChatRequestError) {
    if (error.status === 401) return "This chat's key is not valid any more.";
    if (error.status === 403) return "This chat is not available on this website.";
    if (error.status === 429) return "Too many questions at once; please wait a moment.";
    return error.message;
  }
  return "The chat service cannot be reached right now.";
}

function loadTranscript(storage: Storage, key: string): Transcript {
  try {
    const raw = storage.getItem(key);
    if (raw !== null) {
      const parsed = JSON.parse(raw) as Transcript;
      if (Array.isArray(parsed.messages)) return parsed;
    }
  } catch {
    // Storage disabled or unreadable: start empty.
  }
  return { conversationId: null, messages: [] };
}

function saveTranscript(storage: Storage, key: string, transcript: Transcript): void {
  try {
    storage.setItem(key, JSON.stringify(transcript));
  } catch {
    // Storage full or disabled: the conversation simply does not survive a reload.
  }
}

function element<K extends keyof HTMLElementTagNameMap>(
  doc: Document,
  tag: K,
  attributes: Record<string, string> = {},
  text?: string,
): HTMLElementTagNameMap[K] {
  const node = doc.createElement(tag);
  for (const [name, value] of Object.entries(attributes)) node.setAttribute(name, value);
  if (text !== undefined) node.textContent = text;
  return node;
}

function link(doc: Document, citation: Citation, text: string, attributes: Record<string, string>) {
  const href = safeHref(citation.url);
  if (href === null) return element(doc, "span", attributes, text);
  return element(doc, "a", { ...attributes, href, target: "_blank", rel: "noopener noreferrer" }, text);
}

/**
 * A citation marker stands apart, as the chat service writes it: `[2]` after a space, punctuation
 * or the start; `pair[1]` or `x[0][1]` (after a word character, a bracket or a quote) is code.
 */
const CITATION_MARKER = /(?<![\w\])'"`])\[(\d+)\]/;

/** Fill `target` with an answer: its text with `[n]` markers as links, then its numbered sources. */
export function renderAnswer(
  doc: Document,
  target: HTMLElement,
  text: string,
  citations: readonly Citation[],
): void {
  const byNumber = new Map(citations.map((c) => [c.number, c]));
  const paragraph = element(doc, "p");
  // Split keeps the captured number at odd positions: text, number, text, ...
  text.split(CITATION_MARKER).forEach((part, index) => {
    const citation = index % 2 === 1 ? byNumber.get(Number(part)) : undefined;
    if (citation === undefined) {
      paragraph.append(index % 2 === 1 ? `[${part}]` : part);
      return;
    }
    const label = `Source ${citation.number}: ${citation.title || citation.url}`;
    paragraph.append(
      link(doc, citation, `[${citation.number}]`, { class: "marker", "aria-label": label }),
    );
  });
  target.replaceChildren(paragraph);
  if (byNumber.size === 0) return;
  const sources = element(doc, "ol", { class: "sources", "aria-label": "Sources" });
  for (const citation of [...byNumber.values()].sort((a, b) => a.number - b.number)) {
    const item = element(doc, "li");
    const anchor = link(doc, citation, `[${citation.number}] ${citation.title || citation.url}`, {});
    if (citation.snippet) anchor.setAttribute("title", citation.snippet.replace(/<[^>]*>/g, ""));
    item.append(anchor);
    sources.append(item);
  }
  target.append(sources);
}

/** Mount the widget at the end of `deps.document.body`. */
export function mountWidget(config: WidgetConfig, deps: WidgetDeps): WidgetHandle {
  const doc = deps.document;
  const client: ChatClient = {
    fetch: deps.fetch,
    endpoint: `${config.apiBase}/api/v1/chat/stream`,
    apiKey: config.apiKey,
  };
  const storageKey = transcriptKey(config);
  let transcript = loadTranscript(deps.storage, storageKey);
  let running: AbortController | null = null;

  const host = element(doc, "div", { id: "ragchat-widget" });
  const root = host.attachShadow({ mode: "open" });
  const style = element(doc, "style", {}, WIDGET_CSS);
  const bubble = element(doc, "button", {
    type: "button",
    class: "bubble",
    part: "bubble",
    "aria-label": "Open support chat",
    "aria-expanded": "false",
    "aria-controls": "ragchat-panel",
  });
  bubble.innerHTML = BUBBLE_ICON; // a constant icon, never data
  const panel = element(doc, "section", {
    id: "ragchat-panel",
    class: "panel",
    part: "panel",
    role: "dialog",
    "aria-labelledby": "ragchat-title",
  });
  panel.hidden = true;
  const header = element(doc, "header");
  const title = element(doc, "h2", { id: "ragchat-title" }, config.title);
  const newButton = element(doc, "button", { type: "button" }, "New");
  newButton.setAttribute("aria-label", "New conversation");
  const closeButton = element(doc, "button", { type: "button", "aria-label": "Close chat" }, "×");
  header.append(title, newButton, closeButton);
  const log = element(doc, "div", {
    class: "log",
    role: "log",
    "aria-live": "polite",
    "aria-label": "Conversation",
    tabindex: "0",
  });
  const status = element(doc, "p", { class: "status", role: "status" });
  const form = element(doc, "form");
  const field = element(doc, "div", { class: "field" });
  const label = element(doc, "label", { for: "ragchat-question" }, "Your question");
  const input = element(doc, "textarea", {
    id: "ragchat-question",
    rows: "2",
    maxlength: "4000",
    autocomplete: "off",
  });
  const send = element(doc, "button", { type: "submit", class: "send" }, "Send");
  field.append(label, input);
  form.append(field, send);
  panel.append(header, log, status, form);
  root.append(style, bubble, panel);

  function renderMessage(message: StoredMessage): HTMLElement {
    const classes = `message ${message.role}${message.failed ? " error" : ""}`;
    const node = element(doc, "div", { class: classes });
    if (message.role === "assistant") renderAnswer(doc, node, message.text, message.citations);
    else node.append(element(doc, "p", {}, message.text));
    log.append(node);
    log.scrollTop = log.scrollHeight;
    return node;
  }

  function renderTranscript(): void {
    log.replaceChildren();
    if (transcript.messages.length === 0) {
      log.append(element(doc, "p", { class: "empty" }, "Ask a question about this site."));
    }
    transcript.messages.forEach(renderMessage);
  }

  function setBusy(busy: boolean): void {
    log.setAttribute("aria-busy", String(busy));
    send.textContent = busy ? "Stop" : "Send";
    status.textContent = busy ? "Answering…" : "";
  }

  function open(): void {
    panel.hidden = false;
    bubble.setAttribute("aria-expanded", "true");
    bubble.setAttribute("aria-label", "Close support chat");
    input.focus();
  }

  function close(): void {
    panel.hidden = true;
    bubble.setAttribute("aria-expanded", "false");
    bubble.setAttribute("aria-label", "Open support chat");
    bubble.focus();
  }

  function reset(): void {
    running?.abort();
    transcript = { conversationId: null, messages: [] };
    saveTranscript(deps.storage, storageKey, transcript);
    renderTranscript();
  }

  async function answer(question: string, signal: AbortSignal): Promise<void> {
    const message: StoredMessage = { role: "assistant", text: "", citations: [] };
    const node = renderMessage(message);
    const request = {
      message: question,
      ...(config.kbIds.length > 0 ? { kb_ids: config.kbIds } : {}),
    };
    try {
      const conversationId = transcript.conversationId;
      let events: AsyncGenerator<ChatEvent>;
      try {
        events = await startChat(
          client,
          conversationId ? { ...request, conversation_id: conversationId } : request,
          signal,
        );
      } catch (error) {
        // The stored conversation is gone (expired or deleted): start a new one, once.
        if (!(error instanceof ChatRequestError && error.status === 404 && conversationId)) {
          throw error;
        }
        transcript.conversationId = null;
        events = await startChat(client, request, signal);
      }
      for await (const event of events) {
        if (event.type === "token") message.text += event.text;
        else if (event.type === "citation") message.citations.push(event.citation);
        else if (event.type === "summary") transcript.conversationId = event.summary.conversation_id;
        else {
          message.text = message.text ? `${message.text}\n\n${event.message}` : event.message;
          message.failed = true;
        }
        renderAnswer(doc, node, message.text, message.citations);
        log.scrollTop = log.scrollHeight;
      }
    } catch (error) {
      if (signal.aborted) {
        message.text = message.text ? `${message.text} …` : "Stopped.";
      } else {
        message.text = failureText(error);
        message.failed = true;
      }
      node.className = `message assistant${message.failed ? " error" : ""}`;
      renderAnswer(doc, node, message.text, message.citations);
    }
    if (message.failed) node.className = "message assistant error";
    transcript.messages.push(message);
    saveTranscript(deps.storage, storageKey, transcript);
  }

  async function ask(question: string): Promise<void> {
    const text = question.trim();
    if (text === "" || running !== null) return;
    if (transcript.messages.length === 0) log.replaceChildren();
    const userMessage: StoredMessage = { role: "user", text, citations: [] };
    transcript.messages.push(userMessage);
    renderMessage(userMessage);
    running = new AbortController();
    setBusy(true);
    try {
      await answer(text, running.signal);
    } finally {
      running = null;
      setBusy(false);
    }
  }

  bubble.addEventListener("click", () => (panel.hidden ? open() : close()));
  closeButton.addEventListener("click", close);
  newButton.addEventListener("click", () => {
    reset();
    input.focus();
  });
  panel.addEventListener("keydown", (event) => {
    if (event.key === "Escape") {
      event.preventDefault();
      close();
    }
  });
  input.addEventListener("keydown", (event) => {
    if (event.key === "Enter" && !event.shiftKey && !event.isComposing) {
      event.preventDefault();
      form.requestSubmit();
    }
  });
  form.addEventListener("submit", (event) => {
    event.preventDefault();
    if (running !== null) {
      running.abort();
      return;
    }
    const question = input.value;
    input.value = "";
    void ask(question);
  });

  renderTranscript();
  doc.body.append(host);
  return {
    host,
    root,
    open,
    close,
    ask,
    reset,
    destroy: () => {
      running?.abort();
      host.remove();
    },
  };
}
