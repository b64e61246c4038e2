/**
 * The browser's fetch and a fetch-based EventSource as the fallback's
 * `HttpDeps`, kept apart so that the fallback modules run in Node tests with
 * fakes.
 */
import type { HttpDeps } from "./feed";
import { FetchEventSource } from "./sse-reader";

/** Same-origin fetch (cookies go along) and an EventSource that notices a silent stream (sse-reader.ts). */
export function browserHttp(): HttpDeps {
  const fetchFn = (url: string, init?: RequestInit) => fetch(url, init);
  return {
    fetch: fetchFn,
    openEventSource: (url) => new FetchEventSource(url, fetchFn),
  };
}
