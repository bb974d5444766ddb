// One knowledge base: stats, indexed pages, its crawls (with re-crawl), and deletion behind a
// confirmation that asks for the name.
import { useMutation, useQuery, useQueryClient } from "@tanstack/react-query";
import { useState } from "react";
import { Link, useNavigate, useParams } from "react-router";
import { api, ApiError } from "../api/client";
import { keys } from "../api/hooks";
import type { Crawl, IndexedPage, KnowledgeBase } from "../api/types";
import { Button, Card, Dialog, Empty, ErrorBox, Loading, PageTitle, TextField } from "../components/ui";
import { formatDate, formatNumber, listFrom } from "../lib/format";
import { canSee } from "../lib/roles";
import { useSession } from "../store/session";
import { lastCrawlText } from "./KnowledgeBases";

const PAGE_SIZE = 50;
const FINISHED = ["done", "failed", "cancelled"];

function EditDialog({ kb, onClose }: { kb: KnowledgeBase; onClose: () => void }) {
  const queryClient = useQueryClient();
  const [name, setName] = useState(kb.name);
  const [description, setDescription] = useState(kb.description);
  const save = useMutation({
    mutationFn: () => api<KnowledgeBase>(`/knowledge-bases/${kb.id}`, { method: "PATCH", body: { name, description } }),
    onSuccess: async () => {
      await queryClient.invalidateQueries({ queryKey: keys.knowledgeBases });
      onClose();
    },
  });
  return (
    <Dialog title="Edit knowledge base" onClose={onClose} testId="kb-edit-dialog">
      <form
        className="space-y-3"
        onSubmit={(e) => {
          e.preventDefault();
          save.mutate();
        }}
      >
        <TextField label="Name" required maxLength={200} value={name} onChange={(e) => setName(e.target.value)} data-testid="kb-edit-name" />
        <TextField label="Description" maxLength={2000} value={description} onChange={(e) => setDescription(e.target.value)} data-testid="kb-edit-description" />
        <ErrorBox error={save.error} />
        <div className="flex justify-end gap-2">
          <Button variant="secondary" onClick={onClose}>
            Cancel
          </Button>
          <Button type="submit" disabled={save.isPending} data-testid="kb-edit-save">
            Save
          </Button>
        </div>
      </form>
    </Dialog>
  );
}

function Pages({ kbId }: { kbId: string }) {
  const [offset, setOffset] = useState(0);
  const pages = useQuery({
    queryKey: [...keys.pages(kbId), offset],
    queryFn: async () => listFrom<IndexedPage>(await api<unknown>(`/knowledge-bases/${kbId}/pages`, { query: { limit: PAGE_SIZE, offset } }), "pages"),
    retry: (count, error) => !(error instanceof ApiError && error.status === 404) && count < 2,
  });
  if (pages.isPending) return <Loading />;
  if (pages.error instanceof ApiError && pages.error.status === 404) return <Empty>The page list is not available from this gateway.</Empty>;
  if (pages.error) return <ErrorBox error={pages.error} />;
  if (!pages.data.length && offset === 0) return <Empty>No pages indexed yet. Start a crawl.</Empty>;
  return (
    <div>
      <ul className="divide-y divide-slate-200 text-sm dark:divide-slate-800" data-testid="kb-pages">
        {pages.data.map((page) => (
          <li key={page.url} className="flex items-center justify-between gap-2 py-2">
            <a href={page.url} target="_blank" rel="noopener noreferrer" className="min-w-0 truncate text-indigo-700 underline dark:text-indigo-300">
              {page.title || page.url}
            </a>
            <span className="shrink-0 text-xs text-slate-500">{page.chunks} chunks</span>
          </li>
        ))}
      </ul>
      <div className="mt-2 flex gap-2">
        <Button variant="secondary" disabled={offset === 0} onClick={() => setOffset(Math.max(0, offset - PAGE_SIZE))}>
          Previous
        </Button>
        <Button variant="secondary" disabled={pages.data.length < PAGE_SIZE} onClick={() => setOffset(offset + PAGE_SIZE)}>
          Next
        </Button>
      </div>
    </div>
  );
}

