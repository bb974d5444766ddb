import { describe, expect, it } from "vitest";
import { ChatRequestError, readChatEvents, startChat, type ChatEvent } from "./stream";

/** A body that delivers `chunks` one read at a time, as a network would. */
function body(chunks: (string | Uint8Array)[]): ReadableStream<Uint8Array> {
  const encoder = new TextEncoder();
  return new ReadableStream({
    start(controller) {
      for (const chunk of chunks) {
        controller.enqueue(typeof chunk === "string" ? encoder.encode(chunk) : chunk);
      }
      controller.close();
    },
  });
}

async function collect(events: AsyncIterable<ChatEvent>): Promise<ChatEvent[]> {
  const all: ChatEvent[] = [];
  for await (const event of events) all.push(event);
  return all;
}

describe("readChatEvents", () => {
  it("maps the gateway's four events, in order", async () => {
    const stream = [
      'event: token\ndata: {"text":"Hello"}\n\n',
      'event: citation\ndata: {"number":1,"chunk_id":"c","url":"http://a/b","title":"B","snippet":"s"}\n\n',
      'event: summary\ndata: {"conversation_id":"conv-1","turn_id":"t","declined":false}\n\n',
      'event: error\ndata: {"code":"provider_failed","message":"The model stopped."}\n\n',
    ];
    expect(await collect(readChatEvents(body(stream)))).toEqual([
      { type: "token", text: "Hello" },
      {
        type: "citation",
        citation: { number: 1, chunk_id: "c", url: "http://a/b", title: "B", snippet: "s" },
      },
      {
        type: "summary",
        summary: { conversation_id: "conv-1", turn_id: "t", declined: false },
      },
      { type: "error", code: "provider_failed", message: "The model stopped." },
    ]);
  });

  it("reassembles events split anywhere, even inside a multi-byte character", async () => {
    const bytes = new TextEncoder().encode('event: token\r\ndata: {"text":"café"}\r\n\r\n');
    const cut = bytes.indexOf(0xc3) + 1; // between the two bytes of "é"
    const chunks = [bytes.slice(0, 5), bytes.slice(5, cut), bytes.slice(cut)];
    expect(await collect(readChatEvents(body(chunks)))).toEqual([{ type: "token", text: "café" }]);
  });

  it("joins multi-line data and skips comments, unknown events and bad JSON", async () => {
    const stream = [
      ": keep-alive\n\n",
      'event: token\ndata: {"text":\ndata: "two lines"}\n\n',
      'event: progress\ndata: {"text":"not for the widget"}\n\n',
      "event: token\ndata: not json\n\n",
      'event: token\ndata: {"text":"end"}\n\n',
    ];
    expect(await collect(readChatEvents(body(stream)))).toEqual([
      { type: "token", text: "two lines" },
      { type: "token", text: "end" },
    ]);
  });

  it("delivers an event before the stream ends (answers are shown as they stream)", async () => {
    const encoder = new TextEncoder();
    let controller!: ReadableStreamDefaultController<Uint8Array>;
    const open = new ReadableStream<Uint8Array>({ start: (c) => void (controller = c) });
    const events = readChatEvents(open);
    controller.enqueue(encoder.encode('event: token\ndata: {"text":"first"}\n\n'));
    expect((await events.next()).value).toEqual({ type: "token", text: "first" });
    controller.close();
    expect((await events.next()).done).toBe(true);
  });
});

describe("startChat", () => {
  it("posts the question with the widget key and streams the reply", async () => {
    const calls: { url: string; init: RequestInit }[] = [];
    const fakeFetch = (async (url: string, init: RequestInit) => {
      calls.push({ url, init });
      return new Response(body(['event: token\ndata: {"text":"Hi"}\n\n']), {
        headers: { "Content-Type": "text/event-stream" },
      });
    }) as unknown as typeof fetch;
    const client = { fetch: fakeFetch, endpoint: "http://gw/api/v1/chat/stream", apiKey: "rk_1" };
    const events = await startChat(client, { message: "Hello?", conversation_id: "conv-1" });
    expect(await collect(events)).toEqual([{ type: "token", text: "Hi" }]);
    expect(calls).toHaveLength(1);
    expect(calls[0]!.url).toBe("http://gw/api/v1/chat/stream");
    expect(calls[0]!.init.method).toBe("POST");
    expect(calls[0]!.init.credentials).toBe("omit");
    expect(new Headers(calls[0]!.init.headers).get("X-API-Key")).toBe("rk_1");
    expect(JSON.parse(calls[0]!.init.body as string)).toEqual({
      message: "Hello?",
      conversation_id: "conv-1",
    });
  });

  it("turns the gateway's error body into a ChatRequestError", async () => {
    const refuse = (async () =>
      new Response(
        JSON.stringify({
          error: { code: "origin_not_allowed", message: "Origin refused", request_id: "r" },
        }),
        { status: 403, headers: { "Content-Type": "application/json" } },
      )) as unknown as typeof fetch;
    const client = { fetch: refuse, endpoint: "http://gw/x", apiKey: "rk_1" };
    const failure = await startChat(client, { message: "Hello?" }).catch((e: unknown) => e);
    expect(failure).toBeInstanceOf(ChatRequestError);
    expect(failure).toMatchObject({ status: 403, code: "origin_not_allowed", message: "Origin refused" });
  });

  it("keeps the status when the error body is not the gateway's JSON", async () => {
    const proxy = (async () =>
      new Response("<html>Bad gateway</html>", { status: 502 })) as unknown as typeof fetch;
    const client = { fetch: proxy, endpoint: "http://gw/x", apiKey: "rk_1" };
    const failure = await startChat(client, { message: "Hello?" }).catch((e: unknown) => e);
    expect(failure).toMatchObject({ status: 502, code: "http_502" });
  });
});
