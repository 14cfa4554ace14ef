// `@kiln/spec/errors`: the error classes and their formatting, without zod or yaml, for code that must start
// fast (the CLI's error boundary, the runner). The main index re-exports the same modules, so a KilnError
// thrown through either entry is `instanceof` the same class.
export {
  didYouMean,
  formatIssue,
  formatPath,
  SpecError,
  type SpecIssue,
  type SpecWarning,
} from "./errors.js";
export { KilnError, UsageError } from "./kiln-error.js";
