/**
 * How a command-line script reports a failure. Imported for its effect, first, by every script in
 * scripts/: an InputError (src/util/errors.ts) thrown anywhere, a refusal the user can act on, prints
 * one line, `error: <message>`, and exits 1, and so does node:util parseArgs's refusal of an unknown
 * option; any other error prints its stack and exits 1, as Node would. OMNI_DEBUG=1 prints the stack
 * of an input error too.
 */
import { isInputError } from "./errors.js";

/** node:util parseArgs's refusals (an unknown option, a missing value): the user's to fix, like an InputError. */
function isUsageError(err: unknown): err is Error {
  return err instanceof Error && String((err as { code?: unknown }).code ?? "").startsWith("ERR_PARSE_ARGS_");
}

/** The text a script prints for an uncaught error (pure, for tests). */
export function describeFailure(err: unknown, debug = false): string {
  if ((isInputError(err) || isUsageError(err)) && !debug) return `error: ${err.message}`;
  if (err instanceof Error) return err.stack ?? `${err.name}: ${err.message}`;
  return `error: ${String(err)}`;
}

function fail(err: unknown): never {
  console.error(describeFailure(err, process.env.OMNI_DEBUG === "1"));
  process.exit(1);
}

process.on("uncaughtException", fail);
process.on("unhandledRejection", fail);
