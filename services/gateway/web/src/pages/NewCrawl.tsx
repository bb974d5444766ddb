// New crawl of a knowledge base: start URLs, mode, scope (patterns, depth, page limit, JavaScript
// rendering), then live progress of the submitted crawl (?crawl=<id> watches one).
import { useQueryClient } from "@tanstack/react-query";
import { useState, type FormEvent } from "react";
import { Link, useParams, useSearchParams } from "react-router";
import { api } from "../api/client";
import { keys } from "../api/hooks";
import type { Crawl, CrawlMode } from "../api/types";
import { CrawlProgressPanel } from "../components/CrawlProgressPanel";
import { Button, Card, Checkbox, ErrorBox, PageTitle, SelectField, TextArea, TextField } from "../components/ui";
import { lines } from "../lib/format";

const MODES: { value: CrawlMode; label: string }[] = [
  { value: "recursive", label: "Recursive (follow links)" },
  { value: "single", label: "Single page" },
  { value: "sitemap", label: "Sitemap" },
  { value: "list", label: "List of URLs" },
];

export function NewCrawlPage() {
  const { kbId = "" } = useParams();
  const [params, setParams] = useSearchParams();
  const crawlId = params.get("crawl");
  const queryClient = useQueryClient();
  const [urls, setUrls] = useState("");
  const [mode, setMode] = useState<CrawlMode>("recursive");
  const [include, setInclude] = useState("");
  const [exclude, setExclude] = useState("");
  const [maxDepth, setMaxDepth] = useState(3);
  const [maxPages, setMaxPages] = useState(500);
  const [renderJs, setRenderJs] = useState(false);
  const [error, setError] = useState<unknown>(null);
  const [busy, setBusy] = useState(false);

  const onSubmit = async (event: FormEvent) => {
    event.preventDefault();
    setBusy(true);
    setError(null);
    try {
      const crawl = await api<Crawl>(`/knowledge-bases/${kbId}/crawls`, {
        body: {
          urls: lines(urls),
          mode,
          scope: {
            include_patterns: lines(include),
            exclude_patterns: lines(exclude),
            max_depth: maxDepth,
            max_pages: maxPages,
            render_js: renderJs,
          },
        },
      });
      queryClient.setQueryData(keys.crawl(crawl.id), crawl);
      void queryClient.invalidateQueries({ queryKey: keys.crawls(kbId) });
      setParams({ crawl: crawl.id });
    } catch (err) {
      setError(err);
    } finally {
      setBusy(false);
    }
  };

  return (
    <div className="space-y-4">
      <PageTitle actions={<Link to={`/knowledge-bases/${kbId}`} className="text-sm text-indigo-700 underline dark:text-indigo-300">Back to the knowledge base</Link>}>
        New crawl
      </PageTitle>
      <Card>
        <form onSubmit={onSubmit} className="space-y-4" aria-label="New crawl">
          <TextArea label="Start URLs" hint="One per line." rows={3} required value={urls} onChange={(e) => setUrls(e.target.value)} data-testid="crawl-urls" placeholder="https://docs.example.com/" />
          <div className="grid gap-4 sm:grid-cols-3">
            <SelectField label="Mode" value={mode} onChange={(e) => setMode(e.target.value as CrawlMode)} data-testid="crawl-mode">
              {MODES.map((m) => (
                <option key={m.value} value={m.value}>
                  {m.label}
                </option>
              ))}
            </SelectField>
            <TextField label="Maximum depth" type="number" min={0} max={50} value={maxDepth} onChange={(e) => setMaxDepth(Number(e.target.value))} data-testid="crawl-max-depth" />
            <TextField label="Maximum pages" type="number" min={1} max={1000000} value={maxPages} onChange={(e) => setMaxPages(Number(e.target.value))} data-testid="crawl-max-pages" />
          </div>
          <div className="grid gap-4 sm:grid-cols-2">
            <TextArea label="Include patterns" hint="Regular expressions, one per line; empty: the start URLs' site." rows={2} value={include} onChange={(e) => setInclude(e.target.value)} data-testid="crawl-include" />
            <TextArea label="Exclude patterns" hint="Regular expressions, one per line." rows={2} value={exclude} onChange={(e) => setExclude(e.target.value)} data-testid="crawl-exclude" />
          </div>
          <Checkbox label="Render JavaScript (slower; for sites that build pages in the browser)" checked={renderJs} onChange={(e) => setRenderJs(e.target.checked)} data-testid="crawl-render-js" />
          <ErrorBox error={error} />
          <Button type="submit" disabled={busy} data-testid="crawl-submit">
            {busy ? "Starting…" : "Start crawl"}
          </Button>
        </form>
      </Card>
      {crawlId && (
        <Card>
          <h2 className="mb-3 font-semibold">Progress</h2>
          <CrawlProgressPanel crawlId={crawlId} canCancel />
        </Card>
      )}
    </div>
  );
}
