/**
 * The browser's fetch and EventSource as the fallback's `HttpDeps`, kept
 * apart so that the fallback modules run in Node tests with fakes.
 */
import type { EventSourceLike, HttpDeps } from "./feed";

/** Same-origin fetch (cookies go along) and a native EventSource with credentials. */
export function browserHttp(): HttpDeps {
  return {
    fetch: (url, init) => fetch(url, init),
    openEventSource: (url) => new EventSource(url, { withCredentials: true }) as unknown as EventSourceLike,
  };
}
