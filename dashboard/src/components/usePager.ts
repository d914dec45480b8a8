import { useState } from "react";

/** Cursor pagination: a stack of the cursors that led to the current page. */
export function usePager() {
  const [stack, setStack] = useState<(string | null)[]>([null]);
  const cursor = stack[stack.length - 1] ?? null;
  return {
    cursor,
    canBack: stack.length > 1,
    next: (c: string | null | undefined) => c && setStack((s) => [...s, c]),
    back: () => setStack((s) => (s.length > 1 ? s.slice(0, -1) : s)),
    reset: () => setStack([null]),
  };
}
