/**
 * Ties one open board to the offline layer:
 *
 * - draws the board as last seen (IndexedDB) at once, before the server
 *   answers (or while it is down), and subscribes from that seq;
 * - shows the journaled mutations of other (gone) page loads as pending, with
 *   the board's usual pending marker, until the server confirms each one;
 * - a refused one is shown with what it carried (text: Copy and Restore);
 * - stores the confirmed state again when it changes (at most every
 *   `saveEveryMs`), and lets the journal read note text.
 */
import type { BoardClient } from "../board";
import type { Id } from "../protocol";
import type { StoredMutation } from "./db";
import type { OfflineSync, Settled } from "./offline";

/** Attaches `client` to `offline`; returns the detach. */
export function attachOffline(client: BoardClient, offline: OfflineSync, opts: { saveEveryMs?: number } = {}): () => void {
  const board: Id = client.boardId;
  const store = client.store;
  let stopped = false;
  /** Journaled mutations this board shows, by op. */
  const shown = new Map<string, StoredMutation>();

  const unregister = offline.registerBoard(board, (note) => store.getView().byId.get(note)?.text);

  void offline.loadBoard(board).then((saved) => {
    // The server's own snapshot wins if it came first.
    if (stopped || !saved || store.isReady) return;
    store.loadSnapshot({ board: saved.board, notes: saved.notes }, saved.seq);
  });

  void offline.pendingFor(board).then((list) => {
    if (stopped) return;
    const mine = new Set(store.pendingMutations().map((p) => p.op));
    for (const m of list) {
      if (mine.has(m.op) || offline.recentlySettled.has(m.op) || !m.view) continue;
      shown.set(m.op, m);
      store.add(m.view);
    }
  });

  const offSettled = offline.settled.on((s: Settled) => {
    const m = shown.get(s.op);
    if (!m) return;
    shown.delete(s.op);
    if (!s.error) {
      if (s.seq !== undefined) store.acknowledge(s.op, s.seq);
      return;
    }
    store.reject(s.op);
    client.showRefused(m, s.error);
  });

  let lastSeq = -1;
  let timer: ReturnType<typeof setTimeout> | null = null;
  const save = () => {
    timer = null;
    const state = store.confirmedState();
    if (!state || state.seq === lastSeq) return;
    lastSeq = state.seq;
    void offline.saveBoard({ id: board, ...state });
  };
  const offChanges = store.changes.on(() => {
    if (!timer) timer = setTimeout(save, opts.saveEveryMs ?? 500);
  });

  return () => {
    stopped = true;
    if (timer) clearTimeout(timer);
    save();
    offChanges();
    offSettled();
    unregister();
  };
}
