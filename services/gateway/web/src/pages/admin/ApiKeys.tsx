// API keys: create one (the secret is shown once, in a dialog, and never again), list them,
// revoke them. Widget keys only chat and only from their allowed origins.
import { useMutation, useQuery, useQueryClient } from "@tanstack/react-query";
import { useState, type FormEvent } from "react";
import { api } from "../../api/client";
import { keys, useKnowledgeBases } from "../../api/hooks";
import type { ApiKey, CreatedApiKey } from "../../api/types";
import { Button, Card, Checkbox, Dialog, Empty, ErrorBox, Loading, PageTitle, SelectField, TextArea, TextField } from "../../components/ui";
import { formatDate, lines, listFrom } from "../../lib/format";
import { AdminTabs } from "./AdminTabs";

const SCOPES = ["chat", "ingest", "read"] as const;

/** The one time the secret is visible: copy it now. */
export function ShownOnceDialog({ created, onClose }: { created: CreatedApiKey; onClose: () => void }) {
  const [copied, setCopied] = useState(false);
  const copy = async () => {
    try {
      await navigator.clipboard.writeText(created.key);
      setCopied(true);
    } catch {
      setCopied(false);
    }
  };
  return (
    <Dialog title={`Key “${created.api_key.name}” created`} onClose={onClose} testId="apikey-dialog">
      <p className="mb-2 text-sm">Copy the key now. It is shown only once: after you close this dialog nobody can see it again.</p>
      <code data-testid="apikey-secret" className="block break-all rounded-md bg-slate-100 p-2 font-mono text-sm dark:bg-slate-800">
        {created.key}
      </code>
      <div className="mt-4 flex justify-end gap-2">
        <Button variant="secondary" onClick={copy} data-testid="apikey-copy">
          {copied ? "Copied" : "Copy"}
        </Button>
        <Button onClick={onClose} data-testid="apikey-dialog-close">
          I have copied it
        </Button>
      </div>
    </Dialog>
  );
}

function CreateKey({ onCreated }: { onCreated: (created: CreatedApiKey) => void }) {
  const queryClient = useQueryClient();
  const kbs = useKnowledgeBases();
  const [name, setName] = useState("");
  const [kind, setKind] = useState<"server" | "widget">("widget");
  const [scopes, setScopes] = useState<string[]>(["chat"]);
  const [kbIds, setKbIds] = useState<string[]>([]);
  const [origins, setOrigins] = useState("");
  const create = useMutation({
    mutationFn: () =>
      api<CreatedApiKey>("/api-keys", {
        body: {
          name,
          kind,
          scopes: kind === "widget" ? ["chat"] : scopes,
          kb_ids: kbIds,
          allowed_origins: kind === "widget" ? lines(origins) : [],
        },
      }),
    onSuccess: async (created) => {
      setName("");
      setOrigins("");
      onCreated(created);
      await queryClient.invalidateQueries({ queryKey: keys.apiKeys });
    },
  });
  const onSubmit = (event: FormEvent) => {
    event.preventDefault();
    create.mutate();
  };
  return (
    <Card>
      <h2 className="mb-3 font-semibold">New API key</h2>
      <form onSubmit={onSubmit} className="space-y-3" aria-label="New API key">
        <p className="text-xs text-slate-500 dark:text-slate-400">Keys do not expire: revoke a key to stop it.</p>
        <div className="grid gap-3 sm:grid-cols-2">
          <TextField label="Name" required maxLength={200} value={name} onChange={(e) => setName(e.target.value)} data-testid="apikey-name" />
          <SelectField label="Kind" value={kind} onChange={(e) => setKind(e.target.value as "server" | "widget")} data-testid="apikey-kind">
            <option value="widget">Widget (public, chat only, from allowed origins)</option>
            <option value="server">Server (secret, for scripts)</option>
          </SelectField>
        </div>
        {kind === "server" ? (
          <fieldset>
            <legend className="text-sm font-medium">Scopes</legend>
            <div className="mt-1 flex gap-4">
              {SCOPES.map((scope) => (
                <Checkbox key={scope} label={scope} checked={scopes.includes(scope)} onChange={(e) => setScopes(e.target.checked ? [...scopes, scope] : scopes.filter((s) => s !== scope))} data-testid={`apikey-scope-${scope}`} />
              ))}
            </div>
          </fieldset>
        ) : (
          <TextArea label="Allowed origins" hint="One per line, e.g. https://www.example.com" rows={2} required value={origins} onChange={(e) => setOrigins(e.target.value)} data-testid="apikey-origins" />
        )}
        {kbs.data && kbs.data.length > 0 && (
          <fieldset>
            <legend className="text-sm font-medium">Knowledge bases (at least one)</legend>
            <div className="mt-1 flex flex-wrap gap-3" data-testid="apikey-kbs">
              {kbs.data.map((kb) => (
                <Checkbox key={kb.id} label={kb.name} checked={kbIds.includes(kb.id)} onChange={(e) => setKbIds(e.target.checked ? [...kbIds, kb.id] : kbIds.filter((id) => id !== kb.id))} />
              ))}
            </div>
          </fieldset>
        )}
        <ErrorBox error={create.error} />
        <Button type="submit" disabled={create.isPending || (!!kbs.data?.length && !kbIds.length)} data-testid="apikey-create">
          Create key
        </Button>
      </form>
    </Card>
  );
}

