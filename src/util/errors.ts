/**
 * InputError: a problem with what the user gave or has on disk (a flag, a file, a cache, a checkpoint),
 * whose message says what is wrong and how to fix it. The command-line scripts print its message
 * alone (src/util/cli.ts); any other error is a bug and keeps its stack trace.
 *
 * The file-format errors (CsvError, AudioFileError, DataError, TranscriptError, ManifestError) and
 * ChromiumMissingError extend it.
 */
export class InputError extends Error {
  /** Checked by name, not by instanceof, so that two copies of this module (tsx and a build) agree. */
  readonly inputError = true;
  constructor(message: string) {
    super(message);
    this.name = "InputError";
  }
}

export function isInputError(e: unknown): e is InputError {
  return e instanceof Error && (e as Partial<InputError>).inputError === true;
}
