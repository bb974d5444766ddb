// Live crawl progress from the gateway's /ws/events socket. The token goes in the first frame,
// never in the URL. The socket reconnects (with a growing pause) while a screen listens.
import { useEffect, useRef } from "react";
import { useSession } from "../store/session";
import { freshToken } from "./client";

export interface CrawlProgressEvent {
  type: "crawl.progress";
  crawl_id: string;
  kb_id: string;
  state: string;
  discovered: number;
  fetched: number;
  failed: number;
  skipped: number;
  current_url: string | null;
  pages_per_second: number;
  recent_failures?: ({ url: string; reason: string } | string)[];
}

function eventsUrl(): string {
  const scheme = window.location.protocol === "https:" ? "wss:" : "ws:";
  return `${scheme}//${window.location.host}/ws/events`;
}

/** Call `onProgress` for every crawl.progress frame while the component is mounted. */
export function useCrawlEvents(onProgress: (event: CrawlProgressEvent) => void, enabled = true): void {
  // Reconnect when the user changes (sign-out, another sign-in), not on every token refresh.
  const userId = useSession((s) => s.user?.id);
  const handler = useRef(onProgress);
  handler.current = onProgress;

  useEffect(() => {
    if (!enabled || !userId || typeof WebSocket === "undefined") return;
    let socket: WebSocket | null = null;
    let stopped = false;
    let retryMs = 1000;
    let timer: ReturnType<typeof setTimeout> | undefined;

    const connect = () => {
      socket = new WebSocket(eventsUrl());
      socket.onopen = async () => {
        retryMs = 1000;
        const current = await freshToken();
        if (current && socket?.readyState === WebSocket.OPEN) socket.send(JSON.stringify({ type: "auth", token: current }));
      };
      socket.onmessage = (message: MessageEvent) => {
        let frame: { type?: string };
        try {
          frame = JSON.parse(String(message.data)) as { type?: string };
        } catch {
          return;
        }
        if (frame.type === "ping") socket?.send(JSON.stringify({ type: "pong" }));
        else if (frame.type === "crawl.progress") handler.current(frame as CrawlProgressEvent);
      };
      socket.onclose = () => {
        if (stopped) return;
        timer = setTimeout(connect, retryMs);
        retryMs = Math.min(retryMs * 2, 15000);
      };
    };
    connect();
    return () => {
      stopped = true;
      if (timer) clearTimeout(timer);
      socket?.close();
    };
  }, [userId, enabled]);
}
