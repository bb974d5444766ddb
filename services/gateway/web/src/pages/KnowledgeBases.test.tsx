import { screen, within } from "@testing-library/react";
import { afterEach, describe, expect, it, vi } from "vitest";
import { mockFetch, renderAt, signedIn } from "../test/utils";
import { KnowledgeBasesPage } from "./KnowledgeBases";

describe("knowledge base list", () => {
  afterEach(() => vi.unstubAllGlobals());

  it("lists knowledge bases with their stats and last crawl", async () => {
    signedIn("editor");
    mockFetch({
      "GET /api/v1/knowledge-bases": () => ({
        body: {
          items: [
            {
              id: "kb-1",
              name: "Product docs",
              description: "docs.example.com",
              created_at: "2026-11-20T10:00:00Z",
              updated_at: "2026-11-20T10:00:00Z",
              stats: { pages: 1234, chunks: 5678, last_indexed_at: null, last_crawl: { id: "c1", state: "done", fetched: 1234, failed: 2, created_at: "2026-11-21T10:00:00Z", updated_at: "2026-11-21T10:05:00Z" } },
            },
          ],
        },
      }),
    });
    renderAt(<KnowledgeBasesPage />);
    const row = await screen.findByTestId("kb-row");
    expect(within(row).getByRole("link", { name: "Product docs" })).toHaveAttribute("href", "/knowledge-bases/kb-1");
    expect(row).toHaveTextContent("1,234");
    expect(row).toHaveTextContent("5,678");
    expect(row).toHaveTextContent("done");
    expect(screen.getByRole("form", { name: "New knowledge base" })).toBeInTheDocument();
  });

  it("shows the empty state, and no create form for an agent", async () => {
    signedIn("agent");
    mockFetch({ "GET /api/v1/knowledge-bases": () => ({ body: { items: [] } }) });
    renderAt(<KnowledgeBasesPage />);
    expect(await screen.findByText(/No knowledge bases yet/)).toBeInTheDocument();
    expect(screen.queryByRole("form", { name: "New knowledge base" })).not.toBeInTheDocument();
  });

  it("shows the server's error message", async () => {
    signedIn("editor");
    mockFetch({ "GET /api/v1/knowledge-bases": () => ({ status: 503, body: { error: { code: "unavailable", message: "retriever is unavailable", request_id: "r9" } } }) });
    renderAt(<KnowledgeBasesPage />);
    expect(await screen.findByRole("alert")).toHaveTextContent("retriever is unavailable");
  });
});
