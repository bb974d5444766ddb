// Analytics of the organisation, per knowledge base and period: conversations per day, top
// questions and knowledge gaps (grouped by meaning), feedback, and answer latency. Charts use
// recharts; this screen is loaded on demand so the charting code stays out of the first load.
import { useQuery } from "@tanstack/react-query";
import { useState, type ReactNode } from "react";
import { Bar, BarChart, CartesianGrid, Legend, Line, LineChart, ResponsiveContainer, Tooltip, XAxis, YAxis } from "recharts";
import { api } from "../api/client";
import { useKnowledgeBases } from "../api/hooks";
import { Card, Empty, ErrorBox, Loading, PageTitle, SelectField } from "../components/ui";
import { formatNumber } from "../lib/format";

interface DayPoint {
  day: string;
  conversations: number;
  turns: number;
  // Questions whose answer the customer stopped mid-stream: a sign of slow or off-target answers.
  stopped: number;
}
interface QuestionGroup {
  label: string;
  count: number;
  examples: string[];
}
interface FeedbackSummary {
  up: number;
  down: number;
  ratio: number | null;
  recent: { rating?: string; comment?: string; question?: string; time?: string }[];
}
interface LatencySummary {
  p50_ms: number;
  p95_ms: number;
  first_token_p50_ms: number;
  first_token_p95_ms: number;
  by_day: { day: string; p50_ms?: number; p95_ms?: number; first_token_p50_ms?: number }[];
}

function useAnalytics<T>(path: string, kbId: string, days: number) {
  return useQuery({
    queryKey: ["analytics", path, kbId, days],
    queryFn: () => api<T>(`/analytics/${path}`, { query: { kb_id: kbId || undefined, days } }),
    // A dashboard: new turns and ratings show up without a reload.
    refetchInterval: 15_000,
  });
}

function Panel({ title, testId, children }: { title: string; testId: string; children: ReactNode }) {
  return (
    <Card>
      <h2 className="mb-3 font-semibold">{title}</h2>
      <div data-testid={testId}>{children}</div>
    </Card>
  );
}

function State<T>({ query, empty, children }: { query: { isPending: boolean; error: unknown; data?: T }; empty: (data: T) => boolean; children: (data: T) => ReactNode }) {
  if (query.isPending) return <Loading />;
  if (query.error) return <ErrorBox error={query.error} />;
  if (query.data === undefined || empty(query.data)) return <Empty>No data for this period yet.</Empty>;
  return <>{children(query.data)}</>;
}

const AXIS = { fontSize: 12, fill: "currentColor" };

function Groups({ groups }: { groups: QuestionGroup[] }) {
  return (
    <ol className="space-y-2 text-sm">
      {groups.map((g) => (
        <li key={g.label} className="rounded-md bg-slate-50 p-2 dark:bg-slate-800">
          <div className="flex justify-between gap-2">
            <span className="font-medium">{g.label}</span>
            <span className="shrink-0 text-slate-500">{g.count}×</span>
          </div>
          {g.examples?.length > 0 && <p className="mt-1 truncate text-xs text-slate-500 dark:text-slate-400">e.g. {g.examples.slice(0, 2).join(" · ")}</p>}
        </li>
      ))}
    </ol>
  );
}

