"use client";
import { useCallback, useEffect, useState } from "react";
import { AppShell } from "@/components/AppShell";
import { BoardSearch } from "@/components/BoardSearch";
import { BoardThumbnail } from "@/components/BoardThumbnail";
import { ImportBoard } from "@/components/ImportBoard";
import { useToast } from "@/components/toasts";
import { Button, Input, Spinner } from "@/components/ui";
import { getOffline, useBoardsChanged } from "@/hooks/realtime";
import { api, ApiError, inviteLink } from "@/lib/api";
import { isUnreachable } from "@/lib/identity";
import { boardPath, openBoard } from "@/lib/nav";
import { RetryOp } from "@/lib/retryOp";
import type { Board, InviteRole } from "@/realtime/protocol";

async function copy(text: string): Promise<boolean> {
  try {
    await navigator.clipboard.writeText(text);
    return true;
  } catch {
    return false;
  }
}

function BoardCard({ board, onChanged }: { board: Board; onChanged: () => void }) {
  const toast = useToast();
  const [renaming, setRenaming] = useState(false);
  const [title, setTitle] = useState(board.title);
  const [error, setError] = useState<string | null>(null);
  const [link, setLink] = useState<string | null>(null);
  const href = boardPath(board.id);
  const canRename = board.role !== "viewer";
  const isOwner = board.role === "owner";

  const rename = async () => {
    setError(null);
    try {
      await api.renameBoard(board.id, title.trim());
      setRenaming(false);
      onChanged();
    } catch (e) {
      setError((e as ApiError).message);
    }
  };
  const remove = async () => {
    if (!window.confirm(`Delete “${board.title}” and all its notes? This cannot be undone.`)) return;
    try {
      await api.deleteBoard(board.id);
      toast(`Deleted “${board.title}”`);
      onChanged();
    } catch (e) {
      toast((e as ApiError).message, "error");
    }
  };
  const invite = async (role: InviteRole) => {
    try {
      const { token } = await api.invite(board.id, role);
      const url = inviteLink(token);
      if (await copy(url)) toast(`${role === "editor" ? "Editor" : "Viewer"} invite link copied`);
      else setLink(url);
    } catch (e) {
      toast((e as ApiError).message, "error");
    }
  };

  return (
    <li className="group relative flex flex-col rounded-2xl border border-stone-200 bg-white p-4 shadow-sm transition hover:-translate-y-0.5 hover:shadow-md dark:border-stone-800 dark:bg-stone-900">
      <BoardThumbnail board={board} />
      {renaming ? (
        <form
          onSubmit={(e) => {
            e.preventDefault();
            void rename();
          }}
          className="space-y-2"
        >
          <Input
            aria-label="Board title"
            value={title}
            autoFocus
            maxLength={200}
            invalid={!!error}
            onChange={(e) => setTitle(e.target.value)}
            onKeyDown={(e) => e.key === "Escape" && setRenaming(false)}
          />
          {error && <p className="text-sm text-red-600 dark:text-red-400">{error}</p>}
          <div className="flex gap-2">
            <Button type="submit" size="sm" variant="primary">
              Save
            </Button>
            <Button size="sm" variant="ghost" onClick={() => setRenaming(false)}>
              Cancel
            </Button>
          </div>
        </form>
      ) : (
        <a href={href} className="block min-w-0 after:absolute after:inset-0 after:content-['']">
          <h2 className="truncate text-base font-semibold">{board.title}</h2>
          <p className="mt-0.5 text-xs text-stone-500 dark:text-stone-400">
            {board.role === "owner" ? "Owned by you" : `${board.owner.username}'s board · ${board.role}`} · updated{" "}
            {new Date(board.updated_at).toLocaleDateString()}
          </p>
        </a>
      )}
      {!renaming && (canRename || isOwner) && (
        <div className="relative z-10 mt-3 flex flex-wrap gap-1.5 border-t border-stone-100 pt-3 dark:border-stone-800">
          {canRename && (
            <Button size="sm" variant="ghost" onClick={() => setRenaming(true)}>
              Rename
            </Button>
          )}
          {isOwner && (
            <>
              <Button size="sm" variant="ghost" onClick={() => void invite("editor")}>
                Copy editor link
              </Button>
              <Button size="sm" variant="ghost" onClick={() => void invite("viewer")}>
                Copy viewer link
              </Button>
              <Button size="sm" variant="ghost" className="text-red-600 dark:text-red-400" onClick={() => void remove()}>
                Delete
              </Button>
            </>
          )}
        </div>
      )}
      {link && (
        <div className="relative z-10 mt-2">
          <label className="text-xs text-stone-500 dark:text-stone-400" htmlFor={`link-${board.id}`}>
            Invite link (copy it):
          </label>
          <Input id={`link-${board.id}`} readOnly value={link} onFocus={(e) => e.currentTarget.select()} />
        </div>
      )}
    </li>
  );
}

