"use client";
import Link from "next/link";
import { usePathname } from "next/navigation";
import { useCallback, useEffect, useMemo, useRef, useState } from "react";
import { AppShell } from "@/components/AppShell";
import { useToast } from "@/components/toasts";
import { Avatar, Button, Input, Spinner, avatarColor } from "@/components/ui";
import { useBoard } from "@/hooks/realtime";
import { api, ApiError, inviteLink } from "@/lib/api";
import type { BoardClient, BoardMeta, Notice } from "@/realtime/board";
import type { InviteRole, NoteColor, User } from "@/realtime/protocol";
import type { BoardView } from "@/realtime/store";
import { NoteCard, noteColors, type NoteActions } from "./NoteCard";

/** `/boards/{id}/` → id (the export's placeholder is `_`). */
function boardIdFrom(pathname: string | null): string | null {
  const m = /^\/boards\/([^/]+)\/?$/.exec(pathname ?? "");
  if (!m || m[1] === "_") return null;
  return decodeURIComponent(m[1]);
}

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
          <Message title="No board here" body="This address doesn't name a board." />
        ) : (
          <Board boardId={id} user={user} />
        )
      }
    </AppShell>
  );
}

function Message({ title, body }: { title: string; body: string }) {
  return (
    <main className="flex flex-1 flex-col items-center justify-center gap-3 px-6 text-center">
      <h1 className="text-xl font-semibold">{title}</h1>
      <p className="max-w-md text-stone-500">{body}</p>
      <Link href="/boards/" className="mt-2 text-sm font-medium text-brand-700 hover:underline dark:text-brand-400">
        ← Back to your boards
      </Link>
    </main>
  );
}

interface Camera {
  x: number;
  y: number;
  z: number;
}

const MIN_Z = 0.25;
const MAX_Z = 2.5;
const clampZ = (z: number) => Math.min(MAX_Z, Math.max(MIN_Z, z));

