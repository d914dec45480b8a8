// App-wide state: the token (auth) and the live WebSocket feed.
import { createContext, useContext, useEffect, useMemo, useRef, useState, type ReactNode } from "react";
import { useQueryClient } from "@tanstack/react-query";
import type { LiveFrame } from "./api/types";
import { saveToken } from "./auth";
import { Batcher, keysForTopic, LIVE_TOPICS } from "./live/invalidate";
import { LiveSocket, liveProtocols, liveUrl, type LiveState } from "./live/socket";

interface Auth {
  token: string | null;
  setToken: (t: string | null) => void;
}
const AuthCtx = createContext<Auth>({ token: null, setToken: () => undefined });
export const useAuth = (): Auth => useContext(AuthCtx);

export interface FeedItem extends LiveFrame {
  seq: number;
}
interface Live {
  state: LiveState;
  detail?: string;
  feed: FeedItem[];
  received: number;
}
const LiveCtx = createContext<Live>({ state: "closed", feed: [], received: 0 });
export const useLive = (): Live => useContext(LiveCtx);

const FEED_SIZE = 60;

export function AppState({ initial, children }: { initial: string | null; children: ReactNode }) {
  const [token, setTokenState] = useState<string | null>(initial);
  const auth = useMemo<Auth>(
    () => ({
      token,
      setToken: (t) => {
        saveToken(sessionStorage, t);
        setTokenState(t);
      },
    }),
    [token],
  );
  return (
    <AuthCtx.Provider value={auth}>
      <LiveProvider token={token}>{children}</LiveProvider>
    </AuthCtx.Provider>
  );
}

function LiveProvider({ token, children }: { token: string | null; children: ReactNode }) {
  const qc = useQueryClient();
  const [live, setLive] = useState<Live>({ state: "closed", feed: [], received: 0 });
  const seq = useRef(0);

  useEffect(() => {
    if (!token) return undefined;
    const batcher = new Batcher((keys) => {
      for (const k of keys) void qc.invalidateQueries({ queryKey: [k] });
    });
    // Frames are buffered and rendered at most every 500 ms (bursts of hundreds per second).
    let pending: FeedItem[] = [];
    let count = 0;
    const tick = setInterval(() => {
      if (!pending.length) return;
      const fresh = pending;
      pending = [];
      setLive((l) => ({
        ...l,
        received: count,
        feed: [...fresh.reverse(), ...l.feed].slice(0, FEED_SIZE),
      }));
    }, 500);
    const sock = new LiveSocket({
      url: liveUrl(window.location, [...LIVE_TOPICS]),
      protocols: liveProtocols(token),
      onFrame: (f) => {
        seq.current += 1;
        count += 1;
        pending.push({ ...f, seq: seq.current });
        if (pending.length > FEED_SIZE) pending = pending.slice(-FEED_SIZE);
        batcher.add(keysForTopic(f.topic));
      },
      onState: (state, detail) => setLive((l) => ({ ...l, state, detail })),
    });
    sock.start();
    return () => {
      sock.stop();
      batcher.dispose();
      clearInterval(tick);
    };
  }, [token, qc]);

  return <LiveCtx.Provider value={live}>{children}</LiveCtx.Provider>;
}
