"use client";
import { useState } from "react";
import { thumbnailUrl } from "@/lib/api";
import type { Board } from "@/realtime/protocol";

/**
 * A board's preview on the boards list: its notes as coloured blocks, drawn
 * by the server (`GET /api/boards/{b}/thumbnail.svg`), loaded lazily. The
 * address carries the board's seq, so a changed board shows a new picture;
 * offline (or on any error) three placeholder notes stand in.
 */
export function BoardThumbnail({ board }: { board: Board }) {
  const [failed, setFailed] = useState<string | null>(null);
  const src = thumbnailUrl(board.id, board.seq);
  return (
    <div aria-hidden="true" className="mb-4 flex h-24 items-center justify-center overflow-hidden rounded-xl bg-[#f5f1ea] dark:bg-stone-800">
      {failed === src ? (
        <div className="flex h-full w-full items-end gap-1.5 p-3">
          {["bg-yellow-200", "bg-pink-200", "bg-sky-200"].map((c, i) => (
            <span key={c} className={`h-12 w-14 rounded-sm shadow ${c} ${i === 1 ? "rotate-3" : "-rotate-2"}`} />
          ))}
        </div>
      ) : (
        // A plain <img>: the export has no image optimizer, and the SVG is already small and cached by ETag.
        // eslint-disable-next-line @next/next/no-img-element
        <img
          src={src}
          alt=""
          loading="lazy"
          decoding="async"
          width={320}
          height={128}
          data-testid="board-thumbnail"
          className="h-full w-full object-contain"
          onError={() => setFailed(src)}
        />
      )}
    </div>
  );
}
