"use client";
import { useEffect } from "react";
import { api } from "@/lib/api";
import { Logo, Spinner } from "@/components/ui";

/** `/`: to the boards when signed in, else to sign-in. */
export default function Home() {
  useEffect(() => {
    api.me().then(
      () => window.location.replace("/boards/"),
      () => window.location.replace("/login/"),
    );
  }, []);
  return (
    <main className="flex h-dvh flex-col items-center justify-center gap-4 text-stone-500">
      <Logo className="text-2xl text-stone-900 dark:text-stone-100" />
      <Spinner />
    </main>
  );
}
