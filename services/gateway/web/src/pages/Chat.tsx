// Chat: conversations on the side, the streamed answer in the middle. Answers stream over
// /ws/chat (SSE fallback); Stop ends a stream, Regenerate asks again bypassing the answer cache,
// and each answer takes a thumbs up or down with an optional comment.
import { useQuery, useQueryClient } from "@tanstack/react-query";
import { useCallback, useEffect, useRef, useState, type FormEvent, type KeyboardEvent } from "react";
import { Link, useNavigate, useParams } from "react-router";
import { streamChat, type ChatStream, type StreamOptions } from "../api/chatStream";
import { api, ApiError, freshToken } from "../api/client";
import { keys, useKnowledgeBases } from "../api/hooks";
import type { Citation, Conversation, ConversationMessage, ConversationSummary } from "../api/types";
import { AnswerMarkdown, CitationList } from "../components/Answer";
import { Button, Empty, ErrorBox, Loading, SelectField } from "../components/ui";
import { formatDate, listFrom } from "../lib/format";
import { canSee } from "../lib/roles";
import { useSession } from "../store/session";

export interface ChatMessage {
  key: string;
  role: "user" | "assistant";
  content: string;
  citations: Citation[];
  /** Server id of the assistant turn (feedback refers to it). */
  turnId?: string;
  streaming?: boolean;
  stopped?: boolean;
  declined?: boolean;
  error?: string;
  feedback?: string;
  /** "answered in 1.2 s · local" once the turn's summary arrived. */
  meta?: string;
}

let counter = 0;
const newKey = () => `m${++counter}`;

function fromServer(message: ConversationMessage): ChatMessage {
  return {
    key: message.id || newKey(),
    role: message.role === "user" ? "user" : "assistant",
    content: message.content,
    citations: message.citations ?? [],
    turnId: message.id,
    declined: message.declined,
    feedback: message.feedback || undefined,
  };
}

/** A thumb drawn inline: emoji fonts are missing on many Linux desktops and headless browsers. */
function Thumb({ down = false }: { down?: boolean }) {
  return (
    <svg viewBox="0 0 24 24" width="18" height="18" fill="none" stroke="currentColor" strokeWidth="2" strokeLinecap="round" strokeLinejoin="round" aria-hidden="true" style={down ? { transform: "rotate(180deg)" } : undefined}>
      <path d="M7 10v11H3V10h4zm0 0l4-8a3 3 0 013 3v4h5.5a2 2 0 012 2.3l-1.4 8A2 2 0 0118.1 21H7" />
    </svg>
  );
}

function Feedback({ conversationId, message }: { conversationId: string; message: ChatMessage }) {
  const [rating, setRating] = useState<string | undefined>(message.feedback);
  const [comment, setComment] = useState("");
  // The comment box opens after a rating given now, not for ratings loaded with the history.
  const [sent, setSent] = useState(true);
  const [error, setError] = useState<unknown>(null);
  const send = async (value: string, text: string) => {
    setError(null);
    try {
      await api(`/conversations/${conversationId}/feedback`, { body: { message_id: message.turnId, rating: value, comment: text } });
      setRating(value);
      setSent(!!text);
    } catch (err) {
      setError(err);
    }
  };
  return (
    <div className="mt-2 space-y-2">
      <div className="flex items-center gap-1" role="group" aria-label="Rate this answer">
        <button type="button" aria-label="Helpful" aria-pressed={rating === "up"} onClick={() => send("up", "")} data-testid="feedback-up" className={`rounded p-1 ${rating === "up" ? "bg-green-100 dark:bg-green-900" : "hover:bg-slate-100 dark:hover:bg-slate-800"}`}>
          <Thumb />
        </button>
        <button type="button" aria-label="Not helpful" aria-pressed={rating === "down"} onClick={() => send("down", "")} data-testid="feedback-down" className={`rounded p-1 ${rating === "down" ? "bg-red-100 dark:bg-red-900" : "hover:bg-slate-100 dark:hover:bg-slate-800"}`}>
          <Thumb down />
        </button>
        {rating && (
          <span className="text-xs text-slate-500" data-testid="feedback-thanks" role="status">
            Thanks for the feedback.
          </span>
        )}
      </div>
      {rating && !sent && (
        <form
          className="flex gap-2"
          onSubmit={(e) => {
            e.preventDefault();
            void send(rating, comment);
          }}
        >
          <label className="sr-only" htmlFor={`comment-${message.key}`}>
            Comment on this answer
          </label>
          <input id={`comment-${message.key}`} value={comment} onChange={(e) => setComment(e.target.value)} placeholder="Add a comment (optional)" data-testid="feedback-comment" className="min-w-0 flex-1 rounded-md border border-slate-300 bg-white px-2 py-1 text-sm dark:border-slate-600 dark:bg-slate-900" />
          <Button type="submit" variant="secondary" disabled={!comment.trim()} data-testid="feedback-submit">
            Send
          </Button>
        </form>
      )}
      <ErrorBox error={error} />
    </div>
  );
}

