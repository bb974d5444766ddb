// The audit log with filters (action, actor, outcome, time range); filters apply on submit so
// typing does not fire a request per key.
import { useQuery } from "@tanstack/react-query";
import { useState, type FormEvent } from "react";
import { api } from "../../api/client";
import { keys } from "../../api/hooks";
import type { AuditEntry, User } from "../../api/types";
import { Button, Card, Empty, ErrorBox, Loading, PageTitle, SelectField, TextField } from "../../components/ui";
import { formatDate, listFrom } from "../../lib/format";
import { AdminTabs } from "./AdminTabs";

interface Filters {
  action: string;
  actor: string;
  outcome: string;
  since: string;
  until: string;
}

const EMPTY: Filters = { action: "", actor: "", outcome: "", since: "", until: "" };

function actorLabel(actor: AuditEntry["actor"]): string {
  if (typeof actor === "string") return actor;
  return actor?.label || actor?.id || actor?.kind || "—";
}

function hasDetail(detail: unknown): boolean {
  return !!detail && typeof detail === "object" && Object.keys(detail).length > 0;
}

function isoOrEmpty(local: string): string {
  return local ? new Date(local).toISOString() : "";
}

export function AuditPage() {
  const [draft, setDraft] = useState<Filters>(EMPTY);
  const [filters, setFilters] = useState<Filters>(EMPTY);
  const users = useQuery({ queryKey: keys.users, queryFn: async () => listFrom<User>(await api<unknown>("/users"), "users") });
  const entries = useQuery({
    queryKey: ["audit", filters],
    queryFn: async () =>
      listFrom<AuditEntry>(
        await api<unknown>("/audit", {
          query: { ...filters, since: isoOrEmpty(filters.since), until: isoOrEmpty(filters.until), limit: 200 },
        }),
        "entries",
      ),
  });
  const set = (key: keyof Filters) => (e: { target: { value: string } }) => setDraft({ ...draft, [key]: e.target.value });
  const onSubmit = (event: FormEvent) => {
    event.preventDefault();
    setFilters(draft);
  };
  return (
    <div>
      <PageTitle>Administration</PageTitle>
      <AdminTabs />
      <Card className="mb-4">
        <form onSubmit={onSubmit} className="grid gap-3 sm:grid-cols-3 lg:grid-cols-6 lg:items-end" aria-label="Audit filters">
          <TextField label="Action" placeholder="e.g. login, apikey.create" value={draft.action} onChange={set("action")} data-testid="audit-action" />
          <SelectField label="Actor" value={draft.actor} onChange={set("actor")} data-testid="audit-actor">
            <option value="">Anyone</option>
            {users.data?.map((u) => (
              <option key={u.id} value={u.id}>
                {u.email}
              </option>
            ))}
          </SelectField>
          <SelectField label="Outcome" value={draft.outcome} onChange={set("outcome")} data-testid="audit-outcome">
            <option value="">Any</option>
            <option value="success">success</option>
            <option value="denied">denied</option>
            <option value="failure">failure</option>
          </SelectField>
          <TextField label="Since" type="datetime-local" value={draft.since} onChange={set("since")} data-testid="audit-since" />
          <TextField label="Until" type="datetime-local" value={draft.until} onChange={set("until")} data-testid="audit-until" />
          <Button type="submit" data-testid="audit-apply">
            Apply
          </Button>
        </form>
      </Card>
      <Card>
        {entries.isPending ? (
          <Loading />
        ) : entries.error ? (
          <ErrorBox error={entries.error} />
        ) : !entries.data.length ? (
          <Empty>No audit entries match.</Empty>
        ) : (
          <div className="overflow-x-auto">
            <table className="w-full min-w-[36rem] text-left text-sm">
              <thead>
                <tr className="text-xs text-slate-500">
                  <th className="py-1 pr-3">Time</th>
                  <th className="py-1 pr-3">Actor</th>
                  <th className="py-1 pr-3">Action</th>
                  <th className="py-1 pr-3">Resource</th>
                  <th className="py-1 pr-3">Outcome</th>
                  <th className="py-1">IP</th>
                </tr>
              </thead>
              <tbody>
                {entries.data.map((e) => (
                  <tr key={String(e.id)} data-testid="audit-row" className="border-t border-slate-200 align-top dark:border-slate-800">
                    <td className="py-1 pr-3 whitespace-nowrap">{formatDate(e.time)}</td>
                    <td className="py-1 pr-3 break-all">{actorLabel(e.actor)}</td>
                    <td className="py-1 pr-3">
                      {e.action}
                      {hasDetail(e.detail) && (
                        <details className="text-xs text-slate-500">
                          <summary className="cursor-pointer">detail</summary>
                          <pre className="whitespace-pre-wrap break-all">{JSON.stringify(e.detail, null, 1)}</pre>
                        </details>
                      )}
                    </td>
                    <td className="py-1 pr-3 break-all">{e.resource}</td>
                    <td className="py-1 pr-3">{e.outcome}</td>
                    <td className="py-1">{e.ip}</td>
                  </tr>
                ))}
              </tbody>
            </table>
          </div>
        )}
      </Card>
    </div>
  );
}
