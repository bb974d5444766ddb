// Live progress of one crawl: counters from /ws/events frames as they arrive, with the REST view
// of the crawl (GET /crawls/{id}, polled slowly) for the starting point and the failure reasons.
import { useQuery, useQueryClient } from "@tanstack/react-query";
import { useState } from "react";
import { api } from "../api/client";
import { useCrawlEvents, type CrawlProgressEvent } from "../api/events";
import { keys } from "../api/hooks";
import type { Crawl, CrawlFailure } from "../api/types";
import { formatNumber } from "../lib/format";
import { Button, ErrorBox } from "./ui";

const FINISHED = new Set(["done", "failed", "cancelled"]);

interface Counters {
  state: string;
  discovered: number;
  fetched: number;
  failed: number;
  skipped: number;
  current_url: string | null;
  pages_per_second: number;
  recent_failures: (CrawlFailure | string)[];
}

function fromCrawl(crawl: Crawl): Counters {
  const p = crawl.progress;
  return {
    state: p?.state ?? crawl.state,
    discovered: p?.discovered ?? 0,
    fetched: p?.fetched ?? 0,
    failed: p?.failed ?? 0,
    skipped: p?.skipped ?? 0,
    current_url: p?.current_url ?? null,
    pages_per_second: p?.pages_per_second ?? 0,
    recent_failures: p?.recent_failures ?? [],
  };
}

/** Counters only move forward: an older REST snapshot never hides a newer live frame. */
function merge(rest: Counters | null, live: Counters | null): Counters | null {
  if (!rest) return live;
  if (!live) return rest;
  const liveNewer = FINISHED.has(live.state) || live.fetched + live.failed >= rest.fetched + rest.failed;
  const base = liveNewer ? live : rest;
  return {
    ...base,
    state: FINISHED.has(rest.state) ? rest.state : base.state,
    recent_failures: live.recent_failures.length ? live.recent_failures : rest.recent_failures,
  };
}

function failureText(failure: CrawlFailure | string): { url: string; reason: string } {
  return typeof failure === "string" ? { url: "", reason: failure } : failure;
}

const STATE_STYLE: Record<string, string> = {
  queued: "bg-slate-200 text-slate-800 dark:bg-slate-700 dark:text-slate-100",
  running: "bg-blue-100 text-blue-800 dark:bg-blue-900 dark:text-blue-100",
  done: "bg-green-100 text-green-800 dark:bg-green-900 dark:text-green-100",
  failed: "bg-red-100 text-red-800 dark:bg-red-900 dark:text-red-100",
  cancelled: "bg-amber-100 text-amber-800 dark:bg-amber-900 dark:text-amber-100",
};

