// The signed-in frame: a top bar with the navigation (collapsed behind a menu button on phones),
// the theme toggle and sign-out; the screen below. Links appear only for the user's role.
import { useState } from "react";
import { NavLink, Outlet, useNavigate } from "react-router";
import { api } from "../api/client";
import { canSee, type Screen } from "../lib/roles";
import { useSession } from "../store/session";
import { useTheme } from "../store/theme";

interface NavItem {
  to: string;
  label: string;
  screen: Screen;
  testId: string;
}

const ITEMS: NavItem[] = [
  { to: "/chat", label: "Chat", screen: "chat", testId: "nav-chat" },
  { to: "/knowledge-bases", label: "Knowledge bases", screen: "knowledge-bases", testId: "nav-knowledge-bases" },
  { to: "/analytics", label: "Analytics", screen: "analytics", testId: "nav-analytics" },
  { to: "/admin/users", label: "Admin", screen: "admin", testId: "nav-admin" },
];

export function ThemeToggle() {
  const { theme, toggle } = useTheme();
  return (
    <button
      type="button"
      onClick={toggle}
      data-testid="theme-toggle"
      aria-label={theme === "dark" ? "Switch to light mode" : "Switch to dark mode"}
      className="rounded-md p-2 text-slate-600 hover:bg-slate-100 dark:text-slate-300 dark:hover:bg-slate-800"
    >
      <span aria-hidden>{theme === "dark" ? "☀" : "☾"}</span>
    </button>
  );
}

export function NavLinks({ onNavigate }: { onNavigate?: () => void }) {
  const role = useSession((s) => s.user?.role);
  return (
    <>
      {ITEMS.filter((item) => canSee(role, item.screen)).map((item) => (
        <NavLink
          key={item.to}
          to={item.to}
          data-testid={item.testId}
          onClick={onNavigate}
          className={({ isActive }) =>
            `block rounded-md px-3 py-2 text-sm font-medium ${
              isActive
                ? "bg-indigo-50 text-indigo-700 dark:bg-indigo-950 dark:text-indigo-200"
                : "text-slate-700 hover:bg-slate-100 dark:text-slate-200 dark:hover:bg-slate-800"
            }`
          }
        >
          {item.label}
        </NavLink>
      ))}
    </>
  );
}

export function Layout() {
  const [open, setOpen] = useState(false);
  const user = useSession((s) => s.user);
  const signOut = useSession((s) => s.signOut);
  const navigate = useNavigate();

  const onSignOut = async () => {
    try {
      await api("/auth/logout", { method: "POST", body: {} });
    } catch {
      // The local session ends anyway; the refresh cookie expires on its own.
    }
    signOut();
    navigate("/login");
  };

  return (
    <div className="min-h-screen">
      <a href="#main" className="sr-only focus:not-sr-only focus:absolute focus:left-2 focus:top-2 focus:rounded focus:bg-white focus:p-2 focus:text-slate-900">
        Skip to content
      </a>
      <header className="border-b border-slate-200 bg-white dark:border-slate-800 dark:bg-slate-900">
        {/* One navigation for every width (no duplicate links): a row from md up, a menu below. */}
        <div className="mx-auto flex max-w-6xl flex-wrap items-center gap-2 px-4 py-2">
          <span className="mr-4 font-semibold text-indigo-700 dark:text-indigo-300">ragchat</span>
          <div className="ml-auto flex items-center gap-1 md:order-last">
            <span className="hidden text-xs text-slate-500 sm:inline dark:text-slate-400" data-testid="current-user">
              {user?.email} · {user?.role}
            </span>
            <ThemeToggle />
            <button
              type="button"
              onClick={onSignOut}
              data-testid="signout"
              className="rounded-md px-3 py-2 text-sm text-slate-700 hover:bg-slate-100 dark:text-slate-200 dark:hover:bg-slate-800"
            >
              Sign out
            </button>
            <button
              type="button"
              className="rounded-md p-2 md:hidden"
              aria-expanded={open}
              aria-controls="main-nav"
              aria-label="Menu"
              data-testid="nav-menu-toggle"
              onClick={() => setOpen((v) => !v)}
            >
              <span aria-hidden>☰</span>
            </button>
          </div>
          <nav
            id="main-nav"
            aria-label="Main"
            className={`${open ? "flex" : "hidden"} w-full flex-col gap-1 border-t border-slate-200 pt-2 md:flex md:w-auto md:flex-1 md:flex-row md:border-0 md:pt-0 dark:border-slate-800`}
          >
            <NavLinks onNavigate={() => setOpen(false)} />
          </nav>
        </div>
      </header>
      <main id="main" className="mx-auto max-w-6xl px-4 py-6">
        <Outlet />
      </main>
    </div>
  );
}
