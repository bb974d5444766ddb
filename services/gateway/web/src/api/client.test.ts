import { afterEach, beforeEach, describe, expect, it, vi } from "vitest";
import { useSession } from "../store/session";
import { mockFetch, signedIn } from "../test/utils";
import { api, ApiError, freshToken } from "./client";

const refreshed = {
  access_token: "access-token-2",
  token_type: "bearer",
  expires_in: 900,
  user: { id: "u1", email: "ana@example.com", role: "editor", tenant_id: "t1" },
};

describe("API client", () => {
  beforeEach(() => signedIn("editor"));
  afterEach(() => vi.unstubAllGlobals());

  it("refreshes an expired access token from the cookie once, then retries", async () => {
    const { calls } = mockFetch({
      "GET /api/v1/knowledge-bases": ({ headers }) =>
        headers.Authorization === "Bearer access-token-2"
          ? { body: { items: [] } }
          : { status: 401, body: { error: { code: "unauthenticated", message: "token expired" } } },
      "POST /api/v1/auth/refresh": () => ({ body: refreshed }),
    });
    await expect(api("/knowledge-bases")).resolves.toEqual({ items: [] });
    expect(calls.map((c) => `${c.method} ${c.url}`)).toEqual([
      "GET /api/v1/knowledge-bases",
      "POST /api/v1/auth/refresh",
      "GET /api/v1/knowledge-bases",
    ]);
    expect(calls[1].headers.Authorization).toBeUndefined();
    expect(useSession.getState().accessToken).toBe("access-token-2");
  });

  it("signs out when the refresh cookie is no longer valid, with the server's message", async () => {
    mockFetch({
      "GET /api/v1/users": () => ({ status: 401, body: { error: { code: "unauthenticated", message: "token expired" } } }),
      "POST /api/v1/auth/refresh": () => ({ status: 401, body: { error: { code: "unauthenticated", message: "no session" } } }),
    });
    const error = await api("/users").catch((e: unknown) => e);
    expect(error).toBeInstanceOf(ApiError);
    expect((error as ApiError).message).toBe("token expired");
    expect(useSession.getState().status).toBe("signed-out");
    expect(useSession.getState().accessToken).toBeNull();
  });

  it("hands streams a token refreshed shortly before it expires", async () => {
    useSession.setState({ expiresAt: Date.now() + 5_000 });
    mockFetch({ "POST /api/v1/auth/refresh": () => ({ body: refreshed }) });
    await expect(freshToken()).resolves.toBe("access-token-2");
  });
});
