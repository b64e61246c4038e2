"use client";
import { usePathname } from "next/navigation";
import { useEffect, useState } from "react";
import { AppShell } from "@/components/AppShell";
import { Board } from "./Board";
import { ScreenMessage } from "./ScreenMessage";

/** `/boards/{id}/` → id (the export's placeholder is `_`). */
function boardIdFrom(pathname: string | null): string | null {
  const m = /^\/boards\/([^/]+)\/?$/.exec(pathname ?? "");
  if (!m || m[1] === "_") return null;
  return decodeURIComponent(m[1]);
}

/** The /boards/{id}/ page: reads the board id from the address, then shows that board in the app shell. */
export function BoardScreen() {
  const pathname = usePathname();
  const [id, setId] = useState<string | null | undefined>(undefined);
  useEffect(() => {
    // usePathname gives the exported path (/boards/_/) before hydration settles; the address bar is the truth.
    queueMicrotask(() => setId(boardIdFrom(window.location.pathname) ?? boardIdFrom(pathname)));
  }, [pathname]);
  return (
    <AppShell>
      {(user) =>
        id === undefined ? null : id === null ? (
          <ScreenMessage title="No board here" body="This address doesn't name a board." />
        ) : (
          <Board boardId={id} user={user} />
        )
      }
    </AppShell>
  );
}