function Board({ boardId, user }: { boardId: string; user: User }) {
  const { client, view, meta } = useBoard(boardId);
  const toast = useToast();
  const [selected, setSelected] = useState<string | null>(null);
  const [editing, setEditing] = useState<string | null>(null);
  const [camera, setCamera] = useState<Camera>({ x: 40, y: 40, z: 1 });
  const role = view?.board?.role;
  const canEdit = role === "owner" || role === "editor";
  const title = view?.board?.title ?? "";
  const canvasRef = useRef<HTMLDivElement>(null);
  const cameraRef = useRef(camera);
  const clientRef = useRef<BoardClient | null>(client);
  const selectedRef = useRef(selected);
  const editingRef = useRef(editing);
  const canEditRef = useRef(false);
  useEffect(() => {
    canEditRef.current = canEdit;
    cameraRef.current = camera;
    clientRef.current = client;
    selectedRef.current = selected;
    editingRef.current = editing;
  });


  useEffect(() => {
    if (title) document.title = `${title} · Corkboard`;
  }, [title]);

  const toBoard = useCallback((clientX: number, clientY: number) => {
    const rect = canvasRef.current?.getBoundingClientRect();
    const c = cameraRef.current;
    return { x: (clientX - (rect?.left ?? 0) - c.x) / c.z, y: (clientY - (rect?.top ?? 0) - c.y) / c.z };
  }, []);

  const actions: NoteActions = useMemo(
    () => ({
      select: (id) => setSelected(id),
      startEditing: (id) => {
        setSelected(id);
        setEditing(id);
      },
      stopEditing: () => setEditing(null),
      move: (id, x, y) => void clientRef.current?.updateNote(id, { x, y }),
      resize: (id, w, h) => void clientRef.current?.updateNote(id, { w, h }),
      recolor: (id, color) => void clientRef.current?.updateNote(id, { color }),
      remove: (id) => {
        clientRef.current?.deleteNote(id);
        setSelected(null);
        setEditing(null);
      },
      saveText: (id, text, baseVersion) => void clientRef.current?.updateNote(id, { text }, { baseVersion }),
      typing: (id) => clientRef.current?.sendTyping(id),
      confirmedVersion: (id) => clientRef.current?.store.confirmedNote(id)?.version ?? 0,
    }),
    [],
  );

  const addNoteAt = useCallback(
    (x: number, y: number, color: NoteColor = "yellow") => {
      const c = clientRef.current;
      if (!c) return;
      const id = c.createNote({ x: Math.round(x), y: Math.round(y), color });
      setSelected(id);
      setEditing(id);
    },
    [],
  );

  const addNote = () => {
    const rect = canvasRef.current?.getBoundingClientRect();
    if (!rect) return;
    const center = toBoard(rect.left + rect.width / 2, rect.top + rect.height / 2);
    const jitter = () => Math.round((Math.random() - 0.5) * 60);
    addNoteAt(center.x - 100 + jitter(), center.y - 70 + jitter());
  };

  // Keyboard: Delete removes the selected note, Escape leaves editing / deselects.
  useEffect(() => {
    const onKey = (e: KeyboardEvent) => {
      const t = e.target as HTMLElement | null;
      if (t && (t.tagName === "INPUT" || t.tagName === "TEXTAREA" || t.isContentEditable)) return;
      if (e.key === "Escape") {
        setEditing(null);
        setSelected(null);
      } else if ((e.key === "Delete" || e.key === "Backspace") && selectedRef.current && !editingRef.current) {
        const id = selectedRef.current;
        if (!clientRef.current || !canEditRef.current) return;
        e.preventDefault();
        clientRef.current.deleteNote(id);
        setSelected(null);
      }
    };
    window.addEventListener("keydown", onKey);
    return () => window.removeEventListener("keydown", onKey);
  }, []);

  // Wheel: pan; with Ctrl/⌘ (and trackpad pinch): zoom around the pointer.
  useEffect(() => {
    const el = canvasRef.current;
    if (!el) return;
    const onWheel = (e: WheelEvent) => {
      if ((e.target as HTMLElement).closest("textarea")) return;
      e.preventDefault();
      const rect = el.getBoundingClientRect();
      setCamera((c) => {
        if (e.ctrlKey || e.metaKey) {
          const z = clampZ(c.z * Math.exp(-e.deltaY * 0.01));
          const px = e.clientX - rect.left;
          const py = e.clientY - rect.top;
          return { z, x: px - ((px - c.x) / c.z) * z, y: py - ((py - c.y) / c.z) * z };
        }
        return { ...c, x: c.x - e.deltaX, y: c.y - e.deltaY };
      });
    };
    el.addEventListener("wheel", onWheel, { passive: false });
    return () => el.removeEventListener("wheel", onWheel);
  }, [view?.ready]);

  const zoomBy = (f: number) => {
    const rect = canvasRef.current?.getBoundingClientRect();
    setCamera((c) => {
      const z = clampZ(c.z * f);
      const px = (rect?.width ?? 0) / 2;
      const py = (rect?.height ?? 0) / 2;
      return { z, x: px - ((px - c.x) / c.z) * z, y: py - ((py - c.y) / c.z) * z };
    });
  };

  // Background drag pans.
  const pan = useRef<{ pointer: number; sx: number; sy: number; cx: number; cy: number } | null>(null);
  const onCanvasPointerDown = (e: React.PointerEvent) => {
    if (e.button !== 0 && e.button !== 1) return;
    setSelected(null);
    setEditing(null);
    (e.currentTarget as HTMLElement).setPointerCapture(e.pointerId);
    pan.current = { pointer: e.pointerId, sx: e.clientX, sy: e.clientY, cx: camera.x, cy: camera.y };
  };
  const onCanvasPointerMove = (e: React.PointerEvent) => {
    const p = toBoard(e.clientX, e.clientY);
    clientRef.current?.sendCursor(p.x, p.y);
    const g = pan.current;
    if (g && g.pointer === e.pointerId) {
      setCamera((c) => ({ ...c, x: g.cx + e.clientX - g.sx, y: g.cy + e.clientY - g.sy }));
    }
  };
  const onCanvasPointerUp = (e: React.PointerEvent) => {
    if (pan.current?.pointer === e.pointerId) pan.current = null;
  };

  const typingByNote = useMemo(() => {
    const m = new Map<string, string[]>();
    for (const t of meta.typing) m.set(t.note, [...(m.get(t.note) ?? []), t.user.username]);
    return m;
  }, [meta.typing]);

  if (meta.status === "not_found")
    return <Message title="Board not found" body="It doesn't exist, or you don't have access to it." />;
  if (meta.status === "deleted") return <Message title="This board was deleted" body="Its notes are gone for everyone." />;
  if (meta.status === "revoked")
    return <Message title="You no longer have access" body="The owner removed you from this board." />;

  return (
    <main className="relative flex min-h-0 flex-1 flex-col">
      <Toolbar
        view={view}
        meta={meta}
        user={user}
        canEdit={canEdit}
        onAdd={addNote}
        onRename={(t) => client?.rename(t)}
        zoom={camera.z}
        onZoom={zoomBy}
        onResetZoom={() => setCamera({ x: 40, y: 40, z: 1 })}
        onInvite={async (r) => {
          try {
            const { token } = await api.invite(boardId, r);
            const url = inviteLink(token);
            try {
              await navigator.clipboard.writeText(url);
              toast(`${r === "editor" ? "Editor" : "Viewer"} invite link copied`);
            } catch {
              window.prompt("Copy this invite link:", url);
            }
          } catch (e) {
            toast((e as ApiError).message, "error");
          }
        }}
      />
      <div
        ref={canvasRef}
        data-testid="canvas"
        aria-label="Board canvas"
        className="board-grid relative min-h-0 flex-1 touch-none overflow-hidden"
        style={{
          backgroundSize: `${24 * camera.z}px ${24 * camera.z}px`,
          backgroundPosition: `${camera.x}px ${camera.y}px`,
        }}
        onPointerDown={onCanvasPointerDown}
        onPointerMove={onCanvasPointerMove}
        onPointerUp={onCanvasPointerUp}
        onPointerCancel={onCanvasPointerUp}
        onDoubleClick={(e) => {
          if (!canEdit || e.target !== e.currentTarget) return;
          const p = toBoard(e.clientX, e.clientY);
          addNoteAt(p.x - 100, p.y - 70);
        }}
      >
        {!view?.ready ? (
          <div className="flex h-full items-center justify-center text-stone-500">
            <Spinner className="mr-2" /> Opening board…
          </div>
        ) : (
          <div
            className="pointer-events-none absolute left-0 top-0 origin-top-left"
            style={{ transform: `translate(${camera.x}px, ${camera.y}px) scale(${camera.z})` }}
          >
            <div className="pointer-events-auto">
              {view.notes.map((n) => (
                <NoteCard
                  key={n.id}
                  note={n}
                  zoom={camera.z}
                  selected={selected === n.id}
                  editing={editing === n.id}
                  canEdit={canEdit}
                  dirty={view.dirty.has(n.id)}
                  typingBy={typingByNote.get(n.id) ?? EMPTY}
                  actions={actions}
                />
              ))}
            </div>
            {meta.cursors.map((c) => (
              <div
                key={c.user.id}
                className="pointer-events-none absolute left-0 top-0 z-40 transition-transform duration-75 ease-linear"
                style={{ transform: `translate(${c.x}px, ${c.y}px) scale(${1 / camera.z})`, transformOrigin: "top left" }}
                aria-hidden="true"
              >
                <svg viewBox="0 0 16 16" className={`h-4 w-4 drop-shadow ${avatarColor(c.user.id).replace("bg-", "text-")}`}>
                  <path d="M1 1l5 14 2-6 6-2z" fill="currentColor" stroke="white" strokeWidth="1" />
                </svg>
                <span
                  className={`ml-3 inline-block rounded-md px-1.5 py-0.5 text-xs font-medium text-white shadow ${avatarColor(c.user.id)}`}
                >
                  {c.user.username}
                </span>
              </div>
            ))}
          </div>
        )}
        {view?.ready && view.notes.length === 0 && (
          <div className="pointer-events-none absolute inset-0 flex items-center justify-center">
            <div className="rounded-2xl bg-white/80 px-6 py-5 text-center shadow-sm backdrop-blur dark:bg-stone-900/80">
              <p className="font-medium">This board is empty</p>
              <p className="mt-1 text-sm text-stone-500">
                {canEdit ? "Double-click anywhere, or use “Add note”." : "Notes will appear here as people add them."}
              </p>
            </div>
          </div>
        )}
      </div>
      <Notices client={client} notices={meta.notices} onTakeTheirs={(note) => editing === note && setEditing(null)} />
    </main>
  );
}

