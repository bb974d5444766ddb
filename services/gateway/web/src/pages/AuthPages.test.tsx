import { screen, waitFor } from "@testing-library/react";
import userEvent from "@testing-library/user-event";
import { afterEach, beforeEach, describe, expect, it, vi } from "vitest";
import { useSession } from "../store/session";
import { mockFetch, renderAt } from "../test/utils";
import { AcceptInvitationPage, LoginPage } from "./AuthPages";

const session = {
  access_token: "jwt-abc",
  refresh_token: "refresh-xyz",
  token_type: "bearer",
  expires_in: 900,
  user: { id: "u1", email: "ana@example.com", role: "admin", tenant_id: "t1" },
};

describe("sign-in form", () => {
  beforeEach(() => useSession.setState({ status: "signed-out", accessToken: null, user: null }));
  afterEach(() => vi.unstubAllGlobals());

  it("signs in, keeps the token in memory only, and goes to the requested page", async () => {
    const { calls } = mockFetch({ "POST /api/v1/auth/login": () => ({ body: session }) });
    const setItem = vi.spyOn(Storage.prototype, "setItem");
    renderAt(<LoginPage />, { route: "/login?next=/analytics", path: "/login" });

    await userEvent.type(screen.getByLabelText("Email"), "ana@example.com");
    await userEvent.type(screen.getByLabelText("Password"), "s3cret-pass");
    await userEvent.click(screen.getByRole("button", { name: "Sign in" }));

    await waitFor(() => expect(screen.getByTestId("elsewhere")).toBeInTheDocument());
    expect(calls[0].body).toEqual({ email: "ana@example.com", password: "s3cret-pass" });
    expect(calls[0].headers.Authorization).toBeUndefined();
    expect(useSession.getState().accessToken).toBe("jwt-abc");
    expect(useSession.getState().user?.role).toBe("admin");
    expect(setItem).not.toHaveBeenCalled();
    expect(document.cookie).not.toContain("jwt-abc");
  });

  it("shows the server's error message and stays on the form", async () => {
    mockFetch({
      "POST /api/v1/auth/login": () => ({
        status: 401,
        body: { error: { code: "unauthenticated", message: "Wrong email or password", request_id: "r1" } },
      }),
    });
    renderAt(<LoginPage />, { route: "/login", path: "/login" });

    await userEvent.type(screen.getByLabelText("Email"), "ana@example.com");
    await userEvent.type(screen.getByLabelText("Password"), "nope");
    await userEvent.click(screen.getByRole("button", { name: "Sign in" }));

    expect(await screen.findByRole("alert")).toHaveTextContent("Wrong email or password");
    expect(useSession.getState().status).toBe("signed-out");
    expect(screen.getByRole("button", { name: "Sign in" })).toBeEnabled();
  });
});

describe("accept invitation", () => {
  beforeEach(() => useSession.setState({ status: "signed-out", accessToken: null, user: null }));
  afterEach(() => vi.unstubAllGlobals());

  it("joins with the token from the link and the chosen password", async () => {
    const { calls } = mockFetch({ "POST /api/v1/auth/invitations/accept": () => ({ body: session }) });
    renderAt(<AcceptInvitationPage />, { route: "/invite?token=inv-123", path: "/invite" });
    await userEvent.type(screen.getByLabelText("Choose a password"), "a-long-password");
    await userEvent.click(screen.getByRole("button", { name: "Join" }));
    await waitFor(() => expect(screen.getByTestId("elsewhere")).toBeInTheDocument());
    expect(calls[0].body).toEqual({ token: "inv-123", password: "a-long-password" });
    expect(useSession.getState().status).toBe("signed-in");
  });

  it("explains a link without a token instead of showing a form", () => {
    renderAt(<AcceptInvitationPage />, { route: "/invite", path: "/invite" });
    expect(screen.getByRole("alert")).toHaveTextContent("no invitation token");
    expect(screen.queryByRole("button", { name: "Join" })).not.toBeInTheDocument();
  });
});
