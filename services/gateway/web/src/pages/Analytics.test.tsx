import { screen, within } from "@testing-library/react";
import { afterEach, beforeEach, describe, expect, it, vi } from "vitest";
import { mockFetch, renderAt, signedIn } from "../test/utils";
import AnalyticsPage from "./Analytics";

const EMPTY_GROUPS = () => ({ body: { groups: [] } });

function analyticsRoutes(points: { day: string; conversations: number; turns: number; stopped: number }[]) {
  return {
    "GET /api/v1/knowledge-bases": () => ({ body: { items: [] } }),
    "GET /api/v1/analytics/conversations-per-day": () => ({ body: { points } }),
    "GET /api/v1/analytics/top-questions": EMPTY_GROUPS,
    "GET /api/v1/analytics/knowledge-gaps": EMPTY_GROUPS,
    "GET /api/v1/analytics/feedback": () => ({ body: { up: 0, down: 0, ratio: null, recent: [] } }),
    "GET /api/v1/analytics/latency": () => ({ body: { turns: 0, p50_ms: 0, p95_ms: 0, first_token_p50_ms: 0, first_token_p95_ms: 0, by_day: [] } }),
  };
}

// jsdom has no layout, hence no ResizeObserver; recharts' ResponsiveContainer only needs it to exist.
class NoResizeObserver {
  observe() {}
  unobserve() {}
  disconnect() {}
}

describe("analytics", () => {
  beforeEach(() => vi.stubGlobal("ResizeObserver", NoResizeObserver));
  afterEach(() => vi.unstubAllGlobals());

  it("totals the period's questions and the answers customers stopped", async () => {
    signedIn("editor");
    mockFetch(
      analyticsRoutes([
        { day: "2026-12-01", conversations: 3, turns: 12, stopped: 1 },
        { day: "2026-12-02", conversations: 2, turns: 8, stopped: 4 },
      ]),
    );
    renderAt(<AnalyticsPage />);
    const panel = await screen.findByTestId("analytics-conversations");
    expect(await within(panel).findByTestId("analytics-total-questions")).toHaveTextContent("20");
    expect(within(panel).getByTestId("analytics-total-stopped")).toHaveTextContent("5");
    expect(within(panel).getByText("Stopped answers (25% of questions)")).toBeInTheDocument();
    expect(within(panel).getByRole("img")).toHaveAccessibleName(/2026-12-02 2 conversations, 8 questions, 4 stopped/);
  });

  it("says so when the period has no questions", async () => {
    signedIn("editor");
    mockFetch(analyticsRoutes([]));
    renderAt(<AnalyticsPage />);
    const panel = await screen.findByTestId("analytics-conversations");
    expect(await within(panel).findByText("No data for this period yet.")).toBeInTheDocument();
    expect(within(panel).queryByTestId("analytics-total-stopped")).not.toBeInTheDocument();
  });
});
