"use client";
import { createContext, useCallback, useContext, useEffect, useState } from "react";
import { api } from "@/lib/api";
import type { User } from "@/realtime/protocol";

export type SessionState = { status: "loading" } | { status: "anonymous" } | { status: "signed-in"; user: User };

const Ctx = createContext<{ session: SessionState; refresh(): void }>({
  session: { status: "loading" },
  refresh: () => undefined,
});

/** Asks `GET /api/me` once per page load. */
export function SessionProvider({ children }: { children: React.ReactNode }) {
  const [session, setSession] = useState<SessionState>({ status: "loading" });
  const refresh = useCallback(() => {
    api.me().then(
      ({ user }) => setSession({ status: "signed-in", user }),
      () => setSession({ status: "anonymous" }),
    );
  }, []);
  useEffect(refresh, [refresh]);
  return <Ctx.Provider value={{ session, refresh }}>{children}</Ctx.Provider>;
}

export function useSession() {
  return useContext(Ctx);
}
