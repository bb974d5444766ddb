import { describe, expect, it } from "vitest";
import { readServerSentEvents } from "./chatStream";

function bodyOf(...pieces: string[]): ReadableStream<Uint8Array> {
  const encoder = new TextEncoder();
  return new ReadableStream({
    start(controller) {
      for (const piece of pieces) controller.enqueue(encoder.encode(piece));
      controller.close();
    },
  });
}

describe("SSE fallback parser", () => {
  it("yields named events even when a network chunk splits one", async () => {
    const events = [];
    for await (const event of readServerSentEvents(
      bodyOf('event: token\ndata: {"text":"Hel', 'lo"}\n\n: keep-alive\n\nevent: summary\r\ndata: {"turn_id":"t1"}\r\n\r\n'),
    )) {
      events.push(event);
    }
    expect(events).toEqual([
      { event: "token", data: '{"text":"Hello"}' },
      { event: "summary", data: '{"turn_id":"t1"}' },
    ]);
  });
});
