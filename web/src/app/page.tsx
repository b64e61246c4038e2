"use client";
import { useEffect } from "react";
import { api } from "@/lib/api";
import { isUnreachable, lastUser } from "@/lib/identity";
import { Logo, Spinner } from "@/components/ui";

/** `/`: to the boards when signed in, else to sign-in. */
export default function Home() {
  useEffect(() => {
    api.me().then(
      () => window.location.replace("/boards/"),
      // Offline with a remembered user: the boards page works from stored data.
      (err: unknown) => window.location.replace(isUnreachable(err) && lastUser() ? "/boards/" : "/login/"),
    );
  }, []);
  return (
    <main className="flex h-dvh flex-col items-center justify-center gap-4 text-stone-500 dark:text-stone-400">
      <Logo className="text-2xl text-stone-900 dark:text-stone-100" />
      <Spinner />
    </main>
  );
}
