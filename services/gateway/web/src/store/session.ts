// Who is signed in. The access token lives in memory only (this store): nothing is written to
// localStorage or a readable cookie, so a script from another origin has nothing to read. A page
// reload gets a new access token from the HttpOnly refresh cookie (see api/client.ts).
import { create } from "zustand";
import type { Role, Session, SessionUser } from "../api/types";

export type SessionStatus = "unknown" | "signed-in" | "signed-out";

interface SessionState {
  status: SessionStatus;
  accessToken: string | null;
  /** When the access token expires (ms since the epoch). */
  expiresAt: number | null;
  user: SessionUser | null;
  signIn: (session: Session) => void;
  signOut: () => void;
}

export const useSession = create<SessionState>((set) => ({
  status: "unknown",
  accessToken: null,
  expiresAt: null,
  user: null,
  signIn: (session) =>
    set({
      status: "signed-in",
      accessToken: session.access_token,
      expiresAt: Date.now() + session.expires_in * 1000,
      user: session.user,
    }),
  signOut: () => set({ status: "signed-out", accessToken: null, expiresAt: null, user: null }),
}));

export function currentRole(): Role | null {
  return useSession.getState().user?.role ?? null;
}
