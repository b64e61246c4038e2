"use client";
import { useEffect, useState } from "react";
import Link from "next/link";
import { api, ApiError, type InvitePreview } from "@/lib/api";
import { boardPath, goToLogin } from "@/lib/nav";
import { Button, Logo, Spinner } from "@/components/ui";

const INVALID = "This invite link is no longer valid. Ask the board owner for a new one.";

/** The message for an invite that cannot be previewed or accepted. */
function inviteError(e: ApiError): string {
  if (e.code === "not_found" || e.code === "gone") return INVALID;
  if (e.code === "forbidden") return "This link can't bring you back to the board. Ask the owner for a new one.";
  return e.message;
}

/** `/invite?token=…`: shows the board and role an invite offers, and joins only when asked. */
export default function InvitePage() {
  const [token, setToken] = useState<string | null>(null);
  const [preview, setPreview] = useState<InvitePreview | null>(null);
  const [error, setError] = useState<string | null>(null);
  const [joining, setJoining] = useState(false);

  useEffect(() => {
    document.title = "Invitation · Corkboard";
    const t = new URLSearchParams(window.location.search).get("token");
    if (!t) {
      queueMicrotask(() => setError("This invite link is incomplete."));
      return;
    }
    queueMicrotask(() => setToken(t));
    api.previewInvite(t).then(
      (p) => {
        document.title = `Join ${p.board.title} · Corkboard`;
        setPreview(p);
      },
      (e: ApiError) => (e.code === "unauthorized" ? goToLogin() : setError(inviteError(e))),
    );
  }, []);

  const join = () => {
    if (!token) return;
    setJoining(true);
    api.acceptInvite(token).then(
      (board) => window.location.replace(boardPath(board.id)),
      (e: ApiError) => {
        setJoining(false);
        if (e.code === "unauthorized") goToLogin();
        else setError(inviteError(e));
      },
    );
  };

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
            className="rounded-lg bg-brand-700 px-4 py-2 text-sm font-medium text-white shadow-sm hover:bg-brand-800"
          >
            Go to your boards
          </Link>
        </>
      ) : preview ? (
        <section aria-label="Invitation" className="flex max-w-sm flex-col items-center gap-4">
          <p className="text-stone-600 dark:text-stone-400">
            <span className="font-medium text-stone-900 dark:text-stone-100">{preview.board.owner.username}</span>{" "}
            invites you to the board
          </p>
          <h1 className="text-2xl font-semibold">{preview.board.title}</h1>
          <p className="text-sm text-stone-600 dark:text-stone-400">
            You would join as <strong data-testid="invite-role">{preview.role}</strong>
            {preview.role === "viewer" ? " (read only)" : " (you can add and edit notes)"}. The link expires{" "}
            {new Date(preview.expires_at).toLocaleString()}.
          </p>
          <div className="flex gap-3">
            <Button variant="primary" onClick={join} disabled={joining}>
              {joining ? "Joining…" : "Join board"}
            </Button>
            <Link
              href="/boards/"
              className="inline-flex h-10 items-center rounded-lg px-4 text-sm font-medium ring-1 ring-stone-300 hover:bg-stone-50 dark:ring-stone-700 dark:hover:bg-stone-800"
            >
              Cancel
            </Link>
          </div>
        </section>
      ) : (
        <p className="flex items-center gap-2 text-stone-500 dark:text-stone-400">
          <Spinner /> Opening the invitation…
        </p>
      )}
    </main>
  );
}