export function MessageView({ message, conversationId }: { message: ChatMessage; conversationId?: string }) {
  if (message.role === "user") {
    return (
      <div className="flex justify-end" data-testid="message-user">
        <p className="max-w-[85%] whitespace-pre-wrap rounded-lg bg-indigo-600 px-3 py-2 text-sm text-white">{message.content}</p>
      </div>
    );
  }
  return (
    <article data-testid="message-assistant" data-streaming={message.streaming ? "true" : "false"} aria-busy={message.streaming} className="rounded-lg border border-slate-200 bg-white p-3 dark:border-slate-800 dark:bg-slate-900">
      {message.content ? <AnswerMarkdown text={message.content} citations={message.citations} /> : message.streaming ? <p className="text-sm text-slate-500">Thinking…</p> : null}
      {message.stopped && <p className="mt-1 text-xs text-slate-500">Stopped.</p>}
      {message.meta && !message.streaming && <p className="mt-1 text-xs text-slate-500 dark:text-slate-400">{message.meta}</p>}
      {message.error && (
        <p role="alert" data-testid="chat-error" className="mt-1 text-sm text-red-700 dark:text-red-300">
          {message.error}
        </p>
      )}
      <CitationList citations={message.citations} />
      {!message.streaming && conversationId && message.turnId && !message.error && <Feedback conversationId={conversationId} message={message} />}
    </article>
  );
}

function ConversationList({ activeId, onDeleted }: { activeId?: string; onDeleted: (id: string) => void }) {
  const queryClient = useQueryClient();
  const role = useSession((s) => s.user?.role);
  const canDelete = role === "owner" || role === "admin";
  const [deleteError, setDeleteError] = useState<unknown>(null);
  const remove = async (conversation: ConversationSummary) => {
    if (!window.confirm(`Delete the conversation “${conversation.title || "Untitled"}”?`)) return;
    setDeleteError(null);
    try {
      await api(`/conversations/${conversation.id}`, { method: "DELETE" });
      await queryClient.invalidateQueries({ queryKey: keys.conversations });
      onDeleted(conversation.id);
    } catch (error) {
      setDeleteError(error);
    }
  };
  const list = useQuery({
    queryKey: keys.conversations,
    queryFn: async () => listFrom<ConversationSummary>(await api<unknown>("/conversations", { query: { limit: 50 } }), "conversations"),
    retry: (count, error) => !(error instanceof ApiError && error.status === 403) && count < 2,
  });
  if (list.isPending) return <Loading />;
  if (list.error instanceof ApiError && list.error.status === 403) return <p className="text-xs text-slate-500">Your role cannot list past conversations.</p>;
  if (list.error) return <ErrorBox error={list.error} />;
  if (!list.data.length) return <p className="text-xs text-slate-500">No conversations yet.</p>;
  return (
    <>
      <ErrorBox error={deleteError} />
      <ul className="space-y-1">
        {list.data.map((c) => (
          <li key={c.id} className="group flex items-start gap-1">
            <Link to={`/chat/${c.id}`} data-testid="conversation-item" aria-current={c.id === activeId ? "page" : undefined} className={`block min-w-0 flex-1 truncate rounded-md px-2 py-1.5 text-sm ${c.id === activeId ? "bg-indigo-50 font-medium dark:bg-indigo-950" : "hover:bg-slate-100 dark:hover:bg-slate-800"}`}>
              {c.title || "Untitled"}
              <span className="block text-xs text-slate-500">{formatDate(c.updated_at ?? c.updated_at_ms)}</span>
            </Link>
            {canDelete && (
              <button type="button" onClick={() => remove(c)} aria-label={`Delete conversation ${c.title || "Untitled"}`} data-testid="conversation-delete" className="rounded p-1.5 text-xs text-slate-500 hover:bg-slate-100 hover:text-red-700 dark:hover:bg-slate-800">
                <span aria-hidden>✕</span>
              </button>
            )}
          </li>
        ))}
      </ul>
    </>
  );
}

