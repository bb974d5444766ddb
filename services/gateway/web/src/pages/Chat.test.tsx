import { act, screen, waitFor, within } from "@testing-library/react";
import userEvent from "@testing-library/user-event";
import { afterEach, beforeEach, describe, expect, it, vi } from "vitest";
import { MockWebSocket, mockFetch, renderAt, signedIn } from "../test/utils";
import { ChatPage } from "./Chat";

const citation = {
  number: 1,
  chunk_id: "c1",
  url: "https://docs.example.com/install.html",
  title: "Installing",
  snippet: "Run the installer…",
  image_src: "https://docs.example.com/img/setup.png",
};

async function askQuestion(text: string): Promise<MockWebSocket> {
  await userEvent.type(screen.getByLabelText("Your question"), text);
  await userEvent.click(screen.getByRole("button", { name: "Send" }));
  const socket = MockWebSocket.last("/ws/chat");
  act(() => socket.serverOpens());
  expect(socket.sent[0]).toEqual({ type: "auth", token: "access-token-1" });
  act(() => socket.serverSends({ type: "ready" }));
  return socket;
}

describe("chat stream", () => {
  let calls: ReturnType<typeof mockFetch>["calls"];
  beforeEach(() => {
    signedIn("agent");
    MockWebSocket.install();
    ({ calls } = mockFetch({
      "GET /api/v1/conversations": () => ({ body: { conversations: [] } }),
      "GET /api/v1/knowledge-bases": () => ({ body: { items: [] } }),
      "POST /api/v1/conversations/conv-1/feedback": () => ({ body: {} }),
    }));
  });
  afterEach(() => vi.unstubAllGlobals());

  it("accumulates tokens as Markdown and links citations to their pages", async () => {
    renderAt(<ChatPage />, { route: "/chat", path: "/chat/:conversationId?" });
    const socket = await askQuestion("How do I install it?");
    expect(socket.sent[1]).toEqual({ type: "ask", message: "How do I install it?" });

    act(() => socket.serverSends({ type: "token", text: "Run **the" }));
    act(() => socket.serverSends({ type: "token", text: " installer** [1]." }));
    const answer = screen.getByTestId("message-assistant");
    expect(answer).toHaveAttribute("data-streaming", "true");
    expect(answer).toHaveTextContent("Run the installer [1].");
    expect(within(answer).getByText("the installer").tagName).toBe("STRONG");

    act(() => socket.serverSends({ type: "citation", ...citation }));
    const link = within(answer).getByTestId("citation-link");
    expect(link).toHaveAttribute("href", citation.url);
    expect(link).toHaveTextContent("[1]");
    const card = within(answer).getByTestId("citation-card");
    expect(within(card).getByRole("link", { name: "[1] Installing" })).toHaveAttribute("href", citation.url);
    expect(card).toHaveTextContent("Run the installer…");
    expect(card.querySelector("img")).toHaveAttribute("src", citation.image_src);

    act(() =>
      socket.serverSends({
        type: "summary",
        conversation_id: "conv-1",
        turn_id: "turn-1",
        retrieval_ms: 10,
        first_token_ms: 50,
        total_ms: 200,
        prompt_tokens: 100,
        completion_tokens: 20,
        provider: "extractive",
        declined: false,
      }),
    );
    await waitFor(() => expect(screen.getByTestId("message-assistant")).toHaveAttribute("data-streaming", "false"));
    expect(socket.readyState).toBe(MockWebSocket.CLOSED);

    await userEvent.click(screen.getByTestId("feedback-up"));
    await screen.findByTestId("feedback-thanks");
    const feedback = calls.find((c) => c.url.endsWith("/conversations/conv-1/feedback"));
    expect(feedback?.body).toEqual({ message_id: "turn-1", rating: "up", comment: "" });
  });

  it("stops a stream: sends stop, keeps what arrived, ignores later tokens", async () => {
    renderAt(<ChatPage />, { route: "/chat", path: "/chat/:conversationId?" });
    const socket = await askQuestion("Tell me everything");
    act(() => socket.serverSends({ type: "token", text: "Part one" }));

    await userEvent.click(screen.getByRole("button", { name: "Stop" }));

    expect(socket.sent.at(-1)).toEqual({ type: "stop" });
    act(() => socket.serverSends({ type: "token", text: " and part two" }));
    const answer = screen.getByTestId("message-assistant");
    expect(answer).toHaveTextContent("Part one");
    expect(answer).not.toHaveTextContent("part two");
    expect(answer).toHaveTextContent("Stopped.");
    expect(answer).toHaveAttribute("data-streaming", "false");
    expect(screen.getByRole("button", { name: "Send" })).toBeInTheDocument();
  });

  it("regenerates the last answer bypassing the cache, in the same conversation", async () => {
    renderAt(<ChatPage />, { route: "/chat", path: "/chat/:conversationId?" });
    const first = await askQuestion("What is ragchat?");
    act(() => first.serverSends({ type: "token", text: "An old answer" }));
    act(() => first.serverSends({ type: "summary", conversation_id: "conv-1", turn_id: "turn-1", declined: false }));

    await userEvent.click(await screen.findByRole("button", { name: "Regenerate" }));
    const second = MockWebSocket.last("/ws/chat");
    expect(second).not.toBe(first);
    act(() => second.serverOpens());
    act(() => second.serverSends({ type: "ready" }));
    expect(second.sent[1]).toEqual({ type: "ask", message: "What is ragchat?", conversation_id: "conv-1", skip_cache: true });
    act(() => second.serverSends({ type: "token", text: "A fresh answer" }));

    const answers = screen.getAllByTestId("message-assistant");
    expect(answers).toHaveLength(1);
    expect(answers[0]).toHaveTextContent("A fresh answer");
    expect(screen.getAllByTestId("message-user")).toHaveLength(1);
  });

  it("shows the server's error frame", async () => {
    renderAt(<ChatPage />, { route: "/chat", path: "/chat/:conversationId?" });
    const socket = await askQuestion("Anything?");
    act(() => socket.serverSends({ type: "error", code: "rate_limited", message: "Too many questions; wait a minute" }));
    expect(await screen.findByTestId("chat-error")).toHaveTextContent("Too many questions; wait a minute");
  });

  it("says why when the server closes the socket mid-answer", async () => {
    renderAt(<ChatPage />, { route: "/chat", path: "/chat/:conversationId?" });
    const socket = await askQuestion("Anything?");
    act(() => socket.serverCloses(4429, "too many questions"));
    expect(await screen.findByTestId("chat-error")).toHaveTextContent("too many questions");
    expect(screen.getByTestId("message-assistant")).toHaveAttribute("data-streaming", "false");
  });
});
