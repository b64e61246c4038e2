// Generated from the Rust types by ts-rs (crates/corkboard/src/ts_bindings.rs).
// Do not edit: run `UPDATE_TS_BINDINGS=1 cargo test -p corkboard ts_bindings`.

export type User = { 
/**
 * Stable id.
 */
id: string, 
/**
 * Lowercase, 3–32 chars of `[a-z0-9_.-]`.
 */
username: string, };

export type Role = "viewer" | "editor" | "owner";

export type Color = "yellow" | "pink" | "blue" | "green" | "purple" | "gray";

export type Board = { id: string, title: string, owner: User, role: Role, seq: number, created_at: string, updated_at: string, };

export type Note = { id: string, board: string, text: string, x: number, y: number, w: number, h: number, color: Color, version: number, created_by: User, updated_at: string, };

export type NoteDelta = { text?: string, x?: number, y?: number, w?: number, h?: number, color?: Color, };

export type EventBody = { "kind": "note.created", note: Note, } | { "kind": "note.updated", id: string, version: number, delta: NoteDelta, 
/**
 * When the text changed: the Yjs update (v1, base64) as merged,
 * which a client holding the note's document applies instead of
 * replacing its text (protocol.md, "Collaborative text").
 */
text_update?: string, } | { "kind": "note.deleted", id: string, } | { "kind": "board.updated", title: string, } | { "kind": "board.deleted", } | { "kind": "member.joined", user: User, role: Role, } | { "kind": "member.updated", user: User, role: Role, } | { "kind": "member.left", user: User, role: Role, };

export type BoardEvent = { board: string, seq: number, by: User, op?: string, at: string, } & ({ "kind": "note.created", note: Note, } | { "kind": "note.updated", id: string, version: number, delta: NoteDelta, 
/**
 * When the text changed: the Yjs update (v1, base64) as merged,
 * which a client holding the note's document applies instead of
 * replacing its text (protocol.md, "Collaborative text").
 */
text_update?: string, } | { "kind": "note.deleted", id: string, } | { "kind": "board.updated", title: string, } | { "kind": "board.deleted", } | { "kind": "member.joined", user: User, role: Role, } | { "kind": "member.updated", user: User, role: Role, } | { "kind": "member.left", user: User, role: Role, });

export type Presence = { user: User, 
/**
 * Their subscriptions to the board (WebSocket and SSE, all nodes).
 */
connections: number, 
/**
 * When they became present.
 */
since: string, };

export type Notification = { 
/**
 * Increasing per user; sent as a decimal string.
 */
id: string, kind: "mention" | "invited" | "board.activity", board: string, note?: string, by: User, at: string, text: string, read: boolean, };

export type ErrorCode = "bad_request" | "invalid_message" | "unknown_type" | "unknown_method" | "unauthorized" | "forbidden" | "not_found" | "conflict" | "gone" | "too_large" | "rate_limited" | "unavailable" | "internal";

export type ErrorBody = { code: ErrorCode, message: string, details?: unknown, };

export type SnapshotBody = { board: Board, notes: Array<Note>, };

export type UnsubscribeReason = "revoked" | "deleted";

export type ClientMessage = { "type": "subscribe", board: string, since?: number, id?: unknown, } | { "type": "unsubscribe", board: string, } | { "type": "rpc", id: unknown, method: string, params: unknown, } | { "type": "signal", board: string, name: string, data: unknown, } | { "type": "ping", t?: unknown, };

export type ServerMessage = { "type": "welcome", session: string, user: User, heartbeat_ms: number, server: string, } | { "type": "subscribed", board: string, seq: number, replayed?: number, snapshot?: SnapshotBody, } | { "type": "unsubscribed", board: string, reason?: UnsubscribeReason, } | { "type": "event" } & BoardEvent | { "type": "presence", board: string, joined?: Array<Presence>, left?: Array<Presence>, members?: Array<Presence>, } | { "type": "result", id: unknown, result: unknown, } | { "type": "error", id: unknown, board?: string, error: ErrorBody, } | { "type": "signal", board: string, from: User, name: string, data: unknown, } | { "type": "pong", t?: unknown, };
