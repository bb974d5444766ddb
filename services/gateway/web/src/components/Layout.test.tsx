import { screen } from "@testing-library/react";
import { afterEach, describe, expect, it, vi } from "vitest";
import type { Role } from "../api/types";
import { mockFetch, renderAt, signedIn } from "../test/utils";
import { RequireRole } from "./Guards";
import { Layout } from "./Layout";

function navNames(): string[] {
  const nav = screen.getByRole("navigation", { name: "Main" });
  return Array.from(nav.querySelectorAll("a")).map((a) => a.textContent ?? "");
}

describe("role-based navigation", () => {
  afterEach(() => vi.unstubAllGlobals());

  const cases: [Role, string[]][] = [
    ["viewer", ["Chat"]],
    ["agent", ["Chat", "Knowledge bases"]],
    ["editor", ["Chat", "Knowledge bases", "Analytics"]],
    ["admin", ["Chat", "Knowledge bases", "Analytics", "Admin"]],
    ["owner", ["Chat", "Knowledge bases", "Analytics", "Admin"]],
  ];

  it.each(cases)("%s sees %j", (role, expected) => {
    signedIn(role);
    renderAt(<Layout />);
    expect(navNames()).toEqual(expected);
  });

  it("keeps a viewer out of an admin screen opened by its address", () => {
    signedIn("viewer");
    mockFetch({});
    renderAt(
      <RequireRole screen="admin">
        <p>user list</p>
      </RequireRole>,
    );
    expect(screen.queryByText("user list")).not.toBeInTheDocument();
    expect(screen.getByRole("alert")).toHaveTextContent("Your role (viewer) cannot open this screen.");
  });
});
