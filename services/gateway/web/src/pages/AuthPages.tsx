// Sign in, register an organisation, and accept an invitation. Each ends with a Session whose
// access token stays in memory; the refresh token arrives as an HttpOnly cookie.
import { useState, type FormEvent, type ReactNode } from "react";
import { Link, useNavigate, useSearchParams } from "react-router";
import { api } from "../api/client";
import type { Session } from "../api/types";
import { ThemeToggle } from "../components/Layout";
import { Button, ErrorBox, TextField } from "../components/ui";
import { useSession } from "../store/session";

function AuthFrame({ title, children }: { title: string; children: ReactNode }) {
  return (
    <main className="flex min-h-screen items-center justify-center px-4">
      <div className="w-full max-w-sm">
        <div className="mb-6 flex items-center justify-between">
          <span className="text-lg font-semibold text-indigo-700 dark:text-indigo-300">ragchat</span>
          <ThemeToggle />
        </div>
        <h1 className="mb-4 text-2xl font-semibold">{title}</h1>
        {children}
      </div>
    </main>
  );
}

/** Submit a form that yields a Session, then go to `next` (only same-site paths). */
function useSessionForm(path: string) {
  const signIn = useSession((s) => s.signIn);
  const navigate = useNavigate();
  const [params] = useSearchParams();
  const [error, setError] = useState<unknown>(null);
  const [busy, setBusy] = useState(false);
  const next = params.get("next");
  const target = next && next.startsWith("/") && !next.startsWith("//") ? next : "/";

  const submit = async (body: Record<string, string>) => {
    setBusy(true);
    setError(null);
    try {
      const session = await api<Session>(path, { method: "POST", body, anonymous: true });
      signIn(session);
      navigate(target, { replace: true });
    } catch (err) {
      setError(err);
    } finally {
      setBusy(false);
    }
  };
  return { submit, error, busy };
}

export function LoginPage() {
  const { submit, error, busy } = useSessionForm("/auth/login");
  const [email, setEmail] = useState("");
  const [password, setPassword] = useState("");
  const onSubmit = (event: FormEvent) => {
    event.preventDefault();
    void submit({ email, password });
  };
  return (
    <AuthFrame title="Sign in">
      <form onSubmit={onSubmit} className="space-y-4" aria-label="Sign in">
        <TextField label="Email" type="email" autoComplete="username" required value={email} onChange={(e) => setEmail(e.target.value)} data-testid="signin-email" />
        <TextField label="Password" type="password" autoComplete="current-password" required value={password} onChange={(e) => setPassword(e.target.value)} data-testid="signin-password" />
        <ErrorBox error={error} />
        <Button type="submit" disabled={busy} className="w-full" data-testid="signin-submit">
          {busy ? "Signing in…" : "Sign in"}
        </Button>
      </form>
      <p className="mt-4 text-sm">
        New here?{" "}
        <Link to="/register" className="text-indigo-700 underline dark:text-indigo-300">
          Create an organisation
        </Link>
      </p>
    </AuthFrame>
  );
}

export function RegisterPage() {
  const { submit, error, busy } = useSessionForm("/auth/register");
  const [email, setEmail] = useState("");
  const [password, setPassword] = useState("");
  const [organization, setOrganization] = useState("");
  const onSubmit = (event: FormEvent) => {
    event.preventDefault();
    void submit({ email, password, organization_name: organization });
  };
  return (
    <AuthFrame title="Create an organisation">
      <form onSubmit={onSubmit} className="space-y-4" aria-label="Register">
        <TextField label="Organisation name" required value={organization} onChange={(e) => setOrganization(e.target.value)} data-testid="register-org" />
        <TextField label="Email" type="email" autoComplete="username" required value={email} onChange={(e) => setEmail(e.target.value)} data-testid="register-email" />
        <TextField label="Password" type="password" autoComplete="new-password" required minLength={10} maxLength={256} value={password} onChange={(e) => setPassword(e.target.value)} data-testid="register-password" hint="10 to 256 characters." />
        <ErrorBox error={error} />
        <Button type="submit" disabled={busy} className="w-full" data-testid="register-submit">
          {busy ? "Creating…" : "Create organisation"}
        </Button>
      </form>
      <p className="mt-4 text-sm">
        Already have an account?{" "}
        <Link to="/login" className="text-indigo-700 underline dark:text-indigo-300">
          Sign in
        </Link>
      </p>
    </AuthFrame>
  );
}

export function AcceptInvitationPage() {
  const [params] = useSearchParams();
  const token = params.get("token") ?? "";
  const { submit, error, busy } = useSessionForm("/auth/invitations/accept");
  const [password, setPassword] = useState("");
  const onSubmit = (event: FormEvent) => {
    event.preventDefault();
    void submit({ token, password });
  };
  return (
    <AuthFrame title="Accept your invitation">
      {!token ? (
        <p role="alert" data-testid="form-error" className="text-sm">
          This link has no invitation token. Ask your administrator for a new invitation link.
        </p>
      ) : (
        <form onSubmit={onSubmit} className="space-y-4" aria-label="Accept invitation">
          <TextField label="Choose a password" type="password" autoComplete="new-password" required minLength={10} maxLength={256} value={password} onChange={(e) => setPassword(e.target.value)} data-testid="invite-password" hint="10 to 256 characters." />
          <ErrorBox error={error} />
          <Button type="submit" disabled={busy} className="w-full" data-testid="invite-submit">
            {busy ? "Joining…" : "Join"}
          </Button>
        </form>
      )}
    </AuthFrame>
  );
}
