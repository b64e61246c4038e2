"use client";
import { useRef, useState } from "react";
import { Button, Spinner } from "@/components/ui";
import { api, type ApiError } from "@/lib/api";
import { parseBoardFile } from "@/lib/boardFile";
import { importNotes, type ImportItem } from "@/lib/importBoard";
import { openBoard } from "@/lib/nav";
import { randomUuid } from "@/lib/retryOp";

type State =
  | { step: "idle" }
  | { step: "error"; message: string }
  | { step: "running"; title: string; done: number; total: number }
  | { step: "partial"; board: string; title: string; failed: ImportItem[]; message: string; total: number };

/**
 * "Import…" on the boards list: reads a `corkboard.board.v1` file, checks it
 * (format and limits) before anything is made, creates a new board and its
 * notes with a progress bar, then opens it. Notes the server refused are
 * listed with a retry (the same op ids, so nothing is created twice).
 */
export function ImportBoard() {
  const input = useRef<HTMLInputElement>(null);
  const [state, setState] = useState<State>({ step: "idle" });

  const run = async (board: string, title: string, items: ImportItem[]) => {
    setState({ step: "running", title, done: 0, total: items.length });
    const r = await importNotes(items, {
      create: (body) => api.createNote(board, body),
      progress: (done, total) => setState({ step: "running", title, done, total }),
    });
    if (r.failed.length === 0) {
      openBoard(board);
      return;
    }
    setState({
      step: "partial",
      board,
      title,
      failed: r.failed.map((f) => f.item),
      message: r.failed[0].error.message,
      total: items.length,
    });
  };

  const onFile = async (file: File) => {
    const parsed = parseBoardFile(await file.text());
    if (!parsed.ok) {
      setState({ step: "error", message: `Can't import “${file.name}”: ${parsed.error}` });
      return;
    }
    const { title, notes } = parsed.file;
    setState({ step: "running", title, done: 0, total: notes.length });
    try {
      const board = await api.createBoard(title, randomUuid());
      await run(
        board.id,
        title,
        notes.map((note) => ({ note, op: randomUuid() })),
      );
    } catch (e) {
      setState({ step: "error", message: `Couldn't create the board: ${(e as ApiError).message}` });
    }
  };

  return (
    <div className="flex flex-col items-end gap-1">
      <input
        ref={input}
        type="file"
        accept="application/json,.json"
        aria-label="Board file to import"
        className="hidden"
        data-testid="import-file"
        onChange={(e) => {
          const f = e.target.files?.[0];
          e.target.value = "";
          if (f) void onFile(f);
        }}
      />
      <Button title="Make a new board from a Corkboard JSON export" onClick={() => input.current?.click()} disabled={state.step === "running"}>
        {state.step === "running" && <Spinner />} Import…
      </Button>
      {state.step === "running" && (
        <div role="status" className="w-64 text-xs text-stone-500 dark:text-stone-400">
          Importing “{state.title}”: {state.done.toLocaleString()} of {state.total.toLocaleString()} notes
          <progress className="block w-full" max={state.total || 1} value={state.done} />
        </div>
      )}
      {state.step === "error" && (
        <p role="alert" className="max-w-sm text-right text-sm text-red-600 dark:text-red-400">
          {state.message}
        </p>
      )}
      {state.step === "partial" && (
        <div role="alert" className="max-w-sm text-right text-sm text-red-600 dark:text-red-400">
          {state.failed.length} of {state.total} notes could not be created ({state.message}).
          <div className="mt-1 flex justify-end gap-2">
            <Button size="sm" onClick={() => void run(state.board, state.title, state.failed)}>
              Retry them
            </Button>
            <Button size="sm" variant="ghost" onClick={() => openBoard(state.board)}>
              Open the board
            </Button>
          </div>
        </div>
      )}
    </div>
  );
}