const EMPTY: string[] = [];

function Toolbar({
  view,
  meta,
  user,
  canEdit,
  onAdd,
  onRename,
  zoom,
  onZoom,
  onResetZoom,
  onInvite,
}: {
  view: BoardView | null;
  meta: BoardMeta;
  user: User;
  canEdit: boolean;
  onAdd(): void;
  onRename(title: string): void;
  zoom: number;
  onZoom(f: number): void;
  onResetZoom(): void;
  onInvite(role: InviteRole): void;
}) {
  const [renaming, setRenaming] = useState(false);
  const [draft, setDraft] = useState("");
  const board = view?.board;
  const online = meta.presence.length ? meta.presence : [{ user, connections: 1, since: "" }];

  return (
    <div className="flex flex-wrap items-center gap-x-3 gap-y-2 border-b border-stone-200 bg-white px-3 py-2 sm:px-5 dark:border-stone-800 dark:bg-stone-950">
      <div className="flex min-w-0 flex-1 items-center gap-2">
        <Link
          href="/boards/"
          className="hidden rounded-md px-1.5 py-1 text-sm text-stone-500 hover:bg-stone-100 sm:inline dark:hover:bg-stone-800"
        >
          Boards /
        </Link>
        {renaming ? (
          <form
            className="flex min-w-0 items-center gap-2"
            onSubmit={(e) => {
              e.preventDefault();
              if (draft.trim()) onRename(draft.trim());
              setRenaming(false);
            }}
          >
            <Input
              aria-label="Board title"
              value={draft}
              autoFocus
              maxLength={200}
              className="h-8"
              onChange={(e) => setDraft(e.target.value)}
              onBlur={() => setRenaming(false)}
              onKeyDown={(e) => e.key === "Escape" && setRenaming(false)}
            />
          </form>
        ) : (
          <h1 className="min-w-0 truncate text-base font-semibold">
            {canEdit ? (
              <button
                type="button"
                title="Rename board"
                className="max-w-full truncate rounded-md px-1.5 py-1 hover:bg-stone-100 dark:hover:bg-stone-800"
                onClick={() => {
                  setDraft(board?.title ?? "");
                  setRenaming(true);
                }}
              >
                {board?.title ?? "…"}
              </button>
            ) : (
              <span className="px-1.5">{board?.title ?? "…"}</span>
            )}
          </h1>
        )}
        {board && !canEdit && (
          <span className="shrink-0 rounded-full bg-stone-100 px-2 py-0.5 text-xs font-medium text-stone-600 dark:bg-stone-800 dark:text-stone-300">
            View only
          </span>
        )}
      </div>

      <section aria-label="Online" className="flex items-center">
        <div className="flex -space-x-2">
          {online.slice(0, 6).map((p) => (
            <Avatar key={p.user.id} id={p.user.id} name={p.user.username} size="sm" />
          ))}
        </div>
        {online.length > 6 && <span className="ml-2 text-xs text-stone-500">+{online.length - 6}</span>}
      </section>

      <div className="flex items-center gap-1 rounded-lg border border-stone-200 p-0.5 dark:border-stone-800">
        <Button size="sm" variant="ghost" aria-label="Zoom out" onClick={() => onZoom(1 / 1.2)}>
          −
        </Button>
        <button
          type="button"
          onClick={onResetZoom}
          className="w-12 text-center text-xs tabular-nums text-stone-600 dark:text-stone-400"
          title="Reset view"
          aria-label={`Zoom ${Math.round(zoom * 100)}%, reset view`}
        >
          {Math.round(zoom * 100)}%
        </button>
        <Button size="sm" variant="ghost" aria-label="Zoom in" onClick={() => onZoom(1.2)}>
          +
        </Button>
      </div>

      {board?.role === "owner" && (
        <details className="relative">
          <summary className="inline-flex h-8 cursor-pointer list-none items-center rounded-lg px-2.5 text-sm font-medium ring-1 ring-stone-300 hover:bg-stone-50 dark:ring-stone-700 dark:hover:bg-stone-800 [&::-webkit-details-marker]:hidden">
            Share
          </summary>
          <div className="absolute right-0 top-10 z-40 w-52 rounded-xl border border-stone-200 bg-white p-1 text-sm shadow-xl dark:border-stone-800 dark:bg-stone-900">
            <button
              type="button"
              className="w-full rounded-lg px-3 py-2 text-left hover:bg-stone-100 dark:hover:bg-stone-800"
              onClick={() => onInvite("editor")}
            >
              Copy editor link
            </button>
            <button
              type="button"
              className="w-full rounded-lg px-3 py-2 text-left hover:bg-stone-100 dark:hover:bg-stone-800"
              onClick={() => onInvite("viewer")}
            >
              Copy viewer link
            </button>
          </div>
        </details>
      )}

      {canEdit && (
        <Button variant="primary" size="sm" onClick={onAdd} disabled={!view?.ready}>
          <svg viewBox="0 0 16 16" className="h-3.5 w-3.5" fill="none" stroke="currentColor" strokeWidth="2.2" aria-hidden="true"><path d="M8 3v10M3 8h10" strokeLinecap="round" /></svg> Add note
        </Button>
      )}
    </div>
  );
}

