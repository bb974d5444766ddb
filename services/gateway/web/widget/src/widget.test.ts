import { afterEach, beforeEach, describe, expect, it } from "vitest";
import type { WidgetConfig } from "./config";
import { readScriptConfig } from "./config";
import { mountWidget, renderAnswer, transcriptKey, type WidgetHandle } from "./widget";

const CONFIG: WidgetConfig = {
  apiKey: "rk_widget_0123456789",
  kbIds: ["kb-1"],
  apiBase: "http://gateway.test",
  title: "Widget help",
};

interface Call {
  url: string;
  headers: Headers;
  body: Record<string, unknown>;
}

function sse(events: [string, unknown][]): string {
  return events.map(([name, data]) => `event: ${name}\ndata: ${JSON.stringify(data)}\n\n`).join("");
}

/** A fake gateway: answers each request with the next reply and records what it was sent. */
function fakeGateway(replies: Response[]) {
  const calls: Call[] = [];
  const fetch = (async (url: string, init: RequestInit) => {
    calls.push({
      url,
      headers: new Headers(init.headers),
      body: JSON.parse(init.body as string) as Record<string, unknown>,
    });
    const reply = replies.shift();
    if (reply === undefined) throw new TypeError("no more replies");
    return reply;
  }) as unknown as typeof globalThis.fetch;
  return { fetch, calls };
}

function answer(text: string[], conversationId: string): Response {
  return new Response(
    sse([
      ...text.map((t): [string, unknown] => ["token", { text: t }]),
      [
        "citation",
        {
          number: 1,
          chunk_id: "ch-1",
          url: "http://shop.test/returns.html",
          title: "Returns",
          snippet: "send the widget <mark>back</mark>",
        },
      ],
      ["summary", { conversation_id: conversationId, turn_id: "t-1", declined: false }],
    ]),
    { headers: { "Content-Type": "text/event-stream" } },
  );
}

let widget: WidgetHandle | undefined;

function mount(replies: Response[]) {
  const gateway = fakeGateway(replies);
  widget = mountWidget(CONFIG, { fetch: gateway.fetch, storage: sessionStorage, document });
  return { widget, calls: gateway.calls, root: widget.root };
}

beforeEach(() => sessionStorage.clear());
afterEach(() => {
  widget?.destroy();
  widget = undefined;
});

describe("mounting", () => {
  it("renders everything inside an open shadow root, leaving the page's styles alone", () => {
    const pageStylesBefore = document.querySelectorAll("style").length;
    const { root } = mount([]);
    expect(document.getElementById("ragchat-widget")?.shadowRoot).toBe(root);
    expect(root.querySelector("style")?.textContent).toContain(":host");
    expect(document.querySelectorAll("style").length).toBe(pageStylesBefore);
    expect(document.querySelector("button")).toBeNull(); // nothing outside the shadow root
    const bubble = root.querySelector<HTMLButtonElement>("button.bubble")!;
    expect(bubble.getAttribute("aria-label")).toBe("Open support chat");
    expect(bubble.getAttribute("aria-expanded")).toBe("false");
    expect(root.querySelector<HTMLElement>("[role=dialog]")!.hidden).toBe(true);
  });

  it("opens with the bubble, focuses the question, and Escape closes back to the bubble", () => {
    const { root } = mount([]);
    const bubble = root.querySelector<HTMLButtonElement>("button.bubble")!;
    bubble.click();
    const dialog = root.querySelector<HTMLElement>("[role=dialog]")!;
    expect(dialog.hidden).toBe(false);
    expect(dialog.getAttribute("aria-labelledby")).toBe("ragchat-title");
    expect(root.getElementById("ragchat-title")!.textContent).toBe("Widget help");
    expect(bubble.getAttribute("aria-expanded")).toBe("true");
    expect(root.activeElement).toBe(root.querySelector("textarea"));
    expect(root.querySelector("label")!.htmlFor).toBe("ragchat-question");
    dialog.dispatchEvent(new KeyboardEvent("keydown", { key: "Escape", bubbles: true }));
    expect(dialog.hidden).toBe(true);
    expect(root.activeElement).toBe(bubble);
  });
});