function BoardsList() {
  const [boards, setBoards] = useState<Board[] | null>(null);
  const [title, setTitle] = useState("");
  const [error, setError] = useState<string | null>(null);
  const [creating, setCreating] = useState(false);
  // A create retried after an error reuses its op: the server makes one board.
  const [createOp] = useState(() => new RetryOp());

  const [offline, setOffline] = useState(false);

  // The list is stored on every load; with the server out of reach the stored one is shown, marked as such.
  const load = useCallback(() => {
    api.boards().then(
      (r) => {
        setBoards(r.boards);
        setOffline(false);
        void getOffline().saveBoards(r.boards);
      },
      async (e: ApiError) => {
        const saved = isUnreachable(e) ? await getOffline().loadBoards() : undefined;
        if (saved) {
          setBoards(saved);
          setOffline(true);
        } else setError(e.message);
      },
    );
  }, []);
  useEffect(() => {
    document.title = "Boards · Corkboard";
    load();
  }, [load]);
  // Live: boards created, renamed, deleted, shared with or taken from this user, in any tab.
  useBoardsChanged(load);

  const create = async () => {
    const t = title.trim();
    if (!t) {
      setError("Give the board a title.");
      return;
    }
    setCreating(true);
    setError(null);
    try {
      const b = await api.createBoard(t, createOp.for(t));
      createOp.done();
      openBoard(b.id);
    } catch (e) {
      setError((e as ApiError).message);
      setCreating(false);
    }
  };

  return (
    <main className="flex-1 overflow-y-auto">
      <div className="mx-auto max-w-6xl px-4 py-8 sm:px-6">
        <div className="flex flex-col gap-4 sm:flex-row sm:items-end sm:justify-between">
          <div>
            <h1 className="text-2xl font-semibold tracking-tight">Your boards</h1>
            <p className="text-sm text-stone-500 dark:text-stone-400">Everything you own or were invited to.</p>
          </div>
          <form
            className="flex w-full gap-2 sm:w-auto"
            onSubmit={(e) => {
              e.preventDefault();
              void create();
            }}
          >
            <div className="flex-1 sm:w-72">
              <Input
                aria-label="New board title"
                placeholder="New board title"
                value={title}
                maxLength={200}
                invalid={!!error}
                onChange={(e) => setTitle(e.target.value)}
              />
            </div>
            <Button type="submit" variant="primary" disabled={creating}>
              {creating ? <Spinner /> : <svg viewBox="0 0 16 16" className="h-3.5 w-3.5" fill="none" stroke="currentColor" strokeWidth="2.2" aria-hidden="true"><path d="M8 3v10M3 8h10" strokeLinecap="round" /></svg>}
              Create board
            </Button>
          </form>
        </div>
        {offline && (
          <p role="status" data-testid="offline-boards" className="mt-3 flex items-center gap-3 rounded-lg bg-amber-100 px-3 py-2 text-sm text-amber-900 dark:bg-amber-900/40 dark:text-amber-100">
            <span className="flex-1">offline — showing saved boards</span>
            <Button size="sm" onClick={load}>
              Retry
            </Button>
          </p>
        )}
        {error && (
          <p role="alert" className="mt-3 text-sm text-red-600 dark:text-red-400">
            {error}
          </p>
        )}

        <div className="mt-4 flex flex-col gap-3 sm:flex-row sm:items-start sm:justify-between">
          <BoardSearch />
          <ImportBoard />
        </div>

        {boards === null ? (
          <div className="mt-16 flex justify-center text-stone-500 dark:text-stone-400">
            <Spinner />
          </div>
        ) : boards.length === 0 ? (
          <div className="mt-16 rounded-2xl border-2 border-dashed border-stone-300 px-6 py-16 text-center dark:border-stone-700">
            <p className="text-lg font-medium">No boards yet</p>
            <p className="mt-1 text-sm text-stone-500 dark:text-stone-400">Create your first board above, or open an invite link someone sent you.</p>
          </div>
        ) : (
          <ul className="mt-8 grid gap-4 sm:grid-cols-2 lg:grid-cols-3 xl:grid-cols-4">
            {boards.map((b) => (
              <BoardCard key={b.id} board={b} onChanged={load} />
            ))}
          </ul>
        )}
      </div>
    </main>
  );
}

export default function BoardsPage() {
  return <AppShell>{() => <BoardsList />}</AppShell>;
}