function KeyRow({ apiKey }: { apiKey: ApiKey }) {
  const queryClient = useQueryClient();
  const revoke = useMutation({
    mutationFn: () => api(`/api-keys/${apiKey.id}`, { method: "DELETE" }),
    onSuccess: () => queryClient.invalidateQueries({ queryKey: keys.apiKeys }),
  });
  return (
    <tr data-testid="apikey-row" data-revoked={apiKey.revoked_at ? "true" : "false"} className="border-t border-slate-200 align-top dark:border-slate-800">
      <td className="py-2 pr-3">
        <div className="font-medium">{apiKey.name}</div>
        <code className="text-xs text-slate-500">{apiKey.prefix}…</code>
      </td>
      <td className="py-2 pr-3">
        {apiKey.kind && <span className="block text-xs text-slate-500">{apiKey.kind}</span>}
        {apiKey.scopes.join(", ")}
      </td>
      <td className="py-2 pr-3 text-xs break-all">{apiKey.allowed_origins.join(", ") || "—"}</td>
      <td className="py-2 pr-3 text-xs">{formatDate(apiKey.last_used_at)}</td>
      <td className="py-2 text-right">
        {apiKey.revoked_at ? (
          <span className="text-xs text-slate-500">revoked {formatDate(apiKey.revoked_at)}</span>
        ) : (
          <Button
            variant="ghost"
            disabled={revoke.isPending}
            onClick={() => {
              if (window.confirm(`Revoke ${apiKey.name}? Anything using it stops working.`)) revoke.mutate();
            }}
            aria-label={`Revoke ${apiKey.name}`}
            data-testid="apikey-revoke"
          >
            Revoke
          </Button>
        )}
        <ErrorBox error={revoke.error} />
      </td>
    </tr>
  );
}

export function ApiKeysPage() {
  const [created, setCreated] = useState<CreatedApiKey | null>(null);
  const list = useQuery({ queryKey: keys.apiKeys, queryFn: async () => listFrom<ApiKey>(await api<unknown>("/api-keys"), "api_keys", "keys") });
  return (
    <div>
      <PageTitle>Administration</PageTitle>
      <AdminTabs />
      <div className="space-y-4">
        <CreateKey onCreated={setCreated} />
        <Card>
          <h2 className="mb-2 font-semibold">Keys</h2>
          {list.isPending ? (
            <Loading />
          ) : list.error ? (
            <ErrorBox error={list.error} />
          ) : !list.data.length ? (
            <Empty>No API keys yet.</Empty>
          ) : (
            <div className="overflow-x-auto">
              <table className="w-full min-w-[36rem] text-left text-sm">
                <thead>
                  <tr className="text-xs text-slate-500">
                    <th className="py-1 pr-3">Name</th>
                    <th className="py-1 pr-3">Scopes</th>
                    <th className="py-1 pr-3">Allowed origins</th>
                    <th className="py-1 pr-3">Last used</th>
                    <th className="py-1">
                      <span className="sr-only">Actions</span>
                    </th>
                  </tr>
                </thead>
                <tbody>
                  {list.data.map((k) => (
                    <KeyRow key={k.id} apiKey={k} />
                  ))}
                </tbody>
              </table>
            </div>
          )}
        </Card>
      </div>
      {created && <ShownOnceDialog created={created} onClose={() => setCreated(null)} />}
    </div>
  );
}
