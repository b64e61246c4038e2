import type { NextConfig } from "next";

const isDev = process.env.NODE_ENV === "development";
const devServer = (process.env.NEXT_PUBLIC_CORKBOARD_ORIGIN || "http://127.0.0.1:8080").replace(/\/+$/, "");

const nextConfig: NextConfig = {
  // A static export: the corkboard binary embeds and serves web/out. (Not under
  // `next dev`, so that any /boards/{id} renders there, as the binary serves it.)
  output: isDev ? undefined : "export",
  // /boards/_ is exported as boards/_/index.html (directory style), which any
  // static file server can answer for /boards/_/ and /boards/_.
  trailingSlash: true,
  images: { unoptimized: true },
  poweredByHeader: false,
  // The service worker's cache version (src/components/ServiceWorker.tsx): a new build, a new cache.
  env: { NEXT_PUBLIC_UI_VERSION: process.env.CORKBOARD_UI_VERSION || new Date().toISOString().replace(/\D/g, "") },
  reactStrictMode: true,
  // Dev only: rewrites do not apply to an export. The WebSocket does not go
  // through here (see src/lib/config.ts).
  ...(isDev
    ? {
        // `/api/x` must reach the server as is, not be redirected to `/api/x/`.
        skipTrailingSlashRedirect: true,
        async rewrites() {
          return {
            beforeFiles: [
              { source: "/api/:path*", destination: `${devServer}/api/:path*` },
            ],
            afterFiles: [],
            fallback: [],
          };
        },
      }
    : {}),
};

export default nextConfig;
