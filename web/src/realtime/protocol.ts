/**
 * Corkboard wire contract, version 1 (shared/design/protocol.md), as
 * TypeScript types: the one place the client declares wire shapes.
 *
 * Every message sent and received on the WebSocket, and the model, event,
 * presence, notification and error types inside them, are the types ts-rs
 * generates from the Rust server (`generated.ts`), aliased here: a field
 * renamed on the server fails `tsc` wherever the client uses it. What is
 * written by hand below is what the server does not export: the RPC method
 * table, REST bodies, our own signal payloads, and the close codes.
 */
import type * as Wire from "./generated";

export const SUBPROTOCOL = "corkboard.v1";

// ---------------------------------------------------------------- model

export type Id = string;
/** RFC 3339 UTC. */
export type Time = string;

export type User = Wire.User;
export type Role = Wire.Role;
export type InviteRole = Exclude<Role, "owner">;
export type Board = Wire.Board;
export type NoteColor = Wire.Color;
export type Note = Wire.Note;
/** The fields an update may change, each optional. */
export type NoteDelta = Wire.NoteDelta;
export type NoteFields = Required<NoteDelta>;
export type Presence = Wire.Presence;
/** A `subscribed` snapshot: `{board, notes}`. */
export type Snapshot = Wire.SnapshotBody;

/** Every colour, in the picker's order. */
export const NOTE_COLORS = ["yellow", "pink", "blue", "green", "purple", "gray"] as const satisfies readonly NoteColor[];
type Assert<T extends true> = T;
/** Fails the typecheck if the server adds a colour the picker does not list. */
export type NoteColorsComplete = Assert<[Exclude<NoteColor, (typeof NOTE_COLORS)[number]>] extends [never] ? true : false>;

export interface Member {
  user: User;
  role: Role;
}

// ---------------------------------------------------------------- errors

export type ErrorCode = Wire.ErrorCode;

/** What the client reads in an error's open `details`. */
export interface ErrorDetails {
  field?: string;
  /** On a `conflict` from `base_version`: the current note. */
  note?: Note;
  fields?: (keyof NoteFields)[];
  limit?: number;
  retry_after?: number;
  [k: string]: unknown;
}

/** `{code, message, details?}` of an `error` message or an HTTP error body, with `details` as the client reads it. */
export type ErrorObject = Omit<Wire.ErrorBody, "details"> & { details?: ErrorDetails };

/** An HTTP error response body. */
export interface ErrorResponse {
  error: ErrorObject;
}

// ---------------------------------------------------------------- events

export type BoardEvent = Wire.BoardEvent;
export type EventKind = BoardEvent["kind"];

// ---------------------------------------------------------------- REST / RPC payloads

/** `POST /api/boards/{b}/notes` body (`Create`). */
export interface NoteCreate {
  id?: Id;
  op?: string;
  text?: string;
  x: number;
  y: number;
  w?: number;
  h?: number;
  color?: NoteColor;
}

/** `PATCH /api/boards/{b}/notes/{n}` body (`Update`). */
export interface NoteUpdate extends NoteDelta {
  op?: string;
  base_version?: number;
}

export interface NoteResult {
  note: Note;
  seq: number;
}

export interface SeqResult {
  seq: number;
}

export interface RpcMethods {
  "note.create": { params: { board: Id } & NoteCreate; result: NoteResult };
  "note.update": { params: { board: Id; id: Id } & NoteUpdate; result: NoteResult };
  "note.delete": { params: { board: Id; id: Id; op?: string }; result: SeqResult };
  "board.rename": { params: { board: Id; title: string; op?: string }; result: { board: Board } };
  "board.get": { params: { board: Id }; result: { board: Board; notes: Note[]; seq: number } };
  /** The note's whole Yjs document as one update (base64, Yjs update encoding v1). */
  "note.text_state": { params: { board: Id; id: Id }; result: TextState };
  /** Merges a Yjs update (base64) into the note's text; concurrent edits never conflict. */
  "note.edit": { params: { board: Id; id: Id; op?: string; update: string }; result: NoteResult };
  /** Brings a deleted note back under its id (undo of a delete); event `note.created`. */
  "note.restore": { params: { board: Id; id: Id; op?: string }; result: NoteResult };
}

