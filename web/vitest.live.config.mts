import { fileURLToPath } from "node:url";
import { defineConfig } from "vitest/config";

// `CORKBOARD_LIVE_URL=http://127.0.0.1:8080 npm run test:live`: the real-time
// layer against a running server (Node 20 needs --experimental-websocket).
export default defineConfig({
  resolve: { alias: { "@": fileURLToPath(new URL("./src", import.meta.url)) } },
  test: {
    environment: "node",
    include: ["src/**/*.live.ts"],
    testTimeout: 20_000,
  },
});
