/**
 * Exit statuses and the errors that end a command. Scripts branch on the status, so it is a contract:
 * 0 nothing known-bad was found, 1 something known-bad was found, 2 the answer is missing or incomplete.
 */

/** Everything that was checked came back `unknown` (not on the list; never proof of safety). */
export const EXIT_NOTHING_KNOWN_BAD = 0;
/** At least one hash or file is on the known-bad list. */
export const EXIT_KNOWN_BAD = 1;
/** Any error: bad arguments, input or files that could not be read, the service down, a 503, a partial answer. */
export const EXIT_ERROR = 2;

/** A failure that ends the command with exit status 2; its message is printed on one line. */
export class CliError extends Error {
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = new.target.name;
  }
}

/** Arguments or options that cannot work; the message says how to fix them. */
export class UsageError extends CliError {}

/** Input that cannot be read or parsed as a whole (a missing file, a CSV quote never closed). */
export class InputError extends CliError {}

/**
 * The service could not be reached, refused the request, or gave an answer that is not complete. Nothing
 * it failed to answer is ever reported as `unknown`.
 */
export class ServiceError extends CliError {}

/** Turns a message from a server or a file system into one printable line of bounded length. */
export function oneLine(text: string, maxLength = 300): string {
  // eslint-disable-next-line no-control-regex
  const flat = text.replace(/[\u0000-\u001f\u007f-\u009f]+/g, ' ').replace(/\s+/g, ' ').trim();
  return flat.length > maxLength ? `${flat.slice(0, maxLength - 1)}…` : flat;
}