/** `note.text_state` / `GET …/text_state`. */
export interface TextState {
  /** The whole document as one Yjs update v1, base64. */
  state: string;
  version: number;
}

/**
 * The `text_update` of a `note.updated` event (base64 Yjs update as merged by
 * the server), when the text changed through `note.edit` or a plain
 * replacement.
 */
export function textUpdateOf(ev: BoardEvent): string | undefined {
  return ev.kind === "note.updated" && ev.text_update ? ev.text_update : undefined;
}
export type RpcMethod = keyof RpcMethods;
export type RpcParams<M extends RpcMethod> = RpcMethods[M]["params"];
export type RpcResult<M extends RpcMethod> = RpcMethods[M]["result"];

/** The contract's three, and this server's two additions (`viewport` for follow, `drag` for live drags). */
export type SignalName = "typing" | "cursor" | "selection" | "viewport" | "drag";

/** Our own signal payloads (the contract leaves `data` open, ≤ 1 KiB). */
export interface CursorSignal {
  x: number;
  y: number;
}
/**
 * The part of the board a user looks at: board coordinates of the view's
 * top-left corner, the zoom, and the view's size in screen pixels. Sent when
 * the view changes (≤ ~10/s) and when someone joins, so followers track it.
 */
export interface ViewportSignal {
  x: number;
  y: number;
  zoom: number;
  w: number;
  h: number;
  /**
   * The notes the sender has selected (at most `MAX_SELECTED_SIGNAL` ids), so
   * others outline them in the sender's colour; absent or empty = none.
   */
  selected?: Id[];
}
/** Ids of selected notes one viewport signal carries (36-byte ids: 20 stay well within 1 KiB). */
export const MAX_SELECTED_SIGNAL = 20;
/** Where the notes being dragged are now (board coordinates); `notes: []` = the drag ended. */
export interface DragSignal {
  notes: { id: Id; x: number; y: number }[];
}
/** Notes carried by one drag signal (each entry ~70 bytes: 12 stay under 1 KiB). */
export const MAX_DRAG_SIGNAL = 12;
export interface TypingSignal {
  note: Id | null;
}
/**
 * The caret or selection of someone editing a note's text (`selection`
 * signal). `anchor`/`head` are Yjs relative positions (Y.encodeRelativePosition,
 * base64), which stay on the same characters while others type; `index` is
 * `[anchor, head]` as plain character offsets, for clients without the
 * document. `note: null` = stopped editing.
 */
export interface SelectionSignal {
  note: Id | null;
  anchor?: string;
  head?: string;
  index?: [number, number];
}

// ---------------------------------------------------------------- WebSocket

/** Client → server. */
export type ClientMessage = Wire.ClientMessage;
/** Server → client. */
export type ServerMessage = Wire.ServerMessage;

export type ServerMessageOf<T extends ServerMessage["type"]> = Extract<ServerMessage, { type: T }>;
export type ResultMessage = ServerMessageOf<"result">;
export type ErrorMessage = ServerMessageOf<"error">;

/** Server messages that concern one board. */
export type BoardMessage =
  | ServerMessageOf<"subscribed" | "unsubscribed" | "event" | "presence" | "signal">
  | (ErrorMessage & { board: Id });

// ---------------------------------------------------------------- close codes

export const CloseCode = {
  Normal: 1000,
  GoingAway: 1001,
  Unsupported: 1003,
  InvalidPayload: 1007,
  Policy: 1008,
  TooBig: 1009,
  Internal: 1011,
  Overloaded: 1013,
  HeartbeatTimeout: 4000,
  SessionExpired: 4001,
} as const;

// ---------------------------------------------------------------- notifications (SSE)

export type NotificationKind = Notification["kind"];
export type Notification = Wire.Notification;

export interface UnreadEvent {
  count: number;
}

export interface NotificationList {
  notifications: Notification[];
  unread: number;
}
