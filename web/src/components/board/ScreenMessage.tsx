"use client";
import Link from "next/link";

/** A full-screen message in place of the board (no such board, deleted, access lost), with a way back. */
export function ScreenMessage({ title, body }: { title: string; body: string }) {
  return (
    <main className="flex flex-1 flex-col items-center justify-center gap-3 px-6 text-center">
      <h1 className="text-xl font-semibold">{title}</h1>
      <p className="max-w-md text-stone-500 dark:text-stone-400">{body}</p>
      <Link href="/boards/" className="mt-2 text-sm font-medium text-brand-700 hover:underline dark:text-brand-400">
        ← Back to your boards
      </Link>
    </main>
  );
}
