/**
 * Which tab sends which journaled mutation, with Web Locks.
 *
 * Every tab holds the lock `corkboard-tab:<tab id>` while it lives, and sends
 * the mutations it made itself. The journal also holds mutations of tabs that
 * are gone (reloaded or closed while offline): those are sent by the leader
 * only, the one tab that holds `corkboard-outbox:<user id>`. A mutation has
 * thus exactly one sender at any time; the op id would make a double send
 * harmless, but it does not happen. The browser releases a tab's locks when
 * it goes away, so the next leader takes over by itself.
 *
 * Without Web Locks (old browsers, tests) the tab is its own leader and every
 * other tab counts as gone.
 */
import type { Id } from "../protocol";

/** The subset of `navigator.locks` used here. */
export interface LockManagerLike {
  request(name: string, callback: () => Promise<unknown>): Promise<unknown>;
  query(): Promise<{ held?: { name?: string }[] }>;
}

const browserLocks = (): LockManagerLike | null =>
  typeof navigator !== "undefined" && "locks" in navigator ? (navigator.locks as unknown as LockManagerLike) : null;

export const tabLockName = (tab: string) => `corkboard-tab:${tab}`;
export const leaderLockName = (user: Id) => `corkboard-outbox:${user}`;

export class TabCoordinator {
  private leader = false;
  private release: (() => void) | null = null;
  private readonly locks: LockManagerLike | null;

  constructor(
    readonly tab: string,
    private readonly user: Id,
    locks: LockManagerLike | null = browserLocks(),
  ) {
    this.locks = locks;
  }

  /** Holds this tab's lock for good; calls `onLeader` once this tab becomes the leader (maybe never). */
  start(onLeader: () => void): void {
    const locks = this.locks;
    if (!locks) {
      this.leader = true;
      onLeader();
      return;
    }
    const forever = new Promise<void>((resolve) => {
      this.release = resolve;
    });
    void locks.request(tabLockName(this.tab), () => forever);
    void locks.request(leaderLockName(this.user), () => {
      this.leader = true;
      onLeader();
      return forever;
    });
  }

  /** Lets the locks go (sign-out); the page's unload does it too. */
  stop(): void {
    this.release?.();
    this.release = null;
    this.leader = false;
  }

  get isLeader(): boolean {
    return this.leader;
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
