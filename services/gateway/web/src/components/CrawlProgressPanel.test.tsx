import { act, screen, waitFor, within } from "@testing-library/react";
import { afterEach, beforeEach, describe, expect, it, vi } from "vitest";
import { MockWebSocket, mockFetch, renderAt, signedIn } from "../test/utils";
import { CrawlProgressPanel } from "./CrawlProgressPanel";

const queued = {
  id: "crawl-1",
  kb_id: "kb-1",
  state: "queued",
  urls: ["https://docs.example.com/"],
  mode: "recursive",
  scope: { include_patterns: [], exclude_patterns: [], max_depth: 3, max_pages: 500, render_js: false },
  submitted_by: "u1",
  created_at: "2026-11-21T23:00:00Z",
  progress: { discovered: 0, fetched: 0, failed: 0, skipped: 0, current_url: "", pages_per_second: 0, state: "queued", recent_failures: [] },
};

function progress(fields: Record<string, unknown>) {
  return { type: "crawl.progress", crawl_id: "crawl-1", kb_id: "kb-1", discovered: 0, fetched: 0, failed: 0, skipped: 0, current_url: null, pages_per_second: 0, ...fields };
}

describe("crawl progress", () => {
  let crawl: Record<string, unknown>;
  beforeEach(() => {
    signedIn("editor");
    MockWebSocket.install();
    crawl = queued;
    mockFetch({ "GET /api/v1/crawls/crawl-1": () => ({ body: crawl }) });
  });
  afterEach(() => vi.unstubAllGlobals());

  it("shows live counters, the current URL, the rate and failures with reasons until done", async () => {
    renderAt(<CrawlProgressPanel crawlId="crawl-1" canCancel />);
    const panel = await screen.findByTestId("crawl-progress");
    expect(panel).toHaveAttribute("data-state", "queued");

    const socket = MockWebSocket.last("/ws/events");
    act(() => socket.serverOpens());
    await waitFor(() => expect(socket.sent[0]).toEqual({ type: "auth", token: "access-token-1" }));
    expect(socket.url).not.toContain("access-token-1");

    act(() =>
      socket.serverSends(
        progress({
          state: "running",
          discovered: 40,
          fetched: 12,
          failed: 1,
          current_url: "https://docs.example.com/guide.html",
          pages_per_second: 2.5,
          recent_failures: [{ url: "https://docs.example.com/gone.html", reason: "HTTP 404" }],
        }),
      ),
    );
    act(() => socket.serverSends(progress({ crawl_id: "another-crawl", state: "running", fetched: 999 })));

    expect(panel).toHaveAttribute("data-state", "running");
    expect(screen.getByTestId("crawl-discovered")).toHaveTextContent("40");
    expect(screen.getByTestId("crawl-fetched")).toHaveTextContent("12");
    expect(screen.getByTestId("crawl-failed")).toHaveTextContent("1");
    expect(screen.getByTestId("crawl-rate")).toHaveTextContent("2.5");
    expect(screen.getByTestId("crawl-current-url")).toHaveTextContent("https://docs.example.com/guide.html");
    const failure = screen.getByTestId("crawl-failure");
    expect(within(failure).getByText("HTTP 404")).toBeInTheDocument();
    expect(failure).toHaveTextContent("https://docs.example.com/gone.html");
    expect(screen.getByRole("button", { name: "Cancel crawl" })).toBeInTheDocument();

    crawl = { ...queued, state: "done", progress: { ...queued.progress, state: "done", discovered: 40, fetched: 39, failed: 1 } };
    act(() => socket.serverSends(progress({ state: "done", discovered: 40, fetched: 39, failed: 1 })));

    expect(panel).toHaveAttribute("data-state", "done");
    expect(screen.getByTestId("crawl-fetched")).toHaveTextContent("39");
    expect(screen.getByRole("progressbar")).toHaveAttribute("aria-valuenow", "100");
    expect(screen.queryByRole("button", { name: "Cancel crawl" })).not.toBeInTheDocument();
    expect(screen.queryByTestId("crawl-current-url")).not.toBeInTheDocument();
    await waitFor(() => expect(screen.getByText(/Finished: 39 pages fetched/)).toBeInTheDocument());
  });
});
