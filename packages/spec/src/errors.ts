import { KilnError } from "./kiln-error.js";

/** One problem found in the user's input, located as precisely as the source allows. */
export interface SpecIssue {
  file: string;
  line: number;
  col: number;
  /** Path to the field, e.g. `["onboot", 0, "capabilities", 1]`. Empty for whole-document problems. */
  path: ReadonlyArray<string | number>;
  message: string;
  hint?: string;
}

export interface SpecWarning {
  file: string;
  line: number;
  col: number;
  path: ReadonlyArray<string | number>;
  message: string;
}

export function formatPath(path: ReadonlyArray<string | number>): string {
  return path.map(String).join(".");
}

export function formatIssue(issue: SpecIssue | SpecWarning): string {
  const where = `${issue.file}:${issue.line}:${issue.col}`;
  const field = issue.path.length > 0 ? `${formatPath(issue.path)}: ` : "";
  const hint = "hint" in issue && issue.hint ? ` (${issue.hint})` : "";
  return `${where}: ${field}${issue.message}${hint}`;
}

/**
 * The input is invalid. Carries every issue found, so a user fixes them all in one pass.
 * `exitCode` 1 follows the CLI contract: 1 means invalid input, 2 a usage error.
 */
export class SpecError extends KilnError {
  readonly issues: readonly SpecIssue[];
  constructor(issues: readonly SpecIssue[]) {
    super(issues.map(formatIssue).join("\n"), { exitCode: 1 });
    this.name = "SpecError";
    this.issues = issues;
  }
}

/** Levenshtein distance, small and good enough for "did you mean" hints on field names. */
export function editDistance(a: string, b: string): number {
  const prev = Array.from({ length: b.length + 1 }, (_, i) => i);
  for (let i = 1; i <= a.length; i++) {
    let diag = prev[0]!;
    prev[0] = i;
    for (let j = 1; j <= b.length; j++) {
      const tmp = prev[j]!;
      prev[j] = Math.min(prev[j]! + 1, prev[j - 1]! + 1, diag + (a[i - 1] === b[j - 1] ? 0 : 1));
      diag = tmp;
    }
  }
  return prev[b.length]!;
}

export function didYouMean(word: string, candidates: Iterable<string>): string | undefined {
  let best: string | undefined;
  let bestScore = Number.POSITIVE_INFINITY;
  const lower = word.toLowerCase();
  for (const c of candidates) {
    const score = c.toLowerCase() === lower ? 0 : editDistance(lower, c.toLowerCase());
    if (score < bestScore) {
      best = c;
      bestScore = score;
    }
  }
  const limit = Math.max(2, Math.floor(word.length / 3));
  return best !== undefined && bestScore <= limit ? `did you mean \`${best}\`?` : undefined;
}
