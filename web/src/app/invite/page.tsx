"use client";
import { useEffect, useState } from "react";
import Link from "next/link";
import { api, ApiError } from "@/lib/api";
import { boardPath, goToLogin } from "@/lib/nav";
import { Logo, Spinner } from "@/components/ui";

/** `/invite?token=…`: accepts the invite and opens the board. */
export default function InvitePage() {
  const [error, setError] = useState<string | null>(null);

  useEffect(() => {
    document.title = "Joining a board · Corkboard";
    const token = new URLSearchParams(window.location.search).get("token");
    if (!token) {
      queueMicrotask(() => setError("This invite link is incomplete."));
      return;
    }
    api.acceptInvite(token).then(
      (board) => window.location.replace(boardPath(board.id)),
      (e: ApiError) => {
        if (e.code === "unauthorized") {
          goToLogin();
        } else if (e.code === "not_found" || e.code === "gone") {
          setError("This invite link is no longer valid. Ask the board owner for a new one.");
        } else {
          setError(e.message);
        }
      },
    );
  }, []);

  return (
    <main className="flex min-h-dvh flex-col items-center justify-center gap-6 px-6 text-center">
      <Logo className="text-xl" />
      {error ? (
        <>
          <p role="alert" className="max-w-sm text-stone-700 dark:text-stone-300">
            {error}
          </p>
          <Link
            href="/boards/"
            className="rounded-lg bg-brand-500 px-4 py-2 text-sm font-medium text-white shadow-sm hover:bg-brand-600"
          >
            Go to your boards
          </Link>
        </>
      ) : (
        <p className="flex items-center gap-2 text-stone-500">
          <Spinner /> Joining the board…
        </p>
      )}
    </main>
  );
}
