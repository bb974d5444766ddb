// Route guards: wait for the session restored from the refresh cookie, send strangers to sign-in,
// and keep roles out of screens they may not use.
import type { ReactNode } from "react";
import { Navigate, useLocation } from "react-router";
import { canSee, type Screen } from "../lib/roles";
import { useSession } from "../store/session";
import { Loading } from "./ui";

export function RequireSession({ children }: { children: ReactNode }) {
  const status = useSession((s) => s.status);
  const location = useLocation();
  if (status === "unknown") return <Loading label="Restoring your session…" />;
  if (status === "signed-out") {
    const next = encodeURIComponent(location.pathname + location.search);
    return <Navigate to={`/login?next=${next}`} replace />;
  }
  return <>{children}</>;
}

export function RequireRole({ screen, children }: { screen: Screen; children: ReactNode }) {
  const role = useSession((s) => s.user?.role);
  if (!canSee(role, screen)) {
    return (
      <p role="alert" className="text-sm">
        Your role ({role ?? "none"}) cannot open this screen.
      </p>
    );
  }
  return <>{children}</>;
}

/** Where a signed-in user starts: chat for everyone; knowledge bases for people who manage them. */
export function HomeRedirect() {
  const role = useSession((s) => s.user?.role);
  return <Navigate to={canSee(role, "knowledge-bases") ? "/knowledge-bases" : "/chat"} replace />;
}
