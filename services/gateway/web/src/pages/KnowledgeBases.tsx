// Knowledge bases: the list with their stats, and a form to create one.
import { useMutation, useQueryClient } from "@tanstack/react-query";
import { useState, type FormEvent } from "react";
import { Link, useNavigate } from "react-router";
import { api } from "../api/client";
import { keys, useKnowledgeBases } from "../api/hooks";
import type { KnowledgeBase, KnowledgeBaseStats } from "../api/types";
import { Button, Card, Empty, ErrorBox, Loading, PageTitle, TextField } from "../components/ui";
import { formatDate, formatNumber } from "../lib/format";
import { canSee } from "../lib/roles";
import { useSession } from "../store/session";

export function lastCrawlText(stats?: KnowledgeBaseStats): string {
  const last = stats?.last_crawl;
  if (!last) return "never";
  if (typeof last === "string") return formatDate(last);
  const when = last.updated_at ?? last.created_at;
  return [last.state, when ? formatDate(when) : ""].filter(Boolean).join(" · ");
}

function CreateKnowledgeBase() {
  const queryClient = useQueryClient();
  const navigate = useNavigate();
  const [name, setName] = useState("");
  const [description, setDescription] = useState("");
  const create = useMutation({
    mutationFn: () => api<KnowledgeBase>("/knowledge-bases", { body: { name, description } }),
    onSuccess: async (kb) => {
      await queryClient.invalidateQueries({ queryKey: keys.knowledgeBases });
      navigate(`/knowledge-bases/${kb.id}`);
    },
  });
  const onSubmit = (event: FormEvent) => {
    event.preventDefault();
    create.mutate();
  };
  return (
    <Card>
      <h2 className="mb-3 font-semibold">New knowledge base</h2>
      <form onSubmit={onSubmit} className="grid gap-3 sm:grid-cols-[1fr_2fr_auto] sm:items-end" aria-label="New knowledge base">
        <TextField label="Name" required maxLength={200} value={name} onChange={(e) => setName(e.target.value)} data-testid="kb-new-name" />
        <TextField label="Description" value={description} onChange={(e) => setDescription(e.target.value)} data-testid="kb-new-description" />
        <Button type="submit" disabled={create.isPending} data-testid="kb-create">
          {create.isPending ? "Creating…" : "Create"}
        </Button>
      </form>
      <div className="mt-2">
        <ErrorBox error={create.error} />
      </div>
    </Card>
  );
}

export function KnowledgeBasesPage() {
  const role = useSession((s) => s.user?.role);
  const { data, isPending, error } = useKnowledgeBases();
  return (
    <div className="space-y-4">
      <PageTitle>Knowledge bases</PageTitle>
      {canSee(role, "kb-write") && <CreateKnowledgeBase />}
      {isPending ? (
        <Loading />
      ) : error ? (
        <ErrorBox error={error} />
      ) : !data?.length ? (
        <Empty>No knowledge bases yet. Create one, then crawl a website into it.</Empty>
      ) : (
        <ul className="grid gap-3 sm:grid-cols-2 lg:grid-cols-3">
          {data.map((kb) => (
            <li key={kb.id} data-testid="kb-row" data-kb-id={kb.id}>
              <Card className="h-full">
                <Link to={`/knowledge-bases/${kb.id}`} className="font-semibold text-indigo-700 underline-offset-2 hover:underline dark:text-indigo-300">
                  {kb.name}
                </Link>
                {kb.description && <p className="mt-1 text-sm text-slate-600 dark:text-slate-400">{kb.description}</p>}
                <dl className="mt-3 grid grid-cols-3 gap-2 text-xs">
                  <div>
                    <dt className="text-slate-500 dark:text-slate-400">Pages</dt>
                    <dd className="text-base font-medium">{formatNumber(kb.stats?.pages)}</dd>
                  </div>
                  <div>
                    <dt className="text-slate-500 dark:text-slate-400">Chunks</dt>
                    <dd className="text-base font-medium">{formatNumber(kb.stats?.chunks)}</dd>
                  </div>
                  <div>
                    <dt className="text-slate-500 dark:text-slate-400">Last crawl</dt>
                    <dd>{lastCrawlText(kb.stats)}</dd>
                  </div>
                </dl>
              </Card>
            </li>
          ))}
        </ul>
      )}
    </div>
  );
}
