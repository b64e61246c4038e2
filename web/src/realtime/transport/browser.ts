/**
 * The browser's fetch and a fetch-based EventSource as the fallback's
 * `HttpDeps`, kept apart so that the fallback modules run in Node tests with
 * fakes.
 */
import type { HttpDeps } from "./feed";
import { FetchEventSource } from "./sse-reader";

const browserFetch = (url: string, init?: RequestInit) => fetch(url, init);

/** Same-origin fetch (cookies go along) and an EventSource that notices a silent stream (sse-reader.ts). */
export function browserHttp(): HttpDeps {
  return {
    fetch: browserFetch,
    openEventSource: (url) => new FetchEventSource(url, browserFetch),
  };
}

/**
 * The fetch-based EventSource with EventSource's constructor, for
 * reconnecting-eventsource's `eventSourceClass` (the notifications stream),
 * so that a half-open stream is noticed there too.
 */
export class BrowserEventSource extends FetchEventSource {
  constructor(url: string) {
    super(url, browserFetch);
  }
}
