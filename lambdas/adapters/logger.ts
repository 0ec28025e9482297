import { Logger } from '@aws-lambda-powertools/logger';
import { withSourceStack } from './source-maps.js';

type Message = Parameters<Logger['error']>[0];
/** What a log call takes after its message: one error or string, or objects of attributes. */
type ExtraInput = Parameters<Logger['error']> extends [unknown, ...infer Rest] ? Rest : never;

/** The errors among a log call's extra input, given as themselves or as a key of an object, with source stacks. */
function sourceMapped(extra: ExtraInput): ExtraInput {
  return (extra as unknown[]).map((item) => {
    if (item instanceof Error) return withSourceStack(item);
    if (typeof item !== 'object' || item === null || typeof item === 'string') return item;
    const entries = Object.entries(item);
    if (!entries.some(([, value]) => value instanceof Error)) return item;
    return Object.fromEntries(entries.map(([key, value]) => [key, withSourceStack(value)]));
  }) as ExtraInput;
}

/**
 * The service's one logger: Powertools' structured JSON whose errors name their place in the sources. The
 * bundle's source map is read only when an error is logged (`source-maps.ts`), so the functions run without
 * `--enable-source-maps` and start faster.
 */
class HashcheckLogger extends Logger {
  override error(input: Message, ...extraInput: ExtraInput): void {
    super.error(input, ...sourceMapped(extraInput));
  }

  override warn(input: Message, ...extraInput: ExtraInput): void {
    super.warn(input, ...sourceMapped(extraInput));
  }
}

/**
 * The service's one structured logger. Context goes in keys, never in message prefixes; bodies of
 * upload routes are never passed to it, since the body is the file.
 */
export function makeLogger(): Logger {
  return new HashcheckLogger({ serviceName: 'hashcheck' });
}
