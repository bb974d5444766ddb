// Users of the organisation: change roles, remove people, invite new ones (the invitation link is
// shown once, to pass on).
import { useMutation, useQuery, useQueryClient } from "@tanstack/react-query";
import { useState, type FormEvent } from "react";
import { api } from "../../api/client";
import { keys, useKnowledgeBases } from "../../api/hooks";
import type { Invitation, Role, User } from "../../api/types";
import { Button, Card, Dialog, Empty, ErrorBox, Loading, PageTitle, SelectField, TextField } from "../../components/ui";
import { listFrom } from "../../lib/format";
import { ASSIGNABLE_ROLES } from "../../lib/roles";
import { useSession } from "../../store/session";
import { AdminTabs } from "./AdminTabs";

function KbPicker({ value, onChange, testId }: { value: string[]; onChange: (ids: string[]) => void; testId: string }) {
  const kbs = useKnowledgeBases();
  if (kbs.isPending) return <Loading />;
  if (!kbs.data?.length) return <Empty>No knowledge bases yet.</Empty>;
  return (
    <fieldset>
      <legend className="text-sm font-medium">Knowledge bases</legend>
      <div className="mt-1 flex flex-wrap gap-3" data-testid={testId}>
        {kbs.data.map((kb) => (
          <label key={kb.id} className="flex items-center gap-1 text-sm">
            <input type="checkbox" checked={value.includes(kb.id)} onChange={(e) => onChange(e.target.checked ? [...value, kb.id] : value.filter((id) => id !== kb.id))} />
            {kb.name}
          </label>
        ))}
      </div>
    </fieldset>
  );
}

function Invite() {
  const [email, setEmail] = useState("");
  const [role, setRole] = useState<Role>("agent");
  const invite = useMutation({
    mutationFn: () => api<Invitation>("/invitations", { body: { email, role } }),
  });
  const onSubmit = (event: FormEvent) => {
    event.preventDefault();
    invite.mutate();
  };
  const link = invite.data ? `${window.location.origin}/invite?token=${encodeURIComponent(invite.data.token)}` : "";
  return (
    <Card>
      <h2 className="mb-3 font-semibold">Invite someone</h2>
      <form onSubmit={onSubmit} className="space-y-3" aria-label="Invite">
        <div className="grid gap-3 sm:grid-cols-2">
          <TextField label="Email" type="email" required value={email} onChange={(e) => setEmail(e.target.value)} data-testid="invite-email" />
          <SelectField label="Role" value={role} onChange={(e) => setRole(e.target.value as Role)} data-testid="invite-role">
            {ASSIGNABLE_ROLES.map((r) => (
              <option key={r} value={r}>
                {r}
              </option>
            ))}
          </SelectField>
        </div>
        <p className="text-xs text-slate-500 dark:text-slate-400">Editors, agents and viewers reach only the knowledge bases you grant them once they have joined (Grants, in the list below).</p>
        <ErrorBox error={invite.error} />
        <Button type="submit" disabled={invite.isPending} data-testid="invite-create">
          Create invitation
        </Button>
      </form>
      {invite.data && (
        <div className="mt-3 rounded-md bg-green-50 p-3 text-sm dark:bg-green-950" role="status">
          <p>
            Send this link to {invite.data.email} (valid until {new Date(invite.data.expires_at).toLocaleString()}); it is shown only now:
          </p>
          <code className="mt-1 block break-all" data-testid="invite-link">
            {link}
          </code>
        </div>
      )}
    </Card>
  );
}

/** Replace a user's knowledge-base grants (PUT /users/{id}/grants). */
function GrantsDialog({ user, onClose }: { user: User; onClose: () => void }) {
  const [kbIds, setKbIds] = useState<string[]>([]);
  const save = useMutation({
    mutationFn: () => api(`/users/${user.id}/grants`, { method: "PUT", body: { kb_ids: kbIds } }),
    onSuccess: onClose,
  });
  return (
    <Dialog title={`Knowledge bases of ${user.email}`} onClose={onClose} testId="grants-dialog">
      <p className="mb-3 text-sm">The knowledge bases chosen here replace everything {user.email} could reach before.</p>
      <KbPicker value={kbIds} onChange={setKbIds} testId="grants-kbs" />
      <ErrorBox error={save.error} />
      <div className="mt-4 flex justify-end gap-2">
        <Button variant="secondary" onClick={onClose}>
          Cancel
        </Button>
        <Button onClick={() => save.mutate()} disabled={save.isPending} data-testid="grants-save">
          Save grants
        </Button>
      </div>
    </Dialog>
  );
}

