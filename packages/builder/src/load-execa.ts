// execa and what it depends on are about a hundred modules, ~80 ms to load, and most builds run no external
// program: it is loaded on first use.
export const loadExeca = (): Promise<typeof import("execa")> => import("execa");
