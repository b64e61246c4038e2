"use client";
import { useEffect, useRef, useState } from "react";
import { onPageHide } from "@/lib/pageHide";
import { loadCamera, saveCamera, type Camera } from "./camera";

const SAVE_AFTER_MS = 250;

/**
 * The board's pan and zoom, starting where this browser last left this board
 * and kept in localStorage a moment after each change (and at once when the
 * page is hidden or left), not on every frame of a drag.
 */
export function useCamera(boardId: string): [Camera, React.Dispatch<React.SetStateAction<Camera>>] {
  const [camera, setCamera] = useState<Camera>(() => loadCamera(boardId));
  const latest = useRef(camera);

  useEffect(() => {
    latest.current = camera;
    const t = setTimeout(() => saveCamera(boardId, camera), SAVE_AFTER_MS);
    return () => clearTimeout(t);
  }, [boardId, camera]);

  useEffect(() => onPageHide(() => saveCamera(boardId, latest.current)), [boardId]);

  return [camera, setCamera];
}