function Notices({
  client,
  notices,
  onTakeTheirs,
}: {
  client: BoardClient | null;
  notices: Notice[];
  onTakeTheirs(note: string): void;
}) {
  const errors = notices.filter((n) => n.kind === "error");
  const conflict = notices.find((n) => n.kind === "conflict");

  useEffect(() => {
    if (!errors.length || !client) return;
    const t = setTimeout(() => errors.forEach((n) => client.dismiss(n.id)), 6000);
    return () => clearTimeout(t);
  }, [errors, client]);

  return (
    <>
      <div aria-live="polite" className="pointer-events-none absolute bottom-4 left-4 z-40 flex max-w-sm flex-col gap-2">
        {errors.map((n) => (
          <div
            key={n.id}
            role="alert"
            className="animate-toast pointer-events-auto flex items-start gap-3 rounded-lg bg-red-600 px-3.5 py-2.5 text-sm text-white shadow-lg"
          >
            <span className="flex-1">{n.message} Your change was undone.</span>
            <button type="button" aria-label="Dismiss" onClick={() => client?.dismiss(n.id)} className="opacity-80 hover:opacity-100">
              ✕
            </button>
          </div>
        ))}
      </div>
      {conflict && conflict.kind === "conflict" && (
        <div className="fixed inset-0 z-50 flex items-end justify-center bg-black/30 p-4 sm:items-center">
          <div
            role="dialog"
            aria-modal="true"
            aria-labelledby="conflict-title"
            className="w-full max-w-2xl rounded-2xl bg-white p-5 shadow-2xl dark:bg-stone-900"
          >
            <h2 id="conflict-title" className="text-lg font-semibold">
              Edit conflict
            </h2>
            <p className="mt-1 text-sm text-stone-500">{conflict.message} Which version should stay?</p>
            <div className="mt-4 grid gap-3 sm:grid-cols-2">
              <Version label="Yours" text={conflict.mine.text} color={conflict.mine.color ?? conflict.theirs.color} />
              <Version
                label={`Current (${conflict.theirs.created_by?.username ? "on the board" : "theirs"})`}
                text={conflict.theirs.text}
                color={conflict.theirs.color}
              />
            </div>
            <div className="mt-5 flex flex-col-reverse gap-2 sm:flex-row sm:justify-end">
              <Button
                onClick={() => {
                  onTakeTheirs(conflict.note);
                  client?.resolveConflict(conflict.id, "theirs");
                }}
              >
                Take theirs
              </Button>
              <Button variant="primary" onClick={() => client?.resolveConflict(conflict.id, "mine")}>
                Keep mine
              </Button>
            </div>
          </div>
        </div>
      )}
    </>
  );
}

function Version({ label, text, color }: { label: string; text?: string; color: NoteColor }) {
  return (
    <figure>
      <figcaption className="mb-1.5 text-xs font-medium uppercase tracking-wide text-stone-500">{label}</figcaption>
      <div
        className={`max-h-56 min-h-24 overflow-y-auto whitespace-pre-wrap rounded-md p-3 text-sm text-stone-900 shadow ${noteColors[color].bg}`}
        style={{ fontFamily: "var(--font-note)" }}
      >
        {text ?? <em className="text-stone-500">(text unchanged)</em>}
      </div>
    </figure>
  );
}
