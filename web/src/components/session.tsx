"use client";
import { createContext, useCallback, useContext, useEffect, useState } from "react";
import { prewarmOffline, startOffline } from "@/hooks/realtime";
import { api } from "@/lib/api";
import { forgetUser, isUnreachable, lastUser, rememberUser } from "@/lib/identity";
import type { User } from "@/realtime/protocol";

export type SessionState = { status: "loading" } | { status: "anonymous" } | { status: "signed-in"; user: User };

const Ctx = createContext<{ session: SessionState; refresh(): void }>({
  session: { status: "loading" },
  refresh: () => undefined,
});

/**
 * Asks `GET /api/me` once per page load. When the server cannot be reached,
 * the last signed-in user (lib/identity.ts) stands in, so the app works
 * offline from its stored data; only a real "signed out" answer leads to sign-in.
 */
export function SessionProvider({ children }: { children: React.ReactNode }) {
  const [session, setSession] = useState<SessionState>({ status: "loading" });
  const refresh = useCallback(() => {
    const last = lastUser();
    if (last) prewarmOffline(last.id);
    api.me().then(
      ({ user }) => {
        rememberUser(user);
        startOffline(user);
        setSession({ status: "signed-in", user });
      },
      (err: unknown) => {
        const cached = isUnreachable(err) ? lastUser() : null;
        if (cached) {
          startOffline(cached);
          setSession({ status: "signed-in", user: cached });
        } else {
          if (!isUnreachable(err)) forgetUser();
          setSession({ status: "anonymous" });
        }
      },
    );
  }, []);
  useEffect(refresh, [refresh]);
  return <Ctx.Provider value={{ session, refresh }}>{children}</Ctx.Provider>;
}

export function useSession() {
  return useContext(Ctx);
}