export function ChatPage({ streamOptions }: { streamOptions?: Partial<StreamOptions> }) {
  const { conversationId } = useParams();
  const navigate = useNavigate();
  const queryClient = useQueryClient();
  const role = useSession((s) => s.user?.role);
  const kbs = useKnowledgeBases(canSee(role, "knowledge-bases"));
  const [kbId, setKbId] = useState("");
  const [input, setInput] = useState("");
  const [messages, setMessages] = useState<ChatMessage[]>([]);
  const [streaming, setStreaming] = useState(false);
  const [showConversations, setShowConversations] = useState(false);
  const stream = useRef<ChatStream | null>(null);
  /** The conversation this page itself started or continued: no need to reload it from the server. */
  const ownConversation = useRef<string | undefined>(undefined);
  const bottom = useRef<HTMLDivElement>(null);

  const history = useQuery({
    queryKey: keys.conversation(conversationId ?? ""),
    queryFn: () => api<Conversation>(`/conversations/${conversationId}`),
    enabled: !!conversationId && ownConversation.current !== conversationId,
  });

  useEffect(() => {
    if (conversationId === ownConversation.current) return;
    if (!conversationId) {
      stream.current?.stop();
      ownConversation.current = undefined;
      setMessages([]);
    } else if (history.data) {
      setMessages(history.data.messages.map(fromServer));
      ownConversation.current = conversationId;
    } else {
      setMessages([]);
    }
  }, [conversationId, history.data]);

  useEffect(() => {
    bottom.current?.scrollIntoView?.({ block: "end" });
  }, [messages]);

  useEffect(() => () => stream.current?.stop(), []);

  const updateLast = useCallback((change: (m: ChatMessage) => ChatMessage) => {
    setMessages((all) => {
      const copy = [...all];
      const index = copy.length - 1;
      if (index >= 0 && copy[index].role === "assistant") copy[index] = change(copy[index]);
      return copy;
    });
  }, []);

  const ask = async (question: string, skipCache: boolean, base: ChatMessage[]) => {
    if (!question.trim()) return;
    setMessages([...base, { key: newKey(), role: "assistant", content: "", citations: [], streaming: true }]);
    setStreaming(true);
    const token = await freshToken();
    if (!token) {
      updateLast((m) => ({ ...m, streaming: false, error: "Your session has ended: sign in again." }));
      setStreaming(false);
      return;
    }
    const active = ownConversation.current;
    stream.current = streamChat(
      {
        message: question,
        ...(active ? { conversation_id: active } : {}),
        ...(kbId ? { kb_ids: [kbId] } : {}),
        ...(skipCache ? { skip_cache: true } : {}),
      },
      {
        onToken: (text) => updateLast((m) => ({ ...m, content: m.content + text })),
        onCitation: (citation) => updateLast((m) => ({ ...m, citations: [...m.citations.filter((c) => c.number !== citation.number), citation] })),
        onSummary: (summary) => {
          const seconds = summary.total_ms ? `${(summary.total_ms / 1000).toFixed(1)} s` : "";
          const meta = [seconds && `answered in ${seconds}`, summary.provider].filter(Boolean).join(" · ");
          updateLast((m) => ({ ...m, turnId: summary.turn_id, declined: summary.declined, meta }));
          if (summary.conversation_id && summary.conversation_id !== ownConversation.current) {
            ownConversation.current = summary.conversation_id;
            navigate(`/chat/${summary.conversation_id}`, { replace: !conversationId });
          }
          void queryClient.invalidateQueries({ queryKey: keys.conversations });
        },
        onError: (error) => updateLast((m) => ({ ...m, error: error.message || error.code })),
        onClose: () => {
          updateLast((m) => ({ ...m, streaming: false }));
          setStreaming(false);
          stream.current = null;
        },
      },
      { token, ...streamOptions },
    );
  };

  const onSubmit = (event?: FormEvent) => {
    event?.preventDefault();
    if (streaming) return;
    const question = input.trim();
    if (!question) return;
    setInput("");
    void ask(question, false, [...messages, { key: newKey(), role: "user", content: question, citations: [] }]);
  };

  const onKeyDown = (event: KeyboardEvent<HTMLTextAreaElement>) => {
    if (event.key === "Enter" && !event.shiftKey) {
      event.preventDefault();
      onSubmit();
    }
  };

  const stop = () => {
    updateLast((m) => ({ ...m, stopped: true }));
    stream.current?.stop();
  };

  const regenerate = () => {
    let lastUser = -1;
    messages.forEach((m, i) => {
      if (m.role === "user") lastUser = i;
    });
    if (lastUser < 0) return;
    void ask(messages[lastUser].content, true, messages.slice(0, lastUser + 1));
  };

  const newConversation = () => {
    stream.current?.stop();
    ownConversation.current = undefined;
    setMessages([]);
    navigate("/chat");
  };

  const last = messages[messages.length - 1];
  return (
    <div className="grid gap-4 md:grid-cols-[14rem_1fr]">
      <aside className="space-y-2" aria-label="Conversations">
        <Button variant="secondary" className="w-full" onClick={newConversation} data-testid="new-conversation">
          New conversation
        </Button>
        <button type="button" className="w-full rounded-md px-2 py-1 text-left text-sm text-slate-600 md:hidden dark:text-slate-300" aria-expanded={showConversations} aria-controls="conversation-list" onClick={() => setShowConversations((v) => !v)}>
          {showConversations ? "Hide past conversations" : "Show past conversations"}
        </button>
        <div id="conversation-list" className={`${showConversations ? "" : "hidden"} md:block`}>
          <ConversationList activeId={conversationId} onDeleted={(id) => id === conversationId && newConversation()} />
        </div>
      </aside>
      <section className="flex min-h-[70vh] flex-col gap-3" aria-label="Chat">
        {kbs.data && kbs.data.length > 0 && (
          <div className="max-w-xs">
            <SelectField label="Knowledge base" value={kbId} onChange={(e) => setKbId(e.target.value)} data-testid="chat-kb-select">
              <option value="">All my knowledge bases</option>
              {kbs.data.map((kb) => (
                <option key={kb.id} value={kb.id}>
                  {kb.name}
                </option>
              ))}
            </SelectField>
          </div>
        )}
        <div className="flex-1 space-y-3" aria-live="polite" data-testid="chat-messages">
          {history.isFetching && !messages.length ? (
            <Loading label="Loading the conversation…" />
          ) : history.error ? (
            <ErrorBox error={history.error} />
          ) : !messages.length ? (
            <Empty>Ask a question about your knowledge bases. Answers cite their sources.</Empty>
          ) : (
            messages.map((m) => <MessageView key={m.key} message={m} conversationId={ownConversation.current} />)
          )}
          <div ref={bottom} />
        </div>
        <form onSubmit={onSubmit} className="sticky bottom-0 space-y-2 bg-white pb-2 dark:bg-slate-950" aria-label="Ask">
          <label htmlFor="chat-input" className="sr-only">
            Your question
          </label>
          <textarea id="chat-input" rows={2} value={input} onChange={(e) => setInput(e.target.value)} onKeyDown={onKeyDown} placeholder="Ask a question (Enter to send, Shift+Enter for a new line)" data-testid="chat-input" className="block w-full rounded-md border border-slate-300 bg-white px-3 py-2 text-sm dark:border-slate-600 dark:bg-slate-900" />
          <div className="flex gap-2">
            {streaming ? (
              <Button variant="secondary" onClick={stop} data-testid="chat-stop">
                Stop
              </Button>
            ) : (
              <Button type="submit" disabled={!input.trim()} data-testid="chat-send">
                Send
              </Button>
            )}
            {!streaming && last?.role === "assistant" && (
              <Button variant="ghost" onClick={regenerate} data-testid="chat-regenerate">
                Regenerate
              </Button>
            )}
          </div>
        </form>
      </section>
    </div>
  );
}
