// TanStack Query hooks for the resources several screens share.
import { useQuery } from "@tanstack/react-query";
import { listFrom } from "../lib/format";
import { api } from "./client";
import type { KnowledgeBase } from "./types";

export const keys = {
  knowledgeBases: ["knowledge-bases"] as const,
  knowledgeBase: (id: string) => ["knowledge-bases", id] as const,
  pages: (id: string) => ["knowledge-bases", id, "pages"] as const,
  crawls: (kbId: string) => ["knowledge-bases", kbId, "crawls"] as const,
  crawl: (id: string) => ["crawls", id] as const,
  conversations: ["conversations"] as const,
  conversation: (id: string) => ["conversations", id] as const,
  users: ["users"] as const,
  apiKeys: ["api-keys"] as const,
};

export function useKnowledgeBases(enabled = true) {
  return useQuery({
    queryKey: keys.knowledgeBases,
    queryFn: async () => listFrom<KnowledgeBase>(await api<unknown>("/knowledge-bases"), "knowledge_bases"),
    enabled,
  });
}
