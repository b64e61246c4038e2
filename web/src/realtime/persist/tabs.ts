/**
 * Which tab sends which journaled mutation, with Web Locks.
 *
 * A tab's id is kept in sessionStorage, so a reloaded tab is the same tab: it
 * sends the mutations it journaled before the reload itself, before its new
 * ones, so their order holds. Every tab holds the lock `corkboard-tab:<tab id>`
 * while it lives (a duplicated tab, which inherits the sessionStorage, finds
 * the lock taken and takes a new id). Mutations of tabs that are gone (closed)
 * are sent by the leader only, the one tab that holds
 * `corkboard-outbox:<user id>`, once their tab has been seen gone on two scans
 * in a row (a reload re-takes its lock well within that). A mutation has thus
 * exactly one sender at any time; the op id would make a double send
 * harmless, but it does not happen. The browser releases a tab's locks when it
 * goes away, so the next leader takes over by itself.
 *
 * Without Web Locks (old browsers, tests) the tab is its own leader and every
 * other tab counts as gone.
 */
import type { Id } from "../protocol";

/** The subset of `navigator.locks` used here. */
export interface LockManagerLike {
  request(name: string, options: { ifAvailable?: boolean }, callback: (lock: unknown) => Promise<unknown>): Promise<unknown>;
  query(): Promise<{ held?: { name?: string }[] }>;
}

const browserLocks = (): LockManagerLike | null =>
  typeof navigator !== "undefined" && "locks" in navigator ? (navigator.locks as unknown as LockManagerLike) : null;

export const tabLockName = (tab: string) => `corkboard-tab:${tab}`;
export const leaderLockName = (user: Id) => `corkboard-outbox:${user}`;

const TAB_KEY = "corkboard.tab";

/** A new tab id, remembered for this tab's next page loads. */
export function newTabId(): string {
  const id = crypto.randomUUID();
  try {
    sessionStorage.setItem(TAB_KEY, id);
  } catch {
    /* no sessionStorage: a reload is a new tab, whose old mutations the leader sends */
  }
  return id;
}

/** This tab's id: the same across reloads of the tab. */
export function pageTabId(): string {
  try {
    const id = sessionStorage.getItem(TAB_KEY);
    if (id) return id;
  } catch {
    /* see newTabId */
  }
  return newTabId();
}

export class TabCoordinator {
  private release: (() => void) | null = null;
  private readonly locks: LockManagerLike | null;

  constructor(
    public tab: string,
    private readonly user: Id,
    locks: LockManagerLike | null = browserLocks(),
  ) {
    this.locks = locks;
  }

  /**
   * Holds this tab's lock for good (under a new id when another tab holds it)
   * and resolves with the id held; calls `onLeader` once this tab becomes the
   * leader (maybe never).
   */
  async start(onLeader: () => void): Promise<string> {
    const locks = this.locks;
    if (!locks) {
      onLeader();
      return this.tab;
    }
    const forever = new Promise<void>((resolve) => {
      this.release = resolve;
    });
    const got = await new Promise<boolean>((resolve) => {
      void locks.request(tabLockName(this.tab), { ifAvailable: true }, (lock) => {
        resolve(lock !== null);
        return lock !== null ? forever : Promise.resolve();
      });
    });
    if (!got) {
      this.tab = newTabId();
      void locks.request(tabLockName(this.tab), {}, () => forever);
    }
    void locks.request(leaderLockName(this.user), {}, () => {
      onLeader();
      return forever;
    });
    return this.tab;
  }

  /** Lets the locks go (sign-out); the page's unload does it too. */
  stop(): void {
    this.release?.();
    this.release = null;
  }

  /** Ids of tabs alive now (their lock is held). */
  async liveTabs(): Promise<Set<string>> {
    const live = new Set<string>([this.tab]);
    if (!this.locks) return live;
    const state = await this.locks.query();
    const prefix = tabLockName("");
    for (const l of state.held ?? []) if (l.name?.startsWith(prefix)) live.add(l.name.slice(prefix.length));
    return live;
  }
}
