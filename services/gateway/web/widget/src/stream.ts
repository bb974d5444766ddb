/**
 * The chat stream of the gateway (`POST /api/v1/chat/stream`, `text/event-stream`) as typed events.
 *
 * The SSE framing itself (fields, multi-line data, CRLF, comments, chunks split anywhere) is left to
 * `eventsource-parser`, a small, widely used parser; this module only maps the gateway's four event
 * names to typed values and turns error replies into {@link ChatRequestError}.
 */
import { createParser, type EventSourceMessage } from "eventsource-parser";

/** A source the answer cites: `number` is the `[n]` marker used in the answer text. */
export interface Citation {
  number: number;
  chunk_id: string;
  url: string;
  title: string;
  snippet: string;
  image_src?: string | null;
}

/** The final record of a turn. */
export interface TurnSummary {
  conversation_id: string;
  turn_id: string;
  declined: boolean;
  retrieval_ms?: number;
  first_token_ms?: number;
  total_ms?: number;
  provider?: string;
}

/** One event of the stream, in the order the gateway sends them. */
export type ChatEvent =
  | { type: "token"; text: string }
  | { type: "citation"; citation: Citation }
  | { type: "summary"; summary: TurnSummary }
  | { type: "error"; code: string; message: string };

/** What the widget asks: the gateway's chat request body. */
export interface ChatRequest {
  message: string;
  conversation_id?: string;
  kb_ids?: string[];
}

/** The gateway refused the request (4xx/5xx) before any event; `code` is its error code. */
export class ChatRequestError extends Error {
  constructor(
    readonly status: number,
    readonly code: string,
    message: string,
  ) {
    super(message);
    this.name = "ChatRequestError";
  }
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === "object" && value !== null;
}

/** The typed event of one SSE message, or `null` for names or data this widget does not know. */
export function toChatEvent(message: EventSourceMessage): ChatEvent | null {
  let data: unknown;
  try {
    data = JSON.parse(message.data);
  } catch {
    return null;
  }
  if (!isRecord(data)) return null;
  switch (message.event) {
    case "token":
      return typeof data.text === "string" ? { type: "token", text: data.text } : null;
    case "citation":
      return typeof data.number === "number" && typeof data.url === "string"
        ? { type: "citation", citation: data as unknown as Citation }
        : null;
    case "summary":
      return typeof data.conversation_id === "string"
        ? { type: "summary", summary: data as unknown as TurnSummary }
        : null;
    case "error":
      return {
        type: "error",
        code: typeof data.code === "string" ? data.code : "error",
        message: typeof data.message === "string" ? data.message : "The answer failed.",
      };
    default:
      return null;
  }
}

/** Every chat event of an SSE body, as the bytes arrive. */
export async function* readChatEvents(
  body: ReadableStream<Uint8Array>,
): AsyncGenerator<ChatEvent> {
  const pending: ChatEvent[] = [];
  const parser = createParser({
    onEvent(message) {
      const event = toChatEvent(message);
      if (event !== null) pending.push(event);
    },
  });
  const reader = body.getReader();
  const decoder = new TextDecoder();
  try {
    for (;;) {
      const { done, value } = await reader.read();
      parser.feed(done ? decoder.decode() : decoder.decode(value, { stream: true }));
      yield* pending.splice(0);
      if (done) return;
    }
  } finally {
    reader.releaseLock();
  }
}

/** The error of a refused request, from the gateway's `{"error": {code, message}}` body. */
export async function requestError(response: Response): Promise<ChatRequestError> {
  let code = `http_${response.status}`;
  let message = `The chat service answered ${response.status}.`;
  try {
    const body: unknown = await response.json();
    if (isRecord(body) && isRecord(body.error)) {
      if (typeof body.error.code === "string") code = body.error.code;
      if (typeof body.error.message === "string") message = body.error.message;
    }
  } catch {
    // Not the gateway's JSON (a proxy's page): the status says enough.
  }
  return new ChatRequestError(response.status, code, message);
}

/** How to reach the gateway: passed in so tests give a fake `fetch`. */
export interface ChatClient {
  fetch: typeof fetch;
  endpoint: string;
  apiKey: string;
}

/**
 * Ask one question. Resolves once the gateway accepted it, to the answer's events as they stream;
 * rejects with {@link ChatRequestError} when refused (before any event).
 */
export async function startChat(
  client: ChatClient,
  request: ChatRequest,
  signal?: AbortSignal,
): Promise<AsyncGenerator<ChatEvent>> {
  const init: RequestInit = {
    method: "POST",
    headers: {
      "Content-Type": "application/json",
      Accept: "text/event-stream",
      "X-API-Key": client.apiKey,
    },
    body: JSON.stringify(request),
    credentials: "omit",
  };
  if (signal !== undefined) init.signal = signal;
  const response = await client.fetch(client.endpoint, init);
  if (!response.ok) throw await requestError(response);
  if (response.body === null) throw new ChatRequestError(response.status, "empty", "No answer.");
  return readChatEvents(response.body);
}
