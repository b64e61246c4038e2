"use client";
import { useCallback, useEffect, useLayoutEffect, useMemo, useRef, useState } from "react";
import { useToast } from "@/components/toasts";
import { avatarColor, Spinner } from "@/components/ui";
import { useBoard, useConnectionState } from "@/hooks/realtime";
import { api } from "@/lib/api";
import { exportBoard, exportFileName } from "@/lib/boardFile";
import { aRole } from "@/lib/members";
import { noteFromText, placeAt, readClipboard, toPayload, writeNotes } from "@/lib/noteClipboard";
import type { Id, Note, NoteColor, NoteDelta, User } from "@/realtime/protocol";
import { planRestore, summarizePlan } from "@/realtime/restorePlan";
import type { PlacedCaret } from "./CaretText";
import type { MentionCandidate } from "./Mentions";
import { NoteCard, type NoteActions, type RemoteDragPos } from "./NoteCard";
import { Notices } from "./Notices";
import { ScreenMessage } from "./ScreenMessage";
import { eventByline, HistoryPanel } from "./HistoryPanel";
import { Toolbar } from "./Toolbar";
import { useBoardHistory } from "./useBoardHistory";
import { fitCamera, followCamera, HOME, lerpCamera, viewBoxOf, wheelZoomFactor, zoomAt, type Camera } from "./camera";
import { useCamera } from "./useCamera";
import { SelectionBar } from "./SelectionBar";
import {
  clickSelect,
  GRID,
  inMarquee,
  loadPrefs,
  neighbourAfterDelete,
  NONE,
  nudge,
  NUDGE,
  NUDGE_FAR,
  rectFrom,
  savePrefs,
  snap,
  snapDelta,
  zIndexOf,
  type EditPrefs,
  type Rect,
  type Selection,
} from "./selection";
import { useFocusNote } from "./useFocusNote";

/** A gesture on the canvas in progress (not state: it does not render). */
type Gesture =
  | { kind: "pan"; pointer: number; sx: number; sy: number; cx: number; cy: number }
  /** `sx`/`sy`: the start in board coordinates; `base`: the selection kept (Shift). */
  | { kind: "marquee"; pointer: number; sx: number; sy: number; base: Selection }
  /**
   * Moving the selection: the notes' elements are moved with a CSS transform,
   * without rendering (a drag among 1,000 notes renders nothing per frame);
   * the drop writes the new positions as one undo step.
   */
  | { kind: "drag"; pointer: number; sx: number; sy: number; id: Id; ids: Id[]; els: HTMLElement[]; moved: boolean; dx: number; dy: number; additive: boolean };

/**
 * Moves dragged notes' elements by (`dx`, `dy`) board px with a transform and
 * lifts them on top (`data-dragging`, see globals.css); null puts them back.
 * Outside React: the drop's new positions replace the transform in the same frame.
 */
function placeEls(els: readonly HTMLElement[], d: { dx: number; dy: number } | null, canvas: HTMLElement | null): void {
  // the selection's toolbar hides while its notes move (globals.css), without a render
  if (canvas && (d !== null) !== canvas.hasAttribute("data-moving")) canvas.toggleAttribute("data-moving", d !== null);
  for (const el of els) {
    if (d) {
      el.dataset.dragging = "";
      el.style.transform = `translate(${d.dx}px, ${d.dy}px)`;
    } else {
      delete el.dataset.dragging;
      el.style.transform = "";
    }
  }
}

/** Where a duplicate lands, relative to its original (board px). */
const DUPLICATE_OFFSET = 20;

const NO_USERS: User[] = [];
const NO_CARETS: PlacedCaret[] = [];
/** How long the camera takes to catch up with a followed view (ms). */
const FOLLOW_EASE_MS = 220;

/**
 * Per key, the users listed under it, each once. A key whose users are the
 * same as in `prev` keeps `prev`'s array, so its (memoised) note does not
 * redraw when only someone's cursor moved.
 */
function usersBy(entries: Iterable<[string, User]>, prev?: Map<string, User[]>): Map<string, User[]> {
  const m = new Map<string, User[]>();
  for (const [k, u] of entries) {
    const list = m.get(k) ?? [];
    if (!list.some((x) => x.id === u.id)) list.push(u);
    m.set(k, list);
  }
  if (prev) {
    for (const [k, list] of m) {
      const old = prev.get(k);
      if (old && old.length === list.length && old.every((u, i) => u.id === list[i].id)) m.set(k, old);
    }
  }
  return m;
}

/**
 * One open board: the canvas (pan, zoom, notes, remote cursors), its toolbar
 * and notices. What the user may do follows the live role: a demotion to
 * viewer takes the editing controls away at once.
 */
