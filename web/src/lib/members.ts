/**
 * A board's members list kept live: the `member.*` events applied to what
 * `GET /api/boards/{b}/members` answered, and the optimistic changes of the
 * members panel (each with the list to go back to when the server refuses).
 */
import type { Member, Role, User } from "@/realtime/protocol";

/** The fields of a `member.*` event the list needs (the events' shape). */
export interface MemberChange {
  kind: "member.joined" | "member.updated" | "member.left";
  user: User;
  role: Role;
}

/** The list after `ev`: a join adds (or updates) the member at the end, an update sets the role, a leave removes. */
export function applyMemberEvent(list: readonly Member[], ev: MemberChange): Member[] {
  const i = list.findIndex((m) => m.user.id === ev.user.id);
  if (ev.kind === "member.left") return i < 0 ? [...list] : list.filter((_, j) => j !== i);
  if (i < 0) return [...list, { user: ev.user, role: ev.role }];
  return list.map((m, j) => (j === i ? { ...m, role: ev.role } : m));
}

/** The list with `userId`'s role set (optimistic role change). */
export function withRole(list: readonly Member[], userId: string, role: Role): Member[] {
  return list.map((m) => (m.user.id === userId ? { ...m, role } : m));
}

/** The list without `userId` (optimistic removal). */
export function without(list: readonly Member[], userId: string): Member[] {
  return list.filter((m) => m.user.id !== userId);
}

/** Suggestions that are not members yet (a member needs no invite). */
export function notMembers(users: readonly User[], members: readonly Member[] | null): User[] {
  if (!members) return [...users];
  const ids = new Set(members.map((m) => m.user.id));
  return users.filter((u) => !ids.has(u.id));
}

/** "viewer" → "a viewer", for sentences. */
export function aRole(role: Role): string {
  return role === "owner" ? "the owner" : role === "editor" ? "an editor" : "a viewer";
}