export function KnowledgeBaseDetailPage() {
  const { kbId = "" } = useParams();
  const role = useSession((s) => s.user?.role);
  const canWrite = canSee(role, "kb-write");
  const navigate = useNavigate();
  const queryClient = useQueryClient();
  const [confirming, setConfirming] = useState(false);
  const [editing, setEditing] = useState(false);
  const [confirmName, setConfirmName] = useState("");

  const crawls = useQuery({
    queryKey: keys.crawls(kbId),
    queryFn: async () => listFrom<Crawl>(await api<unknown>(`/knowledge-bases/${kbId}/crawls`), "crawls"),
    // While a crawl runs, its row (and the stats) move on their own.
    refetchInterval: (query) =>
      query.state.data?.some((c) => !FINISHED.includes(c.progress?.state ?? c.state)) ? 5000 : false,
  });

  const crawling = !!crawls.data?.some((c) => !FINISHED.includes(c.progress?.state ?? c.state));
  // Pages and chunks grow while a crawl runs (and for a while after, as the index fills).
  const kb = useQuery({
    queryKey: keys.knowledgeBase(kbId),
    queryFn: () => api<KnowledgeBase>(`/knowledge-bases/${kbId}`),
    refetchInterval: crawling ? 5000 : false,
  });

  const recrawl = useMutation({
    mutationFn: (last: Crawl) => api<Crawl>(`/knowledge-bases/${kbId}/crawls`, { body: { urls: last.urls, mode: last.mode, scope: last.scope } }),
    onSuccess: (crawl) => {
      queryClient.setQueryData(keys.crawl(crawl.id), crawl);
      navigate(`/knowledge-bases/${kbId}/crawl?crawl=${crawl.id}`);
    },
  });
  const remove = useMutation({
    mutationFn: () => api(`/knowledge-bases/${kbId}`, { method: "DELETE" }),
    onSuccess: async () => {
      await queryClient.invalidateQueries({ queryKey: keys.knowledgeBases });
      navigate("/knowledge-bases");
    },
  });

  if (kb.isPending) return <Loading />;
  if (kb.error) return <ErrorBox error={kb.error} />;
  const sorted = [...(crawls.data ?? [])].sort((a, b) => b.created_at.localeCompare(a.created_at));
  const last = sorted[0];

  return (
    <div className="space-y-4" data-testid="kb-detail">
      <PageTitle
        actions={
          canWrite && (
            <>
              <Link to={`/knowledge-bases/${kbId}/crawl`} data-testid="kb-new-crawl" className="rounded-md bg-indigo-600 px-3 py-2 text-sm font-medium text-white hover:bg-indigo-700">
                New crawl
              </Link>
              <Button variant="secondary" disabled={!last || recrawl.isPending} onClick={() => last && recrawl.mutate(last)} data-testid="kb-recrawl">
                Re-crawl
              </Button>
              <Button variant="secondary" onClick={() => setEditing(true)} data-testid="kb-edit">
                Edit
              </Button>
              <Button variant="danger" onClick={() => setConfirming(true)} data-testid="kb-delete">
                Delete
              </Button>
            </>
          )
        }
      >
        {kb.data.name}
      </PageTitle>
      {kb.data.description && <p className="text-sm text-slate-600 dark:text-slate-400">{kb.data.description}</p>}
      <ErrorBox error={recrawl.error} />
      <dl className="grid grid-cols-3 gap-3">
        <Card>
          <dt className="text-xs text-slate-500">Pages</dt>
          <dd className="text-2xl font-semibold" data-testid="kb-stat-pages">
            {formatNumber(kb.data.stats?.pages)}
          </dd>
        </Card>
        <Card>
          <dt className="text-xs text-slate-500">Chunks</dt>
          <dd className="text-2xl font-semibold" data-testid="kb-stat-chunks">
            {formatNumber(kb.data.stats?.chunks)}
          </dd>
        </Card>
        <Card>
          <dt className="text-xs text-slate-500">Last crawl</dt>
          <dd className="text-sm" data-testid="kb-stat-last-crawl">
            {lastCrawlText(kb.data.stats)}
          </dd>
        </Card>
      </dl>
      <Card>
        <h2 className="mb-2 font-semibold">Crawls</h2>
        {crawls.isPending ? (
          <Loading />
        ) : crawls.error ? (
          <ErrorBox error={crawls.error} />
        ) : !sorted.length ? (
          <Empty>No crawls yet.</Empty>
        ) : (
          <div className="overflow-x-auto">
            <table className="w-full min-w-[36rem] text-left text-sm">
              <thead>
                <tr className="text-xs text-slate-500">
                  <th className="py-1 pr-3">Started</th>
                  <th className="py-1 pr-3">State</th>
                  <th className="py-1 pr-3">Mode</th>
                  <th className="py-1 pr-3">URLs</th>
                  <th className="py-1">Fetched / failed</th>
                </tr>
              </thead>
              <tbody>
                {sorted.map((crawl) => (
                  <tr key={crawl.id} data-testid="crawl-row" className="border-t border-slate-200 dark:border-slate-800">
                    <td className="py-1 pr-3">
                      <Link to={`/knowledge-bases/${kbId}/crawl?crawl=${crawl.id}`} className="text-indigo-700 underline dark:text-indigo-300">
                        {formatDate(crawl.created_at)}
                      </Link>
                    </td>
                    <td className="py-1 pr-3">{crawl.progress?.state ?? crawl.state}</td>
                    <td className="py-1 pr-3">{crawl.mode}</td>
                    <td className="max-w-xs truncate py-1 pr-3">{crawl.urls.join(", ")}</td>
                    <td className="py-1">
                      {crawl.progress?.fetched ?? 0} / {crawl.progress?.failed ?? 0}
                    </td>
                  </tr>
                ))}
              </tbody>
            </table>
          </div>
        )}
      </Card>
      <Card>
        <h2 className="mb-2 font-semibold">Indexed pages</h2>
        <Pages kbId={kbId} />
      </Card>
      {editing && <EditDialog kb={kb.data} onClose={() => setEditing(false)} />}
      {confirming && (
        <Dialog title={`Delete ${kb.data.name}?`} onClose={() => setConfirming(false)} testId="kb-delete-dialog">
          <p className="mb-3 text-sm">This removes the knowledge base, its indexed pages and chunks, and stops its running crawls. It cannot be undone.</p>
          <TextField label="Type the name to confirm" value={confirmName} onChange={(e) => setConfirmName(e.target.value)} data-testid="confirm-delete-name" />
          <ErrorBox error={remove.error} />
          <div className="mt-4 flex justify-end gap-2">
            <Button variant="secondary" onClick={() => setConfirming(false)}>
              Keep it
            </Button>
            <Button variant="danger" disabled={confirmName !== kb.data.name || remove.isPending} onClick={() => remove.mutate()} data-testid="confirm-delete">
              Delete for good
            </Button>
          </div>
        </Dialog>
      )}
    </div>
  );
}
