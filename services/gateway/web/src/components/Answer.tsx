// An assistant answer: Markdown (react-markdown; raw HTML is not rendered), with each [n] marker
// turned into a link to the cited page, and the cited sources listed below with title, snippet
// and thumbnail.
import Markdown, { type Components } from "react-markdown";
import type { Citation } from "../api/types";

const CITE_TITLE = "ragchat-citation-";

/** A citation marker stands apart, as the chat service writes it: "[2]" after a space or
 * punctuation; "pair[1]" or "x[0][1]" (after a word character, "]", ")" or a quote) are code. */
const MARKER = /(?<![\w\])"'])\[(\d{1,3})\](?!\()/g;

/** Rewrite "[n]" markers that have a citation into Markdown links; others stay as text. */
export function linkCitations(text: string, citations: Citation[]): string {
  const byNumber = new Map(citations.map((c) => [c.number, c]));
  return text.replace(MARKER, (marker, digits: string) => {
    const citation = byNumber.get(Number(digits));
    if (!citation?.url) return marker;
    const url = citation.url.replace(/[\s<>]/g, encodeURIComponent);
    return `[\\[${digits}\\]](<${url}> "${CITE_TITLE}${digits}")`;
  });
}

export function AnswerMarkdown({ text, citations }: { text: string; citations: Citation[] }) {
  const byNumber = new Map(citations.map((c) => [c.number, c]));
  const components: Components = {
    a: ({ href, title, children }) => {
      if (title?.startsWith(CITE_TITLE)) {
        const citation = byNumber.get(Number(title.slice(CITE_TITLE.length)));
        return (
          <a
            href={href}
            target="_blank"
            rel="noopener noreferrer"
            data-testid="citation-link"
            title={citation?.title || href}
            className="no-underline"
          >
            <sup className="font-semibold">{children}</sup>
          </a>
        );
      }
      return (
        <a href={href} title={title} target="_blank" rel="noopener noreferrer">
          {children}
        </a>
      );
    },
  };
  return (
    <div className="prose-answer text-sm leading-relaxed">
      <Markdown components={components}>{linkCitations(text, citations)}</Markdown>
    </div>
  );
}

export function CitationList({ citations }: { citations: Citation[] }) {
  if (!citations.length) return null;
  const sorted = [...citations].sort((a, b) => a.number - b.number);
  return (
    <ol className="mt-3 grid gap-2 sm:grid-cols-2" aria-label="Sources">
      {sorted.map((citation) => (
        <li key={`${citation.number}-${citation.chunk_id}`} data-testid="citation-card" className="flex gap-2 rounded-md border border-slate-200 p-2 text-xs dark:border-slate-700">
          {citation.image_src && (
            <img
              src={citation.image_src}
              alt=""
              loading="lazy"
              className="h-12 w-12 shrink-0 rounded object-cover"
              referrerPolicy="no-referrer"
              onError={(event) => {
                // A thumbnail that cannot load (gone, blocked) is left out rather than shown broken.
                event.currentTarget.style.display = "none";
              }}
            />
          )}
          <div className="min-w-0">
            <a href={citation.url} target="_blank" rel="noopener noreferrer" className="font-medium text-indigo-700 underline dark:text-indigo-300">
              [{citation.number}] {citation.title || citation.url}
            </a>
            {citation.snippet && <p className="mt-0.5 line-clamp-2 text-slate-600 dark:text-slate-400">{citation.snippet}</p>}
          </div>
        </li>
      ))}
    </ol>
  );
}
