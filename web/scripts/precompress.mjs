// Writes a brotli (`.br`) and a gzip (`.gz`) copy beside every compressible
// file of the static export (`out/`), which the corkboard binary serves
// instead of the original when the browser's Accept-Encoding allows it
// (crates/corkboard/src/http/web.rs). Compressing once at build time lets us
// use the slowest, smallest settings (brotli 11, gzip 9) at no cost per
// request. A copy that would not be smaller than the original is not written.
//
//   node scripts/precompress.mjs [dir]   (default: out)
import { readdirSync, readFileSync, rmSync, statSync, writeFileSync } from "node:fs";
import { extname, join } from "node:path";
import { brotliCompressSync, constants, gzipSync } from "node:zlib";

/** Text formats worth compressing; images and fonts are compressed already. */
const COMPRESSIBLE = new Set([".html", ".js", ".mjs", ".css", ".txt", ".json", ".svg", ".map", ".xml", ".webmanifest", ".ico"]);
/** Below this, the header overhead outweighs the saving. */
const MIN_BYTES = 256;

const root = process.argv[2] ?? "out";
let files = 0;
let before = 0;
let afterBr = 0;

function walk(dir) {
  for (const entry of readdirSync(dir)) {
    const path = join(dir, entry);
    if (statSync(path).isDirectory()) {
      walk(path);
    } else if (path.endsWith(".br") || path.endsWith(".gz")) {
      // A stale copy from an earlier run: it is rewritten below when still wanted.
      rmSync(path);
    }
  }
  for (const entry of readdirSync(dir)) {
    const path = join(dir, entry);
    if (statSync(path).isDirectory()) continue;
    if (!COMPRESSIBLE.has(extname(path))) continue;
    const data = readFileSync(path);
    if (data.length < MIN_BYTES) continue;
    const br = brotliCompressSync(data, {
      params: {
        [constants.BROTLI_PARAM_QUALITY]: constants.BROTLI_MAX_QUALITY,
        [constants.BROTLI_PARAM_SIZE_HINT]: data.length,
      },
    });
    const gz = gzipSync(data, { level: 9 });
    if (br.length < data.length) writeFileSync(`${path}.br`, br);
    if (gz.length < data.length) writeFileSync(`${path}.gz`, gz);
    files += 1;
    before += data.length;
    afterBr += Math.min(br.length, data.length);
  }
}

walk(root);
console.log(
  `precompress: ${files} files in ${root}/, ${(before / 1024).toFixed(0)} KiB → ${(afterBr / 1024).toFixed(0)} KiB with brotli`,
);
