/**
 * Compile-time proof that the hand-written protocol types match the wire
 * types generated from the Rust server (generated.ts, by ts-rs). If the
 * server's types change, `npm run typecheck` (part of `make test`) fails here
 * until protocol.ts follows; the Rust test `ts_bindings_are_fresh` fails if
 * generated.ts itself is stale.
 */
import type * as Wire from "./generated";
import type {
  Board,
  BoardEvent,
  ErrorCode,
  Note,
  NoteColor,
  NoteDelta,
  Notification,
  Presence,
  Role,
  User,
} from "./protocol";

/** True when each type is assignable to the other. */
type Same<A, B> = [A] extends [B] ? ([B] extends [A] ? true : false) : false;
type Assert<T extends true> = T;

export type WireChecks = [
  Assert<Same<User, Wire.User>>,
  Assert<Same<Role, Wire.Role>>,
  Assert<Same<NoteColor, Wire.Color>>,
  Assert<Same<Board, Wire.Board>>,
  Assert<Same<Note, Wire.Note>>,
  Assert<Same<NoteDelta, Wire.NoteDelta>>,
  Assert<Same<BoardEvent, Wire.BoardEvent>>,
  Assert<Same<Presence, Wire.Presence>>,
  Assert<Same<Notification, Wire.Notification>>,
  Assert<Same<ErrorCode, Wire.ErrorCode>>,
];
