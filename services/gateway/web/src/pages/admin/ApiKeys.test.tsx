import { screen, waitFor, within } from "@testing-library/react";
import userEvent from "@testing-library/user-event";
import { afterEach, beforeEach, describe, expect, it, vi } from "vitest";
import { mockFetch, renderAt, signedIn } from "../../test/utils";
import { ApiKeysPage } from "./ApiKeys";

const SECRET = "rck_live_5f2c0d0e9b8a7766554433221100ffee";

describe("API key shown once", () => {
  afterEach(() => vi.unstubAllGlobals());
  beforeEach(() => signedIn("admin"));

  it("shows the new key in a dialog, then never again", async () => {
    const created = {
      key: SECRET,
      api_key: {
        id: "k1",
        name: "Docs widget",
        prefix: "rck_live_5f2c",
        scopes: ["chat"],
        kb_ids: ["kb-1"],
        allowed_origins: ["https://www.example.com"],
        created_at: "2026-11-21T23:00:00Z",
        last_used_at: null,
        revoked_at: null,
      },
    };
    let keys: unknown[] = [];
    const { calls } = mockFetch({
      "GET /api/v1/api-keys": () => ({ body: { items: keys } }),
      "GET /api/v1/knowledge-bases": () => ({ body: { items: [{ id: "kb-1", name: "Docs", description: "", created_at: "", updated_at: "" }] } }),
      "POST /api/v1/api-keys": () => {
        keys = [created.api_key];
        return { status: 201, body: created };
      },
    });
    renderAt(<ApiKeysPage />);
    expect(await screen.findByText("No API keys yet.")).toBeInTheDocument();

    await userEvent.type(screen.getByLabelText("Name"), "Docs widget");
    await userEvent.type(screen.getByLabelText("Allowed origins"), "https://www.example.com");
    await userEvent.click(await screen.findByLabelText("Docs"));
    await userEvent.click(screen.getByRole("button", { name: "Create key" }));

    const dialog = await screen.findByRole("dialog", { name: /Docs widget/ });
    expect(within(dialog).getByTestId("apikey-secret")).toHaveTextContent(SECRET);
    expect(within(dialog).getByText(/shown only once/)).toBeInTheDocument();
    const post = calls.find((c) => c.method === "POST");
    expect(post?.body).toEqual({ name: "Docs widget", kind: "widget", scopes: ["chat"], kb_ids: ["kb-1"], allowed_origins: ["https://www.example.com"] });

    const row = await screen.findByTestId("apikey-row");
    expect(row).toHaveTextContent("rck_live_5f2c");
    expect(row).not.toHaveTextContent(SECRET);

    await userEvent.click(within(dialog).getByRole("button", { name: "I have copied it" }));
    await waitFor(() => expect(screen.queryByRole("dialog")).not.toBeInTheDocument());
    expect(document.body).not.toHaveTextContent(SECRET);
  });

  it("shows why a key was refused", async () => {
    mockFetch({
      "GET /api/v1/api-keys": () => ({ body: { items: [] } }),
      "GET /api/v1/knowledge-bases": () => ({ body: { items: [] } }),
      "POST /api/v1/api-keys": () => ({ status: 400, body: { error: { code: "invalid_argument", message: "not an origin (scheme://host[:port]): 'example'" } } }),
    });
    renderAt(<ApiKeysPage />);
    await userEvent.type(screen.getByLabelText("Name"), "Bad");
    await userEvent.type(screen.getByLabelText("Allowed origins"), "example");
    await userEvent.click(screen.getByRole("button", { name: "Create key" }));
    expect(await screen.findByRole("alert")).toHaveTextContent("not an origin");
    expect(screen.queryByRole("dialog")).not.toBeInTheDocument();
  });
});
