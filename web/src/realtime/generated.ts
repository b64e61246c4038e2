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

export type EventBody = { "kind": "note.created", note: Note, } | { "kind": "note.updated", id: string, version: number, delta: NoteDelta, } | { "kind": "note.deleted", id: string, } | { "kind": "board.updated", title: string, } | { "kind": "board.deleted", } | { "kind": "member.joined", user: User, role: Role, } | { "kind": "member.updated", user: User, role: Role, } | { "kind": "member.left", user: User, role: Role, };

export type BoardEvent = { board: string, seq: number, by: User, op?: string, at: string, } & ({ "kind": "note.created", note: Note, } | { "kind": "note.updated", id: string, version: number, delta: NoteDelta, } | { "kind": "note.deleted", id: string, } | { "kind": "board.updated", title: string, } | { "kind": "board.deleted", } | { "kind": "member.joined", user: User, role: Role, } | { "kind": "member.updated", user: User, role: Role, } | { "kind": "member.left", user: User, role: Role, });

export type Presence = { user: User, connections: number, since: string, };

export type Notification = { 
/**
 * Increasing per user; sent as a decimal string.
 */
id: string, kind: "mention" | "invited" | "board.activity", board: string, note?: string, by: User, at: string, text: string, read: boolean, };

export type ErrorCode = "bad_request" | "invalid_message" | "unknown_type" | "unknown_method" | "unauthorized" | "forbidden" | "not_found" | "conflict" | "gone" | "too_large" | "rate_limited" | "unavailable" | "internal";