export function CrawlProgressPanel({ crawlId, canCancel = false }: { crawlId: string; canCancel?: boolean }) {
  const queryClient = useQueryClient();
  const [live, setLive] = useState<Counters | null>(null);
  const [cancelError, setCancelError] = useState<unknown>(null);
  const crawl = useQuery({
    queryKey: keys.crawl(crawlId),
    queryFn: () => api<Crawl>(`/crawls/${crawlId}`),
    refetchInterval: (query) => {
      const state = query.state.data?.progress?.state ?? query.state.data?.state;
      return state && FINISHED.has(state) ? false : 5000;
    },
  });

  useCrawlEvents((event: CrawlProgressEvent) => {
    if (event.crawl_id !== crawlId) return;
    setLive({
      state: event.state,
      discovered: event.discovered,
      fetched: event.fetched,
      failed: event.failed,
      skipped: event.skipped,
      current_url: event.current_url,
      pages_per_second: event.pages_per_second,
      recent_failures: event.recent_failures ?? [],
    });
    if (FINISHED.has(event.state)) {
      void queryClient.invalidateQueries({ queryKey: keys.crawl(crawlId) });
      void queryClient.invalidateQueries({ queryKey: keys.knowledgeBases });
    }
  });

  const counters = merge(crawl.data ? fromCrawl(crawl.data) : null, live);
  const cancel = async () => {
    setCancelError(null);
    try {
      await api(`/crawls/${crawlId}/cancel`, { method: "POST", body: {} });
      await queryClient.invalidateQueries({ queryKey: keys.crawl(crawlId) });
    } catch (error) {
      setCancelError(error);
    }
  };

  if (!counters) {
    return crawl.error ? <ErrorBox error={crawl.error} /> : <p role="status">Waiting for the crawl to start…</p>;
  }
  const finished = FINISHED.has(counters.state);
  const total = Math.max(counters.discovered, counters.fetched + counters.failed + counters.skipped, 1);
  const percent = finished ? 100 : Math.round(((counters.fetched + counters.failed + counters.skipped) / total) * 100);

  return (
    <section data-testid="crawl-progress" data-state={counters.state} aria-label="Crawl progress" className="space-y-3">
      <div className="flex flex-wrap items-center gap-2">
        <span data-testid="crawl-state" className={`rounded-full px-2 py-0.5 text-xs font-semibold ${STATE_STYLE[counters.state] ?? STATE_STYLE.queued}`}>
          {counters.state}
        </span>
        {!finished && canCancel && (
          <Button variant="secondary" onClick={cancel} data-testid="crawl-cancel">
            Cancel crawl
          </Button>
        )}
      </div>
      <div
        role="progressbar"
        aria-label="Pages processed"
        aria-valuemin={0}
        aria-valuemax={100}
        aria-valuenow={percent}
        className="h-2 w-full overflow-hidden rounded bg-slate-200 dark:bg-slate-800"
      >
        <div className="h-full bg-indigo-600 transition-all" style={{ width: `${percent}%` }} />
      </div>
      <dl className="grid grid-cols-2 gap-3 text-sm sm:grid-cols-5" aria-live="polite">
        <Stat label="Found" value={formatNumber(counters.discovered)} testId="crawl-discovered" />
        <Stat label="Fetched" value={formatNumber(counters.fetched)} testId="crawl-fetched" />
        <Stat label="Failed" value={formatNumber(counters.failed)} testId="crawl-failed" />
        <Stat label="Skipped" value={formatNumber(counters.skipped)} testId="crawl-skipped" />
        <Stat label="Pages per second" value={formatNumber(counters.pages_per_second, 1)} testId="crawl-rate" />
      </dl>
      {!finished && (
        <p className="truncate text-sm text-slate-600 dark:text-slate-400">
          Now: <span data-testid="crawl-current-url">{counters.current_url ?? "—"}</span>
        </p>
      )}
      {finished && counters.state === "done" && (
        <p className="text-sm text-green-700 dark:text-green-300" role="status">
          Finished: {formatNumber(counters.fetched)} pages fetched.
        </p>
      )}
      {counters.recent_failures.length > 0 && (
        <div>
          <h3 className="text-sm font-semibold">Recent failures</h3>
          <ul className="mt-1 space-y-1 text-sm">
            {counters.recent_failures.map((failure, index) => {
              const { url, reason } = failureText(failure);
              return (
                <li key={`${url}-${index}`} data-testid="crawl-failure" className="break-all">
                  {url && <span className="font-mono text-xs">{url}</span>} <span className="text-red-700 dark:text-red-300">{reason}</span>
                </li>
              );
            })}
          </ul>
        </div>
      )}
      <ErrorBox error={cancelError} />
    </section>
  );
}

function Stat({ label, value, testId }: { label: string; value: string; testId: string }) {
  return (
    <div className="rounded-md bg-slate-50 p-2 dark:bg-slate-800">
      <dt className="text-xs text-slate-500 dark:text-slate-400">{label}</dt>
      <dd className="text-lg font-semibold" data-testid={testId}>
        {value}
      </dd>
    </div>
  );
}