function UserRow({ user, self }: { user: User; self: boolean }) {
  const [granting, setGranting] = useState(false);
  const queryClient = useQueryClient();
  const update = useMutation({
    mutationFn: (role: Role) => api(`/users/${user.id}`, { method: "PATCH", body: { role } }),
    onSuccess: () => queryClient.invalidateQueries({ queryKey: keys.users }),
  });
  const remove = useMutation({
    mutationFn: () => api(`/users/${user.id}`, { method: "DELETE" }),
    onSuccess: () => queryClient.invalidateQueries({ queryKey: keys.users }),
  });
  return (
    <tr data-testid="user-row" className="border-t border-slate-200 dark:border-slate-800">
      <td className="py-2 pr-3 break-all">
        {user.email}
        {user.display_name && user.display_name !== user.email && <span className="block text-xs text-slate-500">{user.display_name}</span>}
      </td>
      <td className="py-2 pr-3">
        {user.role === "owner" || self ? (
          <span data-testid="user-role">{user.role}</span>
        ) : (
          <>
            <label className="sr-only" htmlFor={`role-${user.id}`}>
              Role of {user.email}
            </label>
            <select id={`role-${user.id}`} value={user.role} onChange={(e) => update.mutate(e.target.value as Role)} data-testid="user-role" className="rounded-md border border-slate-300 bg-white px-2 py-1 text-sm dark:border-slate-600 dark:bg-slate-900">
              {ASSIGNABLE_ROLES.map((r) => (
                <option key={r} value={r}>
                  {r}
                </option>
              ))}
            </select>
          </>
        )}
        <ErrorBox error={update.error ?? remove.error} />
      </td>
      <td className="py-2 text-right">
        {(user.role === "editor" || user.role === "agent" || user.role === "viewer") && (
          <Button variant="ghost" onClick={() => setGranting(true)} aria-label={`Knowledge bases of ${user.email}`} data-testid="user-grants">
            Grants
          </Button>
        )}
        {granting && <GrantsDialog user={user} onClose={() => setGranting(false)} />}
        {user.role !== "owner" && !self && (
          <Button
            variant="ghost"
            onClick={() => {
              if (window.confirm(`Remove ${user.email} from the organisation?`)) remove.mutate();
            }}
            aria-label={`Remove ${user.email}`}
            data-testid="user-remove"
          >
            Remove
          </Button>
        )}
      </td>
    </tr>
  );
}

export function UsersPage() {
  const self = useSession((s) => s.user?.id);
  const users = useQuery({ queryKey: keys.users, queryFn: async () => listFrom<User>(await api<unknown>("/users"), "users") });
  return (
    <div>
      <PageTitle>Administration</PageTitle>
      <AdminTabs />
      <div className="space-y-4">
        <Invite />
        <Card>
          <h2 className="mb-2 font-semibold">Users</h2>
          {users.isPending ? (
            <Loading />
          ) : users.error ? (
            <ErrorBox error={users.error} />
          ) : !users.data.length ? (
            <Empty>No users.</Empty>
          ) : (
            <div className="overflow-x-auto">
              <table className="w-full min-w-[36rem] text-left text-sm">
                <thead>
                  <tr className="text-xs text-slate-500">
                    <th className="py-1 pr-3">Email</th>
                    <th className="py-1 pr-3">Role</th>
                    <th className="py-1">
                      <span className="sr-only">Actions</span>
                    </th>
                  </tr>
                </thead>
                <tbody>
                  {users.data.map((user) => (
                    <UserRow key={user.id} user={user} self={user.id === self} />
                  ))}
                </tbody>
              </table>
            </div>
          )}
        </Card>
      </div>
    </div>
  );
}
