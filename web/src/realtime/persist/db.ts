/**
 * The offline database: one IndexedDB database per signed-in user
 * (`corkboard-offline:<user id>`), so two accounts on one browser never see
 * each other's boards or edits.
 *
 * Stores:
 * - `outbox`: mutations not yet answered by the server (key: op id; `order`
 *   keeps them in the order they were made, across tabs and reloads);
 * - `boards`: each open board's last confirmed state (key: board id);
 * - `lists`: the boards list as last loaded (key: "boards").
 */
import { openDB, type DBSchema, type IDBPDatabase } from "idb";
import type { Board, Id, Note, RpcMethod } from "../protocol";
import type { PendingMutation } from "../store";

/** A journaled mutation, as stored. */
export interface StoredMutation {
  op: string;
  /** Position in the user's edit order (ms epoch × 1000 + a counter). */
  order: number;
  /** The tab that sends it (see tabs.ts): exactly one sender at a time. */
  tab: string;
  board: Id;
  key: string;
  method: RpcMethod;
  params: unknown;
  /** How the board shows it while pending (null: nothing to show, e.g. a restore). */
  view: PendingMutation | null;
  /** The note text this edit leads to, kept to show the user if the server refuses it. */
  text?: string;
}

/** A board's last confirmed state, drawn at once when the board opens (offline too). */
export interface StoredBoard {
  id: Id;
  board: Board;
  notes: Note[];
  seq: number;
  savedAt: number;
}

interface OfflineSchema extends DBSchema {
  outbox: { key: string; value: StoredMutation };
  boards: { key: string; value: StoredBoard };
  lists: { key: string; value: { id: string; boards: Board[]; savedAt: number } };
}

export type OfflineDb = IDBPDatabase<OfflineSchema>;

/** The database name for a user: what to delete to clear their offline data. */
export const dbName = (userId: Id) => `corkboard-offline:${userId}`;

/** Opens (creating on first use) the user's offline database. */
export function openOfflineDb(userId: Id): Promise<OfflineDb> {
  return openDB<OfflineSchema>(dbName(userId), 1, {
    upgrade(db) {
      db.createObjectStore("outbox", { keyPath: "op" });
      db.createObjectStore("boards", { keyPath: "id" });
      db.createObjectStore("lists", { keyPath: "id" });
    },
  });
}

/** Every journaled mutation, oldest first. */
export async function loadOutbox(db: OfflineDb): Promise<StoredMutation[]> {
  const all = await db.getAll("outbox");
  return all.sort((a, b) => a.order - b.order);
}
