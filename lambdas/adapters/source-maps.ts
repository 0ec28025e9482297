import { readFileSync } from 'node:fs';
import { SourceMap, type SourceMapPayload } from 'node:module';
import { fileURLToPath } from 'node:url';

/**
 * Stack traces in source terms without `--enable-source-maps`. That flag makes Node parse the source map
 * of every bundle as it is imported, which costs a function tens of milliseconds at every cold start for a
 * map that is needed only when an error is logged. Here a bundle's map (`index.mjs.map` beside
 * `index.mjs`) is read the first time a stack naming that bundle is logged, and kept for the next one.
 */

/** A map per generated file; `null` for a file that has none (or none that could be read). */
const maps = new Map<string, SourceMap | null>();

function mapOf(file: string): SourceMap | null {
  let map = maps.get(file);
  if (map === undefined) {
    try {
      map = new SourceMap(JSON.parse(readFileSync(`${file}.map`, 'utf8')) as SourceMapPayload);
    } catch {
      map = null;
    }
    maps.set(file, map);
  }
  return map;
}

/** `at name (file:line:column)` or `at file:line:column`, the file a path or a file: URL. */
const FRAME = /^(\s*at (?:(.*?) \()?)((?:file:\/\/)?\/[^():]*?\.m?js):(\d+):(\d+)(\)?)$/;

/** One stack line with its generated position replaced by the source position, or as it was. */
function mapFrame(line: string): string {
  const frame = FRAME.exec(line);
  if (!frame) return line;
  const [, prefix, , location, row, column, close] = frame as unknown as [string, string, string | undefined, string, string, string, string];
  const file = location.startsWith('file://') ? fileURLToPath(location) : location;
  const map = mapOf(file);
  if (!map) return line;
  const entry = map.findEntry(Number(row) - 1, Number(column) - 1) as Partial<{
    originalSource: string;
    originalLine: number;
    originalColumn: number;
  }>;
  if (entry.originalSource === undefined || entry.originalLine === undefined || entry.originalColumn === undefined) return line;
  return `${prefix}${entry.originalSource}:${entry.originalLine + 1}:${entry.originalColumn + 1}${close}`;
}

/** A stack trace with every frame of a bundle that has a source map shown at its place in the sources. */
export function mapStackTrace(stack: string): string {
  return stack.split('\n').map(mapFrame).join('\n');
}

/**
 * The error as it should be logged: the same error when no frame maps, else a copy (same prototype, same
 * fields, its `cause` mapped too) whose `stack` names the sources. The thrown error itself is left alone.
 */
export function withSourceStack<T>(value: T, seen = new Set<unknown>()): T {
  if (!(value instanceof Error) || seen.has(value)) return value;
  seen.add(value);
  const stack = typeof value.stack === 'string' ? mapStackTrace(value.stack) : value.stack;
  const cause = withSourceStack((value as { cause?: unknown }).cause, seen);
  if (stack === value.stack && cause === (value as { cause?: unknown }).cause) return value;
  const copy = Object.create(Object.getPrototypeOf(value) as object, Object.getOwnPropertyDescriptors(value)) as Error;
  Object.defineProperty(copy, 'stack', { value: stack, writable: true, configurable: true, enumerable: false });
  if (cause !== undefined) Object.defineProperty(copy, 'cause', { value: cause, writable: true, configurable: true, enumerable: false });
  return copy as T;
}
