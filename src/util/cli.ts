/**
 * How a command-line script reports a failure. Imported for its effect, first, by every script in
 * scripts/: an InputError (src/util/errors.ts) thrown anywhere, a refusal the user can act on, prints
 * one line, `error: <message>`, and exits 1; any other error prints its stack and exits 1, as Node
 * would. OMNI_DEBUG=1 prints the stack of an InputError too.
 */
import { isInputError } from "./errors.js";

/** The text a script prints for an uncaught error (pure, for tests). */
export function describeFailure(err: unknown, debug = false): string {
  if (isInputError(err) && !debug) return `error: ${err.message}`;
  if (err instanceof Error) return err.stack ?? `${err.name}: ${err.message}`;
  return `error: ${String(err)}`;
}

function fail(err: unknown): never {
  console.error(describeFailure(err, process.env.OMNI_DEBUG === "1"));
  process.exit(1);
}

process.on("uncaughtException", fail);
process.on("unhandledRejection", fail);
