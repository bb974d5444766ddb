// Test helpers: render inside the app's providers, and stand-ins for the two browser APIs the
// components talk to the gateway with (fetch and WebSocket). Only these are replaced: the
// components, stores and query cache under test are the real ones.
import { QueryClient, QueryClientProvider } from "@tanstack/react-query";
import { render } from "@testing-library/react";
import type { ReactElement } from "react";
import { MemoryRouter, Route, Routes } from "react-router";
import { vi } from "vitest";
import type { Role } from "../api/types";
import { useSession } from "../store/session";

export function signedIn(role: Role = "owner"): void {
  useSession.setState({
    status: "signed-in",
    accessToken: "access-token-1",
    expiresAt: Date.now() + 600_000,
    user: { id: "u1", email: `${role}@example.com`, role, tenant_id: "t1" },
  });
}

export function renderAt(ui: ReactElement, { route = "/", path = "*" }: { route?: string; path?: string } = {}) {
  const queryClient = new QueryClient({ defaultOptions: { queries: { retry: false }, mutations: { retry: false } } });
  return render(
    <QueryClientProvider client={queryClient}>
      <MemoryRouter initialEntries={[route]}>
        <Routes>
          <Route path={path} element={ui} />
          <Route path="*" element={<p data-testid="elsewhere">elsewhere</p>} />
        </Routes>
      </MemoryRouter>
    </QueryClientProvider>,
  );
}

type Handler = (request: { url: string; method: string; body: unknown; headers: Record<string, string> }) => { status?: number; body?: unknown };

/** Replace fetch with a table of "METHOD /path" handlers; records every call. */
export function mockFetch(routes: Record<string, Handler>) {
  const calls: { url: string; method: string; body: unknown; headers: Record<string, string> }[] = [];
  const fetchMock = vi.fn(async (input: RequestInfo | URL, init?: RequestInit) => {
    const url = String(input);
    const method = init?.method ?? "GET";
    const body = typeof init?.body === "string" ? JSON.parse(init.body) : undefined;
    const headers = (init?.headers ?? {}) as Record<string, string>;
    const request = { url, method, body, headers };
    calls.push(request);
    const path = url.split("?")[0];
    const handler = routes[`${method} ${path}`];
    if (!handler) {
      return new Response(JSON.stringify({ error: { code: "not_found", message: `no mock for ${method} ${path}` } }), { status: 404 });
    }
    const { status = 200, body: responseBody } = handler(request);
    return new Response(responseBody === undefined ? null : JSON.stringify(responseBody), {
      status,
      headers: { "Content-Type": "application/json" },
    });
  });
  vi.stubGlobal("fetch", fetchMock);
  return { calls, fetchMock };
}

/** A WebSocket whose server side the test drives: `serverSends` delivers a frame, `sent` holds what the client sent. */
export class MockWebSocket {
  static CONNECTING = 0;
  static OPEN = 1;
  static CLOSING = 2;
  static CLOSED = 3;
  static instances: MockWebSocket[] = [];

  readyState = MockWebSocket.CONNECTING;
  sent: Record<string, unknown>[] = [];
  onopen: ((event: Event) => void) | null = null;
  onmessage: ((event: MessageEvent) => void) | null = null;
  onerror: ((event: Event) => void) | null = null;
  onclose: ((event: CloseEvent) => void) | null = null;

  constructor(readonly url: string) {
    MockWebSocket.instances.push(this);
  }

  send(data: string): void {
    this.sent.push(JSON.parse(data) as Record<string, unknown>);
  }

  close(code = 1000, reason = ""): void {
    if (this.readyState === MockWebSocket.CLOSED) return;
    this.readyState = MockWebSocket.CLOSED;
    this.onclose?.(new CloseEvent("close", { code, reason }));
  }

  serverCloses(code: number, reason: string): void {
    this.close(code, reason);
  }

  serverOpens(): void {
    this.readyState = MockWebSocket.OPEN;
    this.onopen?.(new Event("open"));
  }

  serverSends(frame: Record<string, unknown>): void {
    this.onmessage?.(new MessageEvent("message", { data: JSON.stringify(frame) }));
  }

  static install(): void {
    MockWebSocket.instances = [];
    vi.stubGlobal("WebSocket", MockWebSocket);
  }

  static last(urlPart: string): MockWebSocket {
    const found = [...MockWebSocket.instances].reverse().find((s) => s.url.includes(urlPart));
    if (!found) throw new Error(`no WebSocket to ${urlPart}`);
    return found;
  }
}
