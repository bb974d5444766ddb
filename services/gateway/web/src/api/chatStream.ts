// A streamed chat answer: over the /ws/chat WebSocket, or, when the socket cannot be opened, over
// Server-Sent Events from POST /chat/stream (read with fetch, because EventSource cannot POST or
// send an Authorization header).
import { API_BASE, ApiError } from "./client";
import type { Citation, TurnSummary } from "./types";

export interface AskRequest {
  conversation_id?: string;
  kb_ids?: string[];
  message: string;
  skip_cache?: boolean;
}

export interface StreamHandlers {
  onToken: (text: string) => void;
  onCitation: (citation: Citation) => void;
  onSummary: (summary: TurnSummary) => void;
  onError: (error: { code: string; message: string }) => void;
  /** Called once when the stream ends for any reason (summary, error, stop, lost connection). */
  onClose: () => void;
}

export interface ChatStream {
  stop: () => void;
}

export interface StreamOptions {
  token: string;
  /** Base for the WebSocket URL; defaults to this page's origin. */
  wsBase?: string;
  transport?: "websocket" | "sse";
}

function webSocketUrl(base?: string): string {
  if (base) return `${base.replace(/\/$/, "")}/ws/chat`;
  const scheme = window.location.protocol === "https:" ? "wss:" : "ws:";
  return `${scheme}//${window.location.host}/ws/chat`;
}

type Frame =
  | { type: "ready" }
  | { type: "ping" }
  | ({ type: "token" } & { text: string })
  | ({ type: "citation" } & Citation)
  | ({ type: "summary" } & TurnSummary)
  | { type: "error"; code: string; message: string };

/** Start one answer; falls back to SSE when the WebSocket fails before the server is ready. */
export function streamChat(request: AskRequest, handlers: StreamHandlers, options: StreamOptions): ChatStream {
  if (options.transport === "sse" || typeof WebSocket === "undefined") {
    return streamOverSse(request, handlers, options.token);
  }
  let current: ChatStream | null = null;
  let closed = false;
  const finish = () => {
    if (closed) return;
    closed = true;
    handlers.onClose();
  };
  const socket = new WebSocket(webSocketUrl(options.wsBase));
  let ready = false;
  let stopped = false;

  socket.onopen = () => socket.send(JSON.stringify({ type: "auth", token: options.token }));
  socket.onmessage = (event: MessageEvent) => {
    let frame: Frame;
    try {
      frame = JSON.parse(String(event.data)) as Frame;
    } catch {
      return;
    }
    switch (frame.type) {
      case "ready":
        ready = true;
        socket.send(JSON.stringify({ type: "ask", ...request }));
        break;
      case "ping":
        socket.send(JSON.stringify({ type: "pong" }));
        break;
      case "token":
        if (!stopped) handlers.onToken(frame.text);
        break;
      case "citation": {
        const { type: _type, ...citation } = frame;
        void _type;
        if (!stopped) handlers.onCitation(citation);
        break;
      }
      case "summary": {
        const { type: _type, ...summary } = frame;
        void _type;
        handlers.onSummary(summary);
        finish();
        socket.close();
        break;
      }
      case "error":
        handlers.onError({ code: frame.code, message: frame.message });
        finish();
        socket.close();
        break;
    }
  };
  socket.onerror = () => {
    if (!ready && !stopped && !closed) {
      // The socket never got going (proxy without WebSocket support, ...): use SSE instead.
      closed = true;
      current = streamOverSse(request, handlers, options.token);
    }
  };
  socket.onclose = (event: CloseEvent) => {
    if (current) return;
    if (!closed && !stopped) {
      // Closed by the server mid-turn (e.g. 4401 unauthenticated, 4429 rate limited): say why.
      handlers.onError({
        code: String(event.code),
        message: event.reason || "The connection closed before the answer was complete.",
      });
    }
    finish();
  };
  return {
    stop: () => {
      if (current) return current.stop();
      stopped = true;
      if (socket.readyState === WebSocket.OPEN) socket.send(JSON.stringify({ type: "stop" }));
      finish();
      socket.close();
    },
  };
}

/** Parse a text/event-stream body into (event, data) pairs. */
export async function* readServerSentEvents(
  body: ReadableStream<Uint8Array>,
): AsyncGenerator<{ event: string; data: string }> {
  const reader = body.getReader();
  const decoder = new TextDecoder();
  let buffer = "";
  for (;;) {
    const { value, done } = await reader.read();
    if (done) break;
    buffer += decoder.decode(value, { stream: true }).replace(/\r\n/g, "\n");
    let boundary = buffer.indexOf("\n\n");
    while (boundary >= 0) {
      const block = buffer.slice(0, boundary);
      buffer = buffer.slice(boundary + 2);
      let event = "message";
      const data: string[] = [];
      for (const line of block.split("\n")) {
        if (line.startsWith("event:")) event = line.slice(6).trim();
        else if (line.startsWith("data:")) data.push(line.slice(5).replace(/^ /, ""));
      }
      if (data.length) yield { event, data: data.join("\n") };
      boundary = buffer.indexOf("\n\n");
    }
  }
}

function streamOverSse(request: AskRequest, handlers: StreamHandlers, token: string): ChatStream {
  const controller = new AbortController();
  let closed = false;
  const finish = () => {
    if (closed) return;
    closed = true;
    handlers.onClose();
  };
  void (async () => {
    try {
      const response = await fetch(`${API_BASE}/chat/stream`, {
        method: "POST",
        headers: {
          "Content-Type": "application/json",
          Accept: "text/event-stream",
          Authorization: `Bearer ${token}`,
        },
        body: JSON.stringify(request),
        signal: controller.signal,
        credentials: "same-origin",
      });
      if (!response.ok || !response.body) {
        let message = `${response.status} ${response.statusText}`;
        try {
          const body = (await response.json()) as { error?: { message?: string; code?: string } };
          message = body.error?.message ?? message;
        } catch {
          // Not JSON: keep the status line.
        }
        throw new ApiError(response.status, String(response.status), message);
      }
      for await (const { event, data } of readServerSentEvents(response.body)) {
        const payload = JSON.parse(data) as Record<string, unknown>;
        if (event === "token") handlers.onToken(String(payload.text ?? ""));
        else if (event === "citation") handlers.onCitation(payload as unknown as Citation);
        else if (event === "summary") handlers.onSummary(payload as unknown as TurnSummary);
        else if (event === "error")
          handlers.onError({ code: String(payload.code ?? "error"), message: String(payload.message ?? "") });
      }
    } catch (error) {
      if (!controller.signal.aborted) {
        handlers.onError({
          code: error instanceof ApiError ? error.code : "network",
          message: error instanceof Error ? error.message : String(error),
        });
      }
    } finally {
      finish();
    }
  })();
  return {
    stop: () => {
      controller.abort();
      finish();
    },
  };
}
