// Shapes of the gateway's REST API (/api/v1), as fixed by the gateway contract.

export type Role = "owner" | "admin" | "editor" | "agent" | "viewer";

export interface SessionUser {
  id: string;
  email: string;
  role: Role;
  tenant_id: string;
}

export interface Session {
  access_token: string;
  refresh_token?: string;
  token_type: "bearer";
  expires_in: number;
  user: SessionUser;
}

export interface Me {
  id: string;
  email: string;
  role: Role;
  tenant_id: string;
  kind: string;
  readable_kb_ids: string[];
  all_kbs: boolean;
}

export interface KnowledgeBaseStats {
  pages: number;
  chunks: number;
  last_indexed_at?: string | null;
  last_crawl: string | null | { id?: string; state?: string; fetched?: number; failed?: number; created_at?: string; updated_at?: string };
}

export interface KnowledgeBase {
  id: string;
  name: string;
  description: string;
  created_at: string;
  updated_at: string;
  stats?: KnowledgeBaseStats;
}

export interface IndexedPage {
  url: string;
  title: string;
  chunks: number;
}

export type CrawlMode = "single" | "recursive" | "sitemap" | "list";

export interface CrawlScope {
  include_patterns: string[];
  exclude_patterns: string[];
  max_depth: number;
  max_pages: number;
  render_js: boolean;
}

export interface CrawlFailure {
  url: string;
  reason: string;
}

export interface CrawlProgress {
  discovered: number;
  fetched: number;
  failed: number;
  skipped: number;
  current_url: string;
  pages_per_second: number;
  state: string;
  recent_failures: (CrawlFailure | string)[];
}

export interface Crawl {
  id: string;
  kb_id: string;
  state: string;
  urls: string[];
  mode: CrawlMode;
  scope: CrawlScope;
  submitted_by: string;
  created_at: string;
  progress?: CrawlProgress;
}

export interface Citation {
  number: number;
  chunk_id: string;
  url: string;
  title: string;
  snippet: string;
  image_src: string;
}

export interface TurnSummary {
  conversation_id: string;
  turn_id: string;
  retrieval_ms: number;
  first_token_ms: number;
  total_ms: number;
  prompt_tokens: number;
  completion_tokens: number;
  provider: string;
  declined: boolean;
}

export interface ConversationSummary {
  id: string;
  title: string;
  kb_ids: string[];
  updated_at?: string;
  updated_at_ms?: number;
  message_count?: number;
}

export interface ConversationMessage {
  id: string;
  role: "user" | "assistant" | string;
  content: string;
  citations: Citation[];
  declined?: boolean;
  feedback?: string;
  feedback_comment?: string;
}

export interface Conversation {
  id: string;
  title?: string;
  kb_ids?: string[];
  messages: ConversationMessage[];
}

export interface User {
  id: string;
  email: string;
  display_name?: string;
  role: Role;
  joined_at?: string | null;
}

export interface Invitation {
  id: string;
  email: string;
  role: Role;
  token: string;
  expires_at: string;
}

export interface ApiKey {
  id: string;
  name: string;
  prefix: string;
  kind?: string;
  scopes: string[];
  kb_ids: string[];
  allowed_origins: string[];
  created_at: string;
  last_used_at: string | null;
  revoked_at: string | null;
}

export interface CreatedApiKey {
  key: string;
  api_key: ApiKey;
}

export interface AuditActor {
  kind: string;
  id: string;
  label: string;
}

export interface AuditEntry {
  id: string | number;
  time: string | null;
  actor: string | AuditActor;
  action: string;
  resource: string;
  outcome: string;
  ip: string;
  detail: unknown;
}