describe("asking", () => {
  it("streams the answer with numbered citation links and sends follow-ups in the same conversation", async () => {
    const { root, calls } = mount([
      answer(["Send it back ", "within thirty days [1]."], "conv-42"),
      answer(["Yes [1]."], "conv-42"),
    ]);
    await widget!.ask("How do returns work?");

    expect(calls[0]!.url).toBe("http://gateway.test/api/v1/chat/stream");
    expect(calls[0]!.headers.get("X-API-Key")).toBe(CONFIG.apiKey);
    expect(calls[0]!.body).toEqual({ message: "How do returns work?", kb_ids: ["kb-1"] });

    const messages = root.querySelectorAll(".message");
    expect(messages[0]!.textContent).toBe("How do returns work?");
    const reply = messages[1]!;
    expect(reply.querySelector("p")!.textContent).toBe("Send it back within thirty days [1].");
    const marker = reply.querySelector<HTMLAnchorElement>("a.marker")!;
    expect(marker.href).toBe("http://shop.test/returns.html");
    expect(marker.getAttribute("aria-label")).toBe("Source 1: Returns");
    const source = reply.querySelector<HTMLAnchorElement>("ol.sources a")!;
    expect(source.textContent).toBe("[1] Returns");
    expect(source.href).toBe("http://shop.test/returns.html");
    expect(source.rel).toBe("noopener noreferrer");
    expect(source.title).toBe("send the widget back");

    const stored = JSON.parse(sessionStorage.getItem(transcriptKey(CONFIG))!);
    expect(stored.conversationId).toBe("conv-42");

    await widget!.ask("Even opened ones?");
    expect(calls[1]!.body).toEqual({
      message: "Even opened ones?",
      kb_ids: ["kb-1"],
      conversation_id: "conv-42",
    });
  });

  it("submits on Enter and shows the answer", async () => {
    const { root, calls } = mount([answer(["Hi."], "conv-1")]);
    const input = root.querySelector("textarea")!;
    input.value = "Hello";
    input.dispatchEvent(new KeyboardEvent("keydown", { key: "Enter", bubbles: true }));
    await expect.poll(() => root.querySelectorAll(".message.assistant").length).toBe(1);
    await expect.poll(() => root.querySelector(".message.assistant p")?.textContent).toBe("Hi.");
    expect(calls[0]!.body.message).toBe("Hello");
    expect(input.value).toBe("");
  });

  it("says plainly when the site is not allowed to use the key", async () => {
    const refused = new Response(
      JSON.stringify({ error: { code: "forbidden", message: "origin not allowed" } }),
      { status: 403, headers: { "Content-Type": "application/json" } },
    );
    const { root } = mount([refused]);
    await widget!.ask("Hello?");
    const reply = root.querySelector(".message.assistant")!;
    expect(reply.classList.contains("error")).toBe(true);
    expect(reply.textContent).toBe("This chat is not available on this website.");
    expect(root.querySelector(".status")!.textContent).toBe("");
  });

  it("starts a new conversation once when the stored one is gone", async () => {
    sessionStorage.setItem(
      transcriptKey(CONFIG),
      JSON.stringify({ conversationId: "old", messages: [] }),
    );
    const gone = new Response(JSON.stringify({ error: { code: "not_found", message: "x" } }), {
      status: 404,
    });
    const { calls } = mount([gone, answer(["Fresh."], "new")]);
    await widget!.ask("Hello?");
    expect(calls.map((c) => c.body.conversation_id)).toEqual(["old", undefined]);
    expect(JSON.parse(sessionStorage.getItem(transcriptKey(CONFIG))!).conversationId).toBe("new");
  });

  it("shows the transcript again after a reload, and New forgets it", async () => {
    mount([answer(["Kept."], "conv-7")]);
    await widget!.ask("Remember me?");
    widget!.destroy();
    const { root } = mount([]);
    expect([...root.querySelectorAll(".message")].map((m) => m.querySelector("p")!.textContent)).toEqual([
      "Remember me?",
      "Kept.",
    ]);
    root.querySelector<HTMLButtonElement>('button[aria-label="New conversation"]')!.click();
    expect(root.querySelectorAll(".message")).toHaveLength(0);
    expect(JSON.parse(sessionStorage.getItem(transcriptKey(CONFIG))!).conversationId).toBeNull();
  });
});

describe("renderAnswer", () => {
  it("never renders answer text as HTML and links only http(s) sources", () => {
    const target = document.createElement("div");
    renderAnswer(document, target, "<img src=x onerror=alert(1)> see [1] and [2] and [9]", [
      { number: 1, chunk_id: "a", url: "javascript:alert(1)", title: "Evil", snippet: "" },
      { number: 2, chunk_id: "b", url: "https://shop.test/ok", title: "", snippet: "" },
    ]);
    expect(target.querySelector("img")).toBeNull();
    expect(target.querySelector("p")!.textContent).toBe(
      "<img src=x onerror=alert(1)> see [1] and [2] and [9]",
    );
    const hrefs = [...target.querySelectorAll("a")].map((a) => a.getAttribute("href"));
    expect(hrefs).toEqual(["https://shop.test/ok", "https://shop.test/ok"]);
    expect(target.querySelector("ol.sources")!.textContent).toContain("[2] https://shop.test/ok");
  });

  it("leaves subscripts in code alone: only a marker standing apart is a citation", () => {
    const target = document.createElement("div");
    renderAnswer(document, target, "Use pair[1] or x[0][1]; see [1].", [
      { number: 1, chunk_id: "a", url: "https://shop.test/tuples", title: "Tuples", snippet: "" },
    ]);
    expect(target.querySelector("p")!.textContent).toBe("Use pair[1] or x[0][1]; see [1].");
    expect(target.querySelectorAll("p a.marker")).toHaveLength(1);
    expect(target.querySelector("p a.marker")!.previousSibling!.textContent).toBe(
      "Use pair[1] or x[0][1]; see ",
    );
  });
});

describe("readScriptConfig", () => {
  it("reads the key, kbs and title from the script tag; the API defaults to the script's origin", () => {
    const script = document.createElement("script");
    script.src = "https://support.example.com/widget.js";
    script.dataset.key = "rk_abc";
    script.dataset.kb = "kb-1, kb-2,";
    expect(readScriptConfig(script)).toEqual({
      apiKey: "rk_abc",
      kbIds: ["kb-1", "kb-2"],
      apiBase: "https://support.example.com",
      title: "Ask us anything",
    });
    script.dataset.api = "https://api.example.com/";
    script.dataset.title = "Help";
    expect(readScriptConfig(script)).toMatchObject({
      apiBase: "https://api.example.com",
      title: "Help",
    });
  });

  it("refuses a tag without a key", () => {
    const script = document.createElement("script");
    script.src = "https://support.example.com/widget.js";
    expect(readScriptConfig(script)).toMatch(/data-key/);
  });
});
