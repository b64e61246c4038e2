import { BoardScreen } from "@/components/board/BoardScreen";

/**
 * Exported once, as /boards/_/ (a placeholder id). The server answers every
 * /boards/{id} with that page; the real id is read on the client.
 */
export function generateStaticParams() {
  return [{ id: "_" }];
}

export default function BoardPage() {
  return <BoardScreen />;
}