export default function AnalyticsPage() {
  const [kbId, setKbId] = useState("");
  const [days, setDays] = useState(30);
  const kbs = useKnowledgeBases();
  const perDay = useAnalytics<{ points: DayPoint[] }>("conversations-per-day", kbId, days);
  const top = useAnalytics<{ groups: QuestionGroup[] }>("top-questions", kbId, days);
  const gaps = useAnalytics<{ groups: QuestionGroup[] }>("knowledge-gaps", kbId, days);
  const feedback = useAnalytics<FeedbackSummary>("feedback", kbId, days);
  const latency = useAnalytics<LatencySummary>("latency", kbId, days);

  return (
    <div className="space-y-4">
      <PageTitle>Analytics</PageTitle>
      <div className="flex flex-wrap gap-4">
        <div className="w-64">
          <SelectField label="Knowledge base" value={kbId} onChange={(e) => setKbId(e.target.value)} data-testid="analytics-kb-select">
            <option value="">All knowledge bases</option>
            {kbs.data?.map((kb) => (
              <option key={kb.id} value={kb.id}>
                {kb.name}
              </option>
            ))}
          </SelectField>
        </div>
        <div className="w-40">
          <SelectField label="Period" value={days} onChange={(e) => setDays(Number(e.target.value))} data-testid="analytics-days">
            <option value={7}>7 days</option>
            <option value={30}>30 days</option>
            <option value={90}>90 days</option>
          </SelectField>
        </div>
      </div>
      <div className="grid gap-4 lg:grid-cols-2">
        <Panel title="Conversations per day" testId="analytics-conversations">
          <State query={perDay} empty={(d) => !d.points?.length}>
            {(d) => (
              <>
                <PeriodTotals points={d.points} />
                <div className="h-64" role="img" aria-label={`Conversations per day: ${d.points.map((p) => `${p.day} ${p.conversations} conversations, ${p.turns} questions, ${p.stopped} stopped`).join("; ")}`}>
                  <ResponsiveContainer width="100%" height="100%">
                    <BarChart data={d.points}>
                      <CartesianGrid strokeDasharray="3 3" strokeOpacity={0.3} />
                      <XAxis dataKey="day" tick={AXIS} />
                      <YAxis allowDecimals={false} tick={AXIS} />
                      <Tooltip />
                      <Legend />
                      <Bar dataKey="conversations" name="Conversations" fill="#6366f1" />
                      <Bar dataKey="turns" name="Questions" fill="#94a3b8" />
                      <Bar dataKey="stopped" name="Stopped answers" fill="#f59e0b" />
                    </BarChart>
                  </ResponsiveContainer>
                </div>
              </>
            )}
          </State>
        </Panel>
        <Panel title="Answer latency" testId="analytics-latency">
          <State query={latency} empty={(d) => !d.p50_ms && !d.by_day?.length}>
            {(d) => (
              <>
                <dl className="mb-3 grid grid-cols-2 gap-2 text-sm sm:grid-cols-4">
                  <Figure label="p50 total" value={`${formatNumber(d.p50_ms)} ms`} />
                  <Figure label="p95 total" value={`${formatNumber(d.p95_ms)} ms`} />
                  <Figure label="p50 first token" value={`${formatNumber(d.first_token_p50_ms)} ms`} />
                  <Figure label="p95 first token" value={`${formatNumber(d.first_token_p95_ms)} ms`} />
                </dl>
                {d.by_day?.length > 0 && (
                  <div className="h-48">
                    <ResponsiveContainer width="100%" height="100%">
                      <LineChart data={d.by_day}>
                        <CartesianGrid strokeDasharray="3 3" strokeOpacity={0.3} />
                        <XAxis dataKey="day" tick={AXIS} />
                        <YAxis tick={AXIS} unit=" ms" width={70} />
                        <Tooltip />
                        <Legend />
                        <Line dataKey="p50_ms" name="p50" stroke="#6366f1" dot={false} />
                        <Line dataKey="p95_ms" name="p95" stroke="#f59e0b" dot={false} />
                      </LineChart>
                    </ResponsiveContainer>
                  </div>
                )}
              </>
            )}
          </State>
        </Panel>
        <Panel title="Top questions" testId="analytics-top-questions">
          <State query={top} empty={(d) => !d.groups?.length}>
            {(d) => <Groups groups={d.groups} />}
          </State>
        </Panel>
        <Panel title="Knowledge gaps (questions without an answer)" testId="analytics-gaps">
          <State query={gaps} empty={(d) => !d.groups?.length}>
            {(d) => <Groups groups={d.groups} />}
          </State>
        </Panel>
        <Panel title="Feedback" testId="analytics-feedback">
          <State query={feedback} empty={() => false}>
            {(d) => (
              <>
                <dl className="mb-3 grid grid-cols-3 gap-2 text-sm">
                  <Figure label="Thumbs up" value={formatNumber(d.up)} testId="analytics-feedback-up" />
                  <Figure label="Thumbs down" value={formatNumber(d.down)} testId="analytics-feedback-down" />
                  <Figure label="Helpful" value={d.ratio === null || d.ratio === undefined ? "—" : `${Math.round(d.ratio * 100)}%`} />
                </dl>
                {d.recent?.length ? (
                  <ul className="space-y-1 text-sm">
                    {d.recent.slice(0, 10).map((r, i) => (
                      <li key={i} className="truncate">
                        <span className={r.rating === "up" ? "text-green-700 dark:text-green-300" : "text-red-700 dark:text-red-300"}>{r.rating === "up" ? "Helpful" : "Not helpful"}</span>
                        {": "}
                        {r.comment || r.question || ""}
                      </li>
                    ))}
                  </ul>
                ) : (
                  <p className="text-sm text-slate-500">No comments yet.</p>
                )}
              </>
            )}
          </State>
        </Panel>
      </div>
    </div>
  );
}

function PeriodTotals({ points }: { points: DayPoint[] }) {
  // Conversations are not summed: one that spans midnight counts on both days.
  const questions = points.reduce((total, p) => total + p.turns, 0);
  const stopped = points.reduce((total, p) => total + p.stopped, 0);
  const share = questions ? `${Math.round((stopped / questions) * 100)}% of questions` : "—";
  return (
    <dl className="mb-3 grid grid-cols-2 gap-2 text-sm">
      <Figure label="Questions" value={formatNumber(questions)} testId="analytics-total-questions" />
      <Figure label={`Stopped answers (${share})`} value={formatNumber(stopped)} testId="analytics-total-stopped" />
    </dl>
  );
}

function Figure({ label, value, testId }: { label: string; value: string; testId?: string }) {
  return (
    <div className="rounded-md bg-slate-50 p-2 dark:bg-slate-800">
      <dt className="text-xs text-slate-500 dark:text-slate-400">{label}</dt>
      <dd className="text-lg font-semibold" data-testid={testId}>
        {value}
      </dd>
    </div>
  );
}
