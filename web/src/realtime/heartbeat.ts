/**
 * App-level ping/pong on a live connection.
 *
 * Exists because browsers answer the server's WebSocket Pings without telling
 * the page, so a half-open socket (laptop lid closed, Wi-Fi switched) looks
 * open for minutes. The client sends `{"type":"ping"}` every interval (the
 * `heartbeat_ms` of `welcome`); once two intervals pass with a ping
 * unanswered and nothing else heard, the connection is declared dead.
 */

export interface HeartbeatOptions {
  /** Sends one ping. */
  ping(): void;
  /** Two pongs missed: the connection is dead (the heartbeat has stopped itself). */
  dead(): void;
}

/** Missed pongs after which the connection is dead. */
const MAX_MISSED = 2;

export class Heartbeat {
  private timer: ReturnType<typeof setInterval> | null = null;
  private awaitingPong = false;
  private missedPongs = 0;

  constructor(private readonly opts: HeartbeatOptions) {}

  /** (Re)starts pinging every `intervalMs`. */
  start(intervalMs: number): void {
    this.stop();
    this.missedPongs = 0;
    this.awaitingPong = false;
    this.timer = setInterval(() => this.beat(), intervalMs);
  }

  stop(): void {
    if (this.timer) clearInterval(this.timer);
    this.timer = null;
  }

  /** Any message from the server proves the connection alive. */
  heard(): void {
    this.missedPongs = 0;
  }

  pong(): void {
    this.awaitingPong = false;
  }

  private beat(): void {
    if (this.awaitingPong) {
      this.missedPongs += 1;
      if (this.missedPongs >= MAX_MISSED) {
        this.stop();
        this.opts.dead();
        return;
      }
    }
    this.awaitingPong = true;
    this.opts.ping();
  }
}