export function Board({ boardId, user }: { boardId: string; user: User }) {
  const { client, view, meta } = useBoard(boardId);
  const offline = useConnectionState().conn.status !== "live";
  const toast = useToast();
  const [selected, setSelected] = useState<Selection>(NONE);
  const [prefs, setPrefs] = useState<EditPrefs>(() => loadPrefs(user.id));
  const [selectArea, setSelectArea] = useState(false);
  const [marquee, setMarquee] = useState<Rect | null>(null);
  const [editingNote, setEditingNote] = useState<string | null>(null);
  const [camera, setCameraRaw] = useCamera(boardId);
  // Following someone: this view tracks their `viewport` signal until this user pans or zooms.
  const [following, setFollowing] = useState<string | null>(null);
  /** A pan or zoom by this user (it ends following). */
  const setCamera = useCallback(
    (u: React.SetStateAction<Camera>) => {
      setFollowing(null);
      setCameraRaw(u);
    },
    [setCameraRaw],
  );
  const cameraRef = useRef(camera);
  useEffect(() => {
    cameraRef.current = camera;
  }, [camera]);
  const [canvasSize, setCanvasSize] = useState<{ w: number; h: number } | null>(null);
  const [historyOpen, setHistoryOpen] = useState(false);
  const [restoring, setRestoring] = useState(false);
  const history = useBoardHistory(boardId, view?.seq ?? 0, historyOpen, view?.notes);
  // A past version is drawn read-only; the live board keeps updating underneath.
  const past = history.version;
  const role = view?.board?.role;
  const mayEdit = role === "owner" || role === "editor";
  const canEdit = mayEdit && history.chosen === null;
  // A note being edited closes when the user may no longer edit (its text is saved, and refused if so).
  const editing = canEdit ? editingNote : null;
  const title = view?.board?.title ?? "";
  const canvasRef = useRef<HTMLDivElement>(null);
  const notesRef = useRef<HTMLDivElement>(null);
  const barRef = useRef<HTMLDivElement>(null);
  const gesture = useRef<Gesture | null>(null);
  /** Touch pointers on the canvas (for pinch-zoom and two-finger pan). */
  const touches = useRef(new Map<number, { x: number; y: number }>());
  const pinch = useRef<{ d: number; mx: number; my: number } | null>(null);
  /** The pointer's last position over the canvas, in board coordinates (paste goes there); null when outside. */
  const pointerAt = useRef<{ x: number; y: number } | null>(null);
  const spaceDown = useRef(false);

  useEffect(() => {
    if (title) document.title = `${title} · Corkboard`;
  }, [title]);

  // The canvas's place on the page, kept by a ResizeObserver: reading it on every
  // pointer move would force a style and layout pass in the middle of a drag.
  const canvasRect = useRef<DOMRect | null>(null);
  useEffect(() => {
    const el = canvasRef.current;
    if (!el || typeof ResizeObserver === "undefined") return;
    const ro = new ResizeObserver(() => (canvasRect.current = el.getBoundingClientRect()));
    ro.observe(el);
    const onResize = () => (canvasRect.current = el.getBoundingClientRect());
    window.addEventListener("resize", onResize);
    return () => {
      ro.disconnect();
      window.removeEventListener("resize", onResize);
    };
  }, []);

  // Opened on a note (`?note=`, from search or a notification): show and select it.
  const noteGone = useCallback(() => toast("That note is no longer on this board", "error"), [toast]);
  useFocusNote(!!view?.ready, view?.notes, canvasRef, setCamera, noteGone);

  const toBoard = useCallback(
    (clientX: number, clientY: number) => {
      const rect = canvasRect.current ?? canvasRef.current?.getBoundingClientRect();
      return { x: (clientX - (rect?.left ?? 0) - camera.x) / camera.z, y: (clientY - (rect?.top ?? 0) - camera.y) / camera.z };
    },
    [camera],
  );

  const updatePrefs = useCallback(
    (p: Partial<EditPrefs>) =>
      setPrefs((prev) => {
        const next = { ...prev, ...p };
        savePrefs(user.id, next);
        return next;
      }),
    [user.id],
  );

  const noteEl = (id: Id) => notesRef.current?.querySelector<HTMLElement>(`[data-note-id="${CSS.escape(id)}"]`) ?? null;
  /** The selected notes that exist (a note deleted by someone else drops out). */
  const selectedNotes = useMemo(() => {
    const out: Note[] = [];
    if (view) for (const id of selected) {
      const n = view.byId.get(id);
      if (n) out.push(n);
    }
    return out;
  }, [selected, view]);

  // The latest of what the stable callbacks below read (they are created once per client).
  const live = useRef({ selected, selectedNotes, canEdit, editing, view, prefs, camera });
  useLayoutEffect(() => {
    live.current = { selected, selectedNotes, canEdit, editing, view, prefs, camera };
  });

  const endDrag = (g: Extract<Gesture, { kind: "drag" }>) => {
    placeEls(g.els, null, canvasRef.current);
    if (g.moved) client?.sendDrag([]);
  };
  const cancelGesture = () => {
    const g = gesture.current;
    gesture.current = null;
    if (g?.kind === "drag") endDrag(g);
    setMarquee(null);
  };
  // Board members for @mentions: fetched on first use, again after a member event (joined, role, left).
  const membersVersion = useRef(meta.membersVersion);
  useEffect(() => {
    membersVersion.current = meta.membersVersion;
  }, [meta.membersVersion]);
  const membersCache = useRef<{ version: number; list: Promise<MentionCandidate[]> } | null>(null);
  const members = useCallback((): Promise<MentionCandidate[]> => {
    const v = membersVersion.current;
    if (!membersCache.current || membersCache.current.version !== v) {
      const list = api.members(boardId).then((r) => r.members.map((m) => m.user).filter((u) => u.id !== user.id));
      membersCache.current = { version: v, list };
      list.catch(() => {
        if (membersCache.current?.list === list) membersCache.current = null; // try again next time
      });
    }
    return membersCache.current.list;
  }, [boardId, user.id]);

  const actions: NoteActions = useMemo(
    () => ({
      pointerDown: (id, e) => {
        if (e.button !== 0) return; // the middle button pans, from anywhere
        e.stopPropagation();
        if (pinch.current) return;
        const s = live.current;
        const additive = e.shiftKey || e.ctrlKey || e.metaKey;
        const next = clickSelect(s.selected, id, additive);
        setSelected(next);
        if (!s.canEdit || additive) return;
        const ids = [...next].filter((x) => s.view?.byId.has(x));
        const els = ids.map((x) => notesRef.current?.querySelector<HTMLElement>(`[data-note-id="${CSS.escape(x)}"]`)).filter((x): x is HTMLElement => !!x);
        // The pointer is captured only once the drag starts: a capture now would send the click and
        // double-click to the canvas (a double-click on a note edits it, on the canvas adds a note).
        gesture.current = { kind: "drag", pointer: e.pointerId, sx: e.clientX, sy: e.clientY, id, ids, els, moved: false, dx: 0, dy: 0, additive };
      },
      focused: (id) => setSelected((sel) => (sel.has(id) ? sel : new Set([id]))),
      openMenu: () => barRef.current?.querySelector<HTMLButtonElement>('button[tabindex="0"]')?.focus(),
      startEditing: (id) => {
        setSelected(new Set([id]));
        setEditingNote(id);
      },
      stopEditing: () => setEditingNote(null),
      resize: (id, w, h) => void client?.updateNote(id, { w, h }),
      typing: (id) => client?.sendTyping(id),
      openText: (id) => client?.openTextWhenReady(id) ?? Promise.resolve(null),
      selection: (id, anchor, head) => client?.sendSelection(id, anchor, head),
      undoText: (id) => client?.undoText(id),
      redoText: (id) => client?.redoText(id),
      lastEditor: (id) => client?.store.lastEditor(id) ?? null,
      members,
      notify: (message) => toast(message, "error"),
    }),
    [client, members, toast],
  );

  // Others see this user's selection outlined in this user's colour.
  useEffect(() => {
    client?.setSelected(selected);
  }, [client, selected]);

  // The canvas's size, for the viewport signal and for following.
  useEffect(() => {
    const el = canvasRef.current;
    if (!el) return;
    const measure = () => setCanvasSize({ w: el.clientWidth, h: el.clientHeight });
    measure();
    const ro = new ResizeObserver(measure);
    ro.observe(el);
    return () => ro.disconnect();
  }, [view?.ready]);

  // This user's view, for whoever follows them (the client throttles and skips repeats).
  useEffect(() => {
    if (client && canvasSize && canvasSize.w > 0 && canvasSize.h > 0) client.sendViewport(viewBoxOf(camera, canvasSize.w, canvasSize.h));
  }, [client, camera, canvasSize]);

  // Following: ease towards the followed view each time it changes; stop when they leave.
  const followed = following ? meta.viewports.find((v) => v.user.id === following) : undefined;
  const followedName = following ? (meta.presence.find((p) => p.user.id === following)?.user.username ?? followed?.user.username) : undefined;
  useEffect(() => {
    if (following && !meta.presence.some((p) => p.user.id === following)) setFollowing(null);
  }, [following, meta.presence]);
  const fx = followed?.x;
  const fy = followed?.y;
  const fz = followed?.zoom;
  const fw = followed?.w;
  const fh = followed?.h;
  useEffect(() => {
    if (fx === undefined || fy === undefined || !fz || !fw || !fh || !canvasSize) return;
    const target = followCamera({ x: fx, y: fy, zoom: fz, w: fw, h: fh }, canvasSize.w, canvasSize.h);
    const from = cameraRef.current;
    const reduce = window.matchMedia?.("(prefers-reduced-motion: reduce)").matches;
    if (reduce) {
      setCameraRaw(target);
      return;
    }
    const t0 = performance.now();
    let raf = requestAnimationFrame(function step(t) {
      const k = Math.min(1, (t - t0) / FOLLOW_EASE_MS);
      setCameraRaw(lerpCamera(from, target, 1 - (1 - k) ** 3));
      if (k < 1) raf = requestAnimationFrame(step);
    });
    return () => cancelAnimationFrame(raf);
  }, [fx, fy, fz, fw, fh, canvasSize, setCameraRaw]);

  const addNoteAt = (x: number, y: number, color: NoteColor = prefs.color) => {
    if (!client) return;
    const at = prefs.snap ? { x: snap(x), y: snap(y) } : { x: Math.round(x), y: Math.round(y) };
    const id = client.createNote({ ...at, color });
    setSelected(new Set([id]));
    setEditingNote(id);
  };

  const viewCentre = () => {
    const rect = canvasRef.current?.getBoundingClientRect();
    return rect ? toBoard(rect.left + rect.width / 2, rect.top + rect.height / 2) : { x: 0, y: 0 };
  };

  const addNote = () => {
    const center = viewCentre();
    const jitter = () => Math.round((Math.random() - 0.5) * 60);
    addNoteAt(center.x - 100 + jitter(), center.y - 70 + jitter());
  };

  // ------------------------------------------------------------ selection commands (each one undo step)

  const recolorSelection = (color: NoteColor) => {
    client?.updateNotes(selectedNotes.filter((n) => n.color !== color).map((n) => ({ id: n.id, delta: { color } })));
  };

  /** Deletes the selection; `refocus`: focus moves to a neighbouring note (keyboard) or the canvas. */
  const deleteSelection = (refocus: "neighbour" | "canvas") => {
    if (!client || !view || selectedNotes.length === 0) return;
    const ids = selectedNotes.map((n) => n.id);
    const next = refocus === "neighbour" ? neighbourAfterDelete(view.notes.map((n) => n.id), new Set(ids)) : null;
    client.deleteNotes(ids);
    setSelected(NONE);
    setEditingNote(null);
    const el = next ? noteEl(next) : null;
    if (el) el.focus();
    else canvasRef.current?.focus();
  };

  const duplicateSelection = () => {
    if (!client || selectedNotes.length === 0) return;
    const ids = client.createNotes(
      selectedNotes.map((n) => ({ text: n.text, color: n.color, w: n.w, h: n.h, x: n.x + DUPLICATE_OFFSET, y: n.y + DUPLICATE_OFFSET })),
    );
    setSelected(new Set(ids));
  };

  const bringToFront = () => client?.bringToFront(selectedNotes.map((n) => n.id));
  const sendToBack = () => client?.sendToBack(selectedNotes.map((n) => n.id));

  const nudgeSelection = (dx: -1 | 0 | 1, dy: -1 | 0 | 1, far: boolean) => {
    const step = far ? NUDGE_FAR : NUDGE;
    const grid = prefs.snap ? GRID : null;
    client?.updateNotes(
      selectedNotes.map((n) => {
        const delta: NoteDelta = {};
        if (dx) delta.x = nudge(n.x, dx, step, grid);
        if (dy) delta.y = nudge(n.y, dy, step, grid);
        return { id: n.id, delta };
      }),
    );
  };

  const copySelection = async (cut: boolean) => {
    if (selectedNotes.length === 0) return;
    const n = selectedNotes.length;
    const where = await writeNotes(toPayload(selectedNotes));
    if (cut) deleteSelection("neighbour");
    const what = `${n} note${n === 1 ? "" : "s"}`;
    toast(where === "clipboard" ? `${cut ? "Cut" : "Copied"} ${what}` : `${cut ? "Cut" : "Copied"} ${what} (kept in this browser: no clipboard access)`);
  };

  const paste = async () => {
    if (!client) return;
    const got = await readClipboard();
    if (!got) {
      toast("Nothing to paste");
      return;
    }
    const at = pointerAt.current ?? viewCentre();
    if ("notes" in got) {
      const p = got.notes;
      const w = Math.max(...p.notes.map((n) => n.x + n.w)) - Math.min(...p.notes.map((n) => n.x));
      const h = Math.max(...p.notes.map((n) => n.y + n.h)) - Math.min(...p.notes.map((n) => n.y));
      // Centred on the pointer (or the view).
      let x = at.x - w / 2;
      let y = at.y - h / 2;
      if (prefs.snap) [x, y] = [snap(x), snap(y)];
      const ids = client.createNotes(placeAt(p, x, y));
      setSelected(new Set(ids));
      toast(`Pasted ${ids.length} note${ids.length === 1 ? "" : "s"}`);
    } else {
      const { text, cut } = noteFromText(got.text);
      const x = at.x - 100;
      const y = at.y - 70;
      const id = client.createNote({ x: Math.round(prefs.snap ? snap(x) : x), y: Math.round(prefs.snap ? snap(y) : y), text, color: prefs.color });
      setSelected(new Set([id]));
      if (cut) toast(`The pasted text was cut: ${cut.toLocaleString("en")} characters over the 10,000-character limit of a note were left out.`, "error");
    }
  };

  // The keyboard commands read the latest closures through a ref (one listener for the board's life).
  const commands = useRef({ deleteSelection, duplicateSelection, bringToFront, sendToBack, nudgeSelection, copySelection, paste });
  useLayoutEffect(() => {
    commands.current = { deleteSelection, duplicateSelection, bringToFront, sendToBack, nudgeSelection, copySelection, paste };
  });

  // Keyboard: Delete removes the selection, Escape leaves editing / deselects, arrows nudge,
  // Ctrl/⌘+D duplicates, +C/X/V copy, cut and paste, +A selects all, "]" brings to front, "[" sends to back,
  // Ctrl/⌘+Z undoes, Ctrl/⌘+Shift+Z and Ctrl+Y redo (the note editor handles its own first).
  useEffect(() => {
    const onKey = (e: KeyboardEvent) => {
      const t = e.target as HTMLElement | null;
      if (t && (t.tagName === "INPUT" || t.tagName === "TEXTAREA" || t.tagName === "SELECT" || t.isContentEditable)) return;
      // Keys meant for a dialog or a menu stay there.
      if (t?.closest?.('[role="dialog"], [role="alertdialog"], [role="menu"], [aria-modal="true"]')) return;
      const s = live.current;
      const c = commands.current;
      const mod = e.ctrlKey || e.metaKey;
      const key = e.key.toLowerCase();
      const has = s.selectedNotes.length > 0;
      if (e.key === " " && !(t instanceof HTMLButtonElement)) {
        spaceDown.current = true;
        e.preventDefault();
      } else if (mod && !e.altKey && key === "z") {
        if (!client || !s.canEdit) return;
        e.preventDefault();
        if (e.shiftKey) client.redo();
        else client.undo();
      } else if (e.ctrlKey && !e.metaKey && !e.shiftKey && !e.altKey && key === "y") {
        if (!client || !s.canEdit) return;
        e.preventDefault();
        client.redo();
      } else if (e.key === "Escape") {
        cancelGesture();
        setEditingNote(null);
        setSelected(NONE);
      } else if ((e.key === "Delete" || e.key === "Backspace") && has && !s.editing) {
        if (!s.canEdit) return;
        e.preventDefault();
        c.deleteSelection("neighbour");
      } else if (mod && !e.altKey && key === "d") {
        e.preventDefault(); // not the browser's bookmark
        if (s.canEdit && has) c.duplicateSelection();
      } else if (mod && !e.altKey && (key === "c" || key === "x") && has) {
        if (key === "x" && !s.canEdit) return;
        e.preventDefault();
        void c.copySelection(key === "x");
      } else if (mod && !e.altKey && key === "v") {
        if (!s.canEdit) return;
        e.preventDefault();
        void c.paste();
      } else if (mod && !e.altKey && key === "a") {
        e.preventDefault();
        setSelected(new Set(s.view?.notes.map((n) => n.id) ?? []));
      } else if (e.key === "]" && !mod && has && s.canEdit) {
        e.preventDefault();
        c.bringToFront();
      } else if (e.key === "[" && !mod && has && s.canEdit) {
        e.preventDefault();
        c.sendToBack();
      } else if (e.key.startsWith("Arrow") && has && s.canEdit && !mod && !e.altKey) {
        e.preventDefault();
        const dx = e.key === "ArrowLeft" ? -1 : e.key === "ArrowRight" ? 1 : 0;
        const dy = e.key === "ArrowUp" ? -1 : e.key === "ArrowDown" ? 1 : 0;
        c.nudgeSelection(dx, dy, e.shiftKey);
      }
    };
    const onKeyUp = (e: KeyboardEvent) => {
      if (e.key === " ") spaceDown.current = false;
    };
    const onBlur = () => (spaceDown.current = false);
    window.addEventListener("keydown", onKey);
    window.addEventListener("keyup", onKeyUp);
    window.addEventListener("blur", onBlur);
    return () => {
      window.removeEventListener("keydown", onKey);
      window.removeEventListener("keyup", onKeyUp);
      window.removeEventListener("blur", onBlur);
    };
    // eslint-disable-next-line react-hooks/exhaustive-deps
  }, [client]);

  // Wheel: pan; with Ctrl/⌘ (and trackpad pinch): zoom around the pointer.
  useEffect(() => {
    const el = canvasRef.current;
    if (!el) return;
    const onWheel = (e: WheelEvent) => {
      if ((e.target as HTMLElement).closest("textarea")) return;
      // Over a note's long text, the wheel scrolls the text.
      const text = (e.target as HTMLElement).closest<HTMLElement>("[data-note-scroll]");
      if (text && !e.ctrlKey && !e.metaKey && text.scrollHeight > text.clientHeight) return;
      e.preventDefault();
      const rect = el.getBoundingClientRect();
      setCamera((c) => {
        if (e.ctrlKey || e.metaKey) return zoomAt(c, wheelZoomFactor(e.deltaY, e.deltaMode), e.clientX - rect.left, e.clientY - rect.top);
        return { ...c, x: c.x - e.deltaX, y: c.y - e.deltaY };
      });
    };
    el.addEventListener("wheel", onWheel, { passive: false });
    return () => el.removeEventListener("wheel", onWheel);
  }, [view?.ready, setCamera]);

  const zoomBy = (f: number) => {
    const rect = canvasRef.current?.getBoundingClientRect();
    setCamera((c) => zoomAt(c, f, (rect?.width ?? 0) / 2, (rect?.height ?? 0) / 2));
  };

  /** Fit to screen: every note of what is shown (live or a past version) in view. */
  const fit = () => {
    const rect = canvasRef.current?.getBoundingClientRect();
    setCamera(fitCamera(past?.notes ?? view?.notes ?? [], rect?.width ?? 0, rect?.height ?? 0));
  };

  // The version being viewed when one is shown (the file's seq says which), else the live board.
  const exportJson = () => {
    if (!view?.board) return;
    const shown = past && past.seq === history.chosen ? past : null;
    const file = shown
      ? exportBoard({ title: shown.title, seq: shown.seq }, shown.notes)
      : exportBoard({ title: view.board.title, seq: view.seq }, view.notes);
    const url = URL.createObjectURL(new Blob([JSON.stringify(file, null, 2)], { type: "application/json" }));
    const a = document.createElement("a");
    a.href = url;
    a.download = exportFileName(file.title, shown?.seq);
    document.body.append(a);
    a.click();
    a.remove();
    // Revoked only once the browser has surely started the download (revoking at once can cancel it).
    setTimeout(() => URL.revokeObjectURL(url), 10_000);
  };

  const versionByline = (seq: number) => {
    if (seq === 0) return " (the board as created)";
    const line = eventByline(history.itemAt(seq));
    return line ? ` by ${line}` : "";
  };

  // Closing the panel goes back to live.
  const { choose } = history;
  const closeHistory = useCallback(() => {
    choose(null);
    setHistoryOpen(false);
  }, [choose]);

  // "Restore this version": the difference to the live board, sent as this user's mutations (one undo step).
  const restore = async () => {
    if (!client || !view || !past) return;
    const plan = planRestore(view.notes, past.notes);
    if (plan.length === 0) {
      toast(`The board already looks like version #${past.seq}.`);
      return;
    }
    const n = plan.length;
    if (!window.confirm(`Restore ${n} change${n === 1 ? "" : "s"} (${summarizePlan(plan)}) to go back to version #${past.seq}?`)) return;
    setRestoring(true);
    const outcome = await client.restoreVersion(plan);
    setRestoring(false);
    history.choose(null);
    if (outcome.failed.length === 0) toast(`Restored version #${past.seq} (${n} change${n === 1 ? "" : "s"}). Undo takes it back.`);
    else
      toast(
        `Restored ${outcome.applied} of ${n} changes; the server refused ${outcome.failed.length}: ${outcome.failed[0].error.message}`,
        "error",
      );
  };

  // ------------------------------------------------------------ pointer gestures

  const canvasXY = (e: { clientX: number; clientY: number }) => {
    const rect = canvasRef.current?.getBoundingClientRect();
    return { x: e.clientX - (rect?.left ?? 0), y: e.clientY - (rect?.top ?? 0) };
  };

  // Touch: a second finger anywhere on the canvas (a note included) turns the gesture into pinch-zoom and pan.
  const onCanvasPointerDownCapture = (e: React.PointerEvent) => {
    if (e.pointerType !== "touch") return;
    touches.current.set(e.pointerId, canvasXY(e));
    if (touches.current.size !== 2) return;
    e.stopPropagation();
    cancelGesture();
    for (const id of touches.current.keys()) {
      try {
        canvasRef.current?.setPointerCapture(id);
      } catch {
        // that pointer is already gone
      }
    }
    const [a, b] = [...touches.current.values()];
    pinch.current = { d: Math.hypot(a.x - b.x, a.y - b.y), mx: (a.x + b.x) / 2, my: (a.y + b.y) / 2 };
  };

  // Background: drag pans (Shift+drag, or any drag with "Select area" on, draws a marquee; Space or the middle button always pan).
  const onCanvasPointerDown = (e: React.PointerEvent) => {
    if (e.button !== 0 && e.button !== 1) return;
    if (pinch.current) return;
    setEditingNote(null);
    const additive = e.shiftKey || e.ctrlKey || e.metaKey;
    (e.currentTarget as HTMLElement).setPointerCapture(e.pointerId);
    if (e.button === 0 && !spaceDown.current && (additive || selectArea)) {
      const p = toBoard(e.clientX, e.clientY);
      gesture.current = { kind: "marquee", pointer: e.pointerId, sx: p.x, sy: p.y, base: additive ? selected : NONE };
      if (!additive) setSelected(NONE);
    } else {
      if (!additive) setSelected(NONE);
      gesture.current = { kind: "pan", pointer: e.pointerId, sx: e.clientX, sy: e.clientY, cx: camera.x, cy: camera.y };
    }
  };

  const onCanvasPointerMove = (e: React.PointerEvent) => {
    if (touches.current.has(e.pointerId)) touches.current.set(e.pointerId, canvasXY(e));
    const pz = pinch.current;
    if (pz) {
      if (touches.current.size < 2) return;
      const [a, b] = [...touches.current.values()];
      const d = Math.hypot(a.x - b.x, a.y - b.y);
      const mx = (a.x + b.x) / 2;
      const my = (a.y + b.y) / 2;
      const factor = pz.d > 0 && d > 0 ? d / pz.d : 1;
      pinch.current = { d, mx, my };
      setCamera((c) => {
        const z = zoomAt(c, factor, pz.mx, pz.my);
        return { ...z, x: z.x + mx - pz.mx, y: z.y + my - pz.my };
      });
      return;
    }
    const p = toBoard(e.clientX, e.clientY);
    pointerAt.current = p;
    const g = gesture.current;
    // While dragging, the drag signal shows where this user is (cursor 20/s + drag 30/s would pass the server's 50/s).
    if (!(g?.kind === "drag" && g.moved)) client?.sendCursor(p.x, p.y);
    if (!g || g.pointer !== e.pointerId) return;
    if (g.kind === "pan") {
      setCamera((c) => ({ ...c, x: g.cx + e.clientX - g.sx, y: g.cy + e.clientY - g.sy }));
    } else if (g.kind === "marquee") {
      const r = rectFrom(g.sx, g.sy, p.x, p.y);
      setMarquee(r);
      const hit = inMarquee(view?.notes ?? [], r);
      setSelected(g.base.size ? new Set([...g.base, ...hit]) : new Set(hit));
    } else {
      const dx = (e.clientX - g.sx) / camera.z;
      const dy = (e.clientY - g.sy) / camera.z;
      if (!g.moved) {
        if (Math.hypot(dx, dy) * camera.z < 3) return;
        g.moved = true;
        try {
          canvasRef.current?.setPointerCapture(g.pointer);
        } catch {
          // the pointer is gone: its pointerup/cancel ends the drag
        }
      }
      g.dx = dx;
      g.dy = dy;
      placeEls(g.els, { dx, dy }, canvasRef.current);
      // Others see the selection move live (the client coalesces to ~30 signals a second).
      client?.sendDrag(
        g.ids.flatMap((id) => {
          const n = view?.byId.get(id);
          return n ? [{ id, x: n.x + dx, y: n.y + dy }] : [];
        }),
      );
    }
  };

  const onCanvasPointerUp = (e: React.PointerEvent) => {
    touches.current.delete(e.pointerId);
    if (pinch.current) {
      if (touches.current.size < 2) pinch.current = null;
      return;
    }
    const g = gesture.current;
    if (!g || g.pointer !== e.pointerId) return;
    gesture.current = null;
    if (g.kind === "marquee") setMarquee(null);
    if (g.kind !== "drag") return;
    if (g.moved && client && view && e.type === "pointerup") {
      const anchor = view.byId.get(g.id);
      let dx = Math.round(g.dx);
      let dy = Math.round(g.dy);
      if (prefs.snap && anchor) {
        dx = snapDelta(anchor.x, dx);
        dy = snapDelta(anchor.y, dy);
      }
      if (dx || dy) {
        client.updateNotes(
          g.ids.flatMap((id) => {
            const n = view.byId.get(id);
            return n ? [{ id, delta: { x: n.x + dx, y: n.y + dy } }] : [];
          }),
        );
      }
    } else if (!g.moved && !g.additive) {
      // A click (no drag) on a note of a larger selection selects just that note.
      setSelected(new Set([g.id]));
    }
    endDrag(g);
  };
  const onCanvasPointerLeave = () => {
    if (!gesture.current) pointerAt.current = null;
  };

  // Others' carets, resolved against each note's current text (relative positions follow the edits).
  const caretsByNote = useMemo(() => {
    const m = new Map<string, PlacedCaret[]>();
    if (!client || !view) return m;
    for (const sel of meta.selections) {
      const n = view.byId.get(sel.note);
      if (!n) continue;
      const [a, h] = client.resolveSelection(sel, n.text.length);
      m.set(sel.note, [...(m.get(sel.note) ?? []), { user: sel.user, from: Math.min(a, h), to: Math.max(a, h), head: h }]);
    }
    return m;
  }, [client, view, meta.selections]);

  // Who is editing which note: typing in it, or with their editor (caret) open on it. The previous
  // maps are kept so that unchanged notes get the same arrays (meta is new on every cursor move).
  const prevEditors = useRef<Map<string, User[]>>(undefined);
  const editorsByNote = useMemo(
    () =>
      usersBy(
        [...meta.typing.map((t): [string, User] => [t.note, t.user]), ...meta.selections.map((s): [string, User] => [s.note, s.user])],
        prevEditors.current,
      ),
    [meta.typing, meta.selections],
  );
  const prevSelected = useRef<Map<string, User[]>>(undefined);
  const selectedByNote = useMemo(
    () => usersBy(meta.viewports.flatMap((v) => v.selected.map((id): [string, User] => [id, v.user])), prevSelected.current),
    [meta.viewports],
  );
  // Others' drags in progress: where each note is on their screen.
  const prevDrags = useRef<Map<string, RemoteDragPos>>(undefined);
  const dragByNote = useMemo(() => {
    const m = new Map<string, RemoteDragPos>();
    for (const d of meta.drags) {
      for (const n of d.notes) {
        const old = prevDrags.current?.get(n.id);
        m.set(n.id, old && old.x === n.x && old.y === n.y && old.user.id === d.user.id ? old : { x: n.x, y: n.y, user: d.user });
      }
    }
    return m;
  }, [meta.drags]);
  useEffect(() => {
    prevEditors.current = editorsByNote;
    prevSelected.current = selectedByNote;
    prevDrags.current = dragByNote;
  }, [editorsByNote, selectedByNote, dragByNote]);

  if (meta.status === "not_found")
    return <ScreenMessage title="Board not found" body="It doesn't exist, or you don't have access to it." />;
  if (meta.status === "deleted") return <ScreenMessage title="This board was deleted" body="Its notes are gone for everyone." />;
  if (meta.status === "revoked") {
    const named = title ? `“${title}”` : "this board";
    const by = meta.removedBy;
    if (by && by.id === user.id)
      return <ScreenMessage title="You left this board" body={`You left ${named} (in another tab or window). An invite brings you back.`} />;
    return (
      <ScreenMessage
        title="You were removed from this board"
        body={
          by
            ? `${by.username} removed you from ${named}. Its notes are no longer available to you.`
            : `You no longer have access to ${named}: the owner removed you. Its notes are no longer available to you.`
        }
      />
    );
  }

  return (
    <main className="relative flex min-h-0 flex-1 flex-col">
      <Toolbar
        client={client}
        view={view}
        meta={meta}
        user={user}
        canEdit={canEdit}
        onAdd={addNote}
        onRename={(t) => client?.rename(t)}
        zoom={camera.z}
        onZoom={zoomBy}
        onResetZoom={() => setCamera(HOME)}
        onFit={fit}
        onUndo={() => client?.undo()}
        onRedo={() => client?.redo()}
        historyOpen={historyOpen}
        onHistory={() => (historyOpen ? closeHistory() : setHistoryOpen(true))}
        onExport={exportJson}
        newColor={prefs.color}
        onNewColor={(color) => updatePrefs({ color })}
        snap={prefs.snap}
        onSnap={() => updatePrefs({ snap: !prefs.snap })}
        selectArea={selectArea}
        onSelectArea={() => setSelectArea((v) => !v)}
        following={following}
        onFollow={setFollowing}
      />
      {following && (
        <div
          role="status"
          data-testid="follow-banner"
          className="flex flex-wrap items-center justify-center gap-x-3 border-b border-sky-300 bg-sky-100 px-4 py-1.5 text-sm text-sky-950 dark:border-sky-800 dark:bg-sky-950 dark:text-sky-100"
        >
          <span>
            Following {followedName ?? "…"}
            {!followed && " (waiting for their view)"}
          </span>
          <span aria-hidden="true">·</span>
          <button type="button" className="font-semibold underline" onClick={() => setFollowing(null)}>
            Stop
          </button>
        </div>
      )}
      {meta.roleChange && (
        <div
          role="status"
          data-testid="role-change"
          className="flex flex-wrap items-center justify-center gap-x-3 border-b border-sky-300 bg-sky-100 px-4 py-1.5 text-sm text-sky-950 dark:border-sky-800 dark:bg-sky-950 dark:text-sky-100"
        >
          <span>
            {meta.roleChange.by.username} made you {aRole(meta.roleChange.role)}
            {meta.roleChange.role === "viewer" ? ": this board is read-only for you now." : ": you can edit this board."}
          </span>
          <button type="button" className="font-semibold underline" onClick={() => client?.dismissRoleChange()}>
            Dismiss
          </button>
        </div>
      )}
      {history.chosen !== null && (
        <div
          role="status"
          data-testid="history-banner"
          className="flex flex-wrap items-center justify-center gap-x-3 border-b border-amber-300 bg-amber-100 px-4 py-1.5 text-sm text-amber-950 dark:border-amber-700 dark:bg-amber-950 dark:text-amber-100"
        >
          <span>
            {past && past.seq === history.chosen
              ? `Viewing version #${past.seq}${versionByline(past.seq)} — read-only`
              : `Loading version #${history.chosen}…`}
          </span>
          <button type="button" className="font-semibold underline" onClick={() => history.choose(null)}>
            Back to live
          </button>
        </div>
      )}
      <div className="relative flex min-h-0 flex-1 flex-col">
        <div
          ref={canvasRef}
          data-testid="canvas"
          aria-label="Board canvas"
          aria-description={
            canEdit
              ? "Drag to pan, Shift+drag to select an area, double-click to add a note; two fingers pan and pinch to zoom. Tab moves between notes."
              : undefined
          }
          tabIndex={-1}
          className={`board-grid relative min-h-0 flex-1 touch-none overflow-hidden outline-none ${selectArea ? "cursor-crosshair" : ""}`}
          style={{
            backgroundSize: `${(prefs.snap ? GRID : 24) * camera.z}px ${(prefs.snap ? GRID : 24) * camera.z}px`,
            backgroundPosition: `${camera.x}px ${camera.y}px`,
          }}
          onPointerDownCapture={onCanvasPointerDownCapture}
          onPointerDown={onCanvasPointerDown}
          onPointerMove={onCanvasPointerMove}
          onPointerUp={onCanvasPointerUp}
          onPointerCancel={onCanvasPointerUp}
          onPointerLeave={onCanvasPointerLeave}
          onDoubleClick={(e) => {
            if (!canEdit || e.target !== e.currentTarget) return;
            const p = toBoard(e.clientX, e.clientY);
            addNoteAt(p.x - 100, p.y - 70);
          }}
        >
          {!view?.ready ? (
            <div className="flex h-full items-center justify-center text-stone-500 dark:text-stone-400">
              <Spinner className="mr-2" /> Opening board…
            </div>
          ) : (
            <div
              className="pointer-events-none absolute left-0 top-0 origin-top-left"
              style={{ transform: `translate(${camera.x}px, ${camera.y}px) scale(${camera.z})` }}
            >
              <div ref={notesRef} className="pointer-events-auto isolate">
                {(past?.notes ?? view.notes).map((n) => (
                  <NoteCard
                    key={n.id}
                    note={n}
                    zoom={camera.z}
                    z={zIndexOf(n, past ? NONE : view.dirty)}
                    selected={selected.has(n.id)}
                    editing={editing === n.id}
                    canEdit={canEdit}
                    dirty={!past && view.dirty.has(n.id)}
                    offline={offline}
                    editors={past ? NO_USERS : (editorsByNote.get(n.id) ?? NO_USERS)}
                    selectedBy={past ? NO_USERS : (selectedByNote.get(n.id) ?? NO_USERS)}
                    remoteDrag={past ? null : (dragByNote.get(n.id) ?? null)}
                    carets={past ? NO_CARETS : (caretsByNote.get(n.id) ?? NO_CARETS)}
                    actions={actions}
                  />
                ))}
              </div>
              {/* A dragging user's cursor is their note: not drawn beside it. */}
              {meta.cursors.filter((c) => !meta.drags.some((d) => d.user.id === c.user.id && !d.ended)).map((c) => (
                <div
                  key={c.user.id}
                  className="pointer-events-none absolute left-0 top-0 z-20 transition-transform duration-75 ease-linear"
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
          <p id="note-keys" hidden>
            Enter to edit, arrow keys to move (Shift: further), Delete to delete, Control+D to duplicate, Shift+F10 for colour and more.
          </p>
          {marquee && (
            <div
              aria-hidden="true"
              data-testid="marquee"
              className="pointer-events-none absolute z-20 border border-sky-500 bg-sky-400/10"
              style={{ left: camera.x + marquee.x * camera.z, top: camera.y + marquee.y * camera.z, width: marquee.w * camera.z, height: marquee.h * camera.z }}
            />
          )}
          {canEdit && !marquee && selectedNotes.length > 0 && (
            <SelectionBar
              ref={barRef}
              count={selectedNotes.length}
              color={selectedNotes.every((n) => n.color === selectedNotes[0].color) ? selectedNotes[0].color : null}
              left={Math.max(4, camera.x + Math.min(...selectedNotes.map((n) => n.x)) * camera.z)}
              top={Math.max(4, camera.y + Math.min(...selectedNotes.map((n) => n.y)) * camera.z - 52)}
              onColor={recolorSelection}
              onDuplicate={duplicateSelection}
              onFront={bringToFront}
              onBack={sendToBack}
              onDelete={() => deleteSelection("canvas")}
              onLeave={() => selectedNotes[0] && noteEl(selectedNotes[0].id)?.focus()}
            />
          )}
          {view?.ready && (past?.notes ?? view.notes).length === 0 && (
            <div className="pointer-events-none absolute inset-0 flex items-center justify-center">
              <div className="rounded-2xl bg-white/80 px-6 py-5 text-center shadow-sm backdrop-blur dark:bg-stone-900/80">
                <p className="font-medium">This board is empty</p>
                <p className="mt-1 text-sm text-stone-500 dark:text-stone-400">
                  {past
                    ? "No notes in this version."
                    : canEdit
                      ? "Double-click anywhere, or use “Add note”. Drag to pan, Shift+drag to select."
                      : "Notes will appear here as people add them."}
                </p>
              </div>
            </div>
          )}
        </div>
        {historyOpen && (
          <HistoryPanel history={history} canRestore={mayEdit} restoring={restoring} onRestore={() => void restore()} onClose={closeHistory} />
        )}
      </div>
      <Notices client={client} notices={meta.notices} onTakeTheirs={(note) => editing === note && setEditingNote(null)} />
    </main>
  );
}
