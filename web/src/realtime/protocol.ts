/**
 * Corkboard wire contract, version 1 (shared/design/protocol.md, revised
 * 2026-11-23), as TypeScript types.
 *
 * Kept in this one file on purpose, so nothing else in the client declares
 * wire shapes. The model, event, presence, notification and error types are
 * checked at compile time against `generated.ts`, which ts-rs generates from
 * the Rust server's types (see `wire-check.ts`): if the server changes, the
 * typecheck fails until this file follows.
 */

export const SUBPROTOCOL = "corkboard.v1";

// ---------------------------------------------------------------- model

export type Id = string;
/** RFC 3339 UTC. */
export type Time = string;

export interface User {
  id: Id;
  username: string;
}

export type Role = "owner" | "editor" | "viewer";
export type InviteRole = Exclude<Role, "owner">;

export interface Board {
  id: Id;
  title: string;
  owner: User;
  role: Role;
  seq: number;
  created_at: Time;
  updated_at: Time;
}

export const NOTE_COLORS = ["yellow", "pink", "blue", "green", "purple", "gray"] as const;
export type NoteColor = (typeof NOTE_COLORS)[number];

export interface Note {
  id: Id;
  board: Id;
  text: string;
  x: number;
  y: number;
  w: number;
  h: number;
  color: NoteColor;
  /** The board seq of the note's last change. */
  version: number;
  created_by: User;
  updated_at: Time;
}

/** The fields an update may change. */
export interface NoteFields {
  text: string;
  x: number;
  y: number;
  w: number;
  h: number;
  color: NoteColor;
}
export type NoteDelta = Partial<NoteFields>;
export const NOTE_FIELDS: readonly (keyof NoteFields)[] = ["text", "x", "y", "w", "h", "color"];

export interface Member {
  user: User;
  role: Role;
}

export interface Presence {
  user: User;
  connections: number;
  since: Time;
}

export interface Snapshot {
  board: Board;
  notes: Note[];
}

// ---------------------------------------------------------------- errors

export type ErrorCode =
  | "bad_request"
  | "invalid_message"
  | "unknown_type"
  | "unknown_method"
  | "unauthorized"
  | "forbidden"
  | "not_found"
  | "conflict"
  | "gone"
  | "too_large"
  | "rate_limited"
  | "unavailable"
  | "internal";

export interface ErrorDetails {
  field?: string;
  /** On a `conflict` from `base_version`: the current note. */
  note?: Note;
  fields?: (keyof NoteFields)[];
  limit?: number;
  retry_after?: number;
  [k: string]: unknown;
}

export interface ErrorObject {
  code: ErrorCode;
  message: string;
  details?: ErrorDetails;
}

export interface ErrorBody {
  error: ErrorObject;
}

// ---------------------------------------------------------------- events

interface EventBase {
  board: Id;
  seq: number;
  by: User;
  op?: string;
  at: Time;
}

export type BoardEvent =
  | (EventBase & { kind: "note.created"; note: Note })
  | (EventBase & { kind: "note.updated"; id: Id; version: number; delta: NoteDelta })
  | (EventBase & { kind: "note.deleted"; id: Id })
  | (EventBase & { kind: "board.updated"; title: string })
  | (EventBase & { kind: "board.deleted" })
  | (EventBase & { kind: "member.joined" | "member.updated" | "member.left"; user: User; role: Role });

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
  "board.rename": { params: { board: Id; title: string }; result: { board: Board } };
  "board.get": { params: { board: Id }; result: { board: Board; notes: Note[]; seq: number } };
}
export type RpcMethod = keyof RpcMethods;
export type RpcParams<M extends RpcMethod> = RpcMethods[M]["params"];
export type RpcResult<M extends RpcMethod> = RpcMethods[M]["result"];

export type SignalName = "typing" | "cursor" | "selection";

/** Our own signal payloads (the contract leaves `data` open, ≤ 1 KiB). */
export interface CursorSignal {
  x: number;
  y: number;
}
export interface TypingSignal {
  note: Id | null;
}

// ---------------------------------------------------------------- WebSocket, client → server

export type ClientMessage =
  | { type: "subscribe"; board: Id; since?: number; id?: string }
  | { type: "unsubscribe"; board: Id }
  | { type: "rpc"; id: string; method: RpcMethod; params: unknown }
  | { type: "signal"; board: Id; name: SignalName; data: unknown }
  | { type: "ping"; t?: unknown };

// ---------------------------------------------------------------- WebSocket, server → client

export interface WelcomeMessage {
  type: "welcome";
  session: string;
  user: User;
  heartbeat_ms: number;
  server: string;
}

export type SubscribedMessage =
  | { type: "subscribed"; board: Id; seq: number; replayed: number; snapshot?: undefined }
  | { type: "subscribed"; board: Id; seq: number; snapshot: Snapshot; replayed?: undefined };

export interface UnsubscribedMessage {
  type: "unsubscribed";
  board: Id;
  reason?: "revoked" | "deleted";
}

export interface ResultMessage {
  type: "result";
  id: string;
  result: unknown;
}

export interface ErrorMessage {
  type: "error";
  id: string | null;
  board?: Id;
  error: ErrorObject;
}

export type EventMessage = { type: "event" } & BoardEvent;

export interface PresenceMessage {
  type: "presence";
  board: Id;
  joined?: Presence[];
  left?: Presence[];
  members?: Presence[];
}

export interface SignalMessage {
  type: "signal";
  board: Id;
  from: User;
  name: SignalName;
  data: unknown;
}

export interface PongMessage {
  type: "pong";
  t?: unknown;
}

export type ServerMessage =
  | WelcomeMessage
  | SubscribedMessage
  | UnsubscribedMessage
  | ResultMessage
  | ErrorMessage
  | EventMessage
  | PresenceMessage
  | SignalMessage
  | PongMessage;

/** Server messages that concern one board. */
export type BoardMessage =
  | SubscribedMessage
  | UnsubscribedMessage
  | EventMessage
  | PresenceMessage
  | SignalMessage
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

export type NotificationKind = "mention" | "invited" | "board.activity";

export interface Notification {
  /** Decimal digits, increasing per user. */
  id: string;
  kind: NotificationKind;
  board: Id;
  note?: Id;
  by: User;
  at: Time;
  text: string;
  read: boolean;
}

export interface UnreadEvent {
  count: number;
}

export interface NotificationList {
  notifications: Notification[];
  unread: number;
}
