// Which screens a role reaches; mirrors the auth service's rule table (services/auth/.../rules.py)
// so the navigation never offers a screen whose API calls would be refused.
import type { Role } from "../api/types";

export type Screen = "knowledge-bases" | "kb-write" | "chat" | "analytics" | "admin" | "conversations";

const ALLOWED: Record<Screen, readonly Role[]> = {
  "knowledge-bases": ["owner", "admin", "editor", "agent"],
  "kb-write": ["owner", "admin", "editor"],
  chat: ["owner", "admin", "editor", "agent", "viewer"],
  conversations: ["owner", "admin", "editor", "agent", "viewer"],
  analytics: ["owner", "admin", "editor"],
  admin: ["owner", "admin"],
};

export function canSee(role: Role | null | undefined, screen: Screen): boolean {
  return !!role && ALLOWED[screen].includes(role);
}

export const ASSIGNABLE_ROLES: Role[] = ["admin", "editor", "agent", "viewer"];
