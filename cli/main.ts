import { readFileSync } from 'node:fs';
import { parseArgs, type ParseArgsConfig } from 'node:util';
import { IMPORT_FORMATS, type ImportFormat } from '../lambdas/core/import-formats.js';
import { CliError, EXIT_ERROR, UsageError, oneLine } from './errors.js';
import { chooseAdminAuth } from './admin-auth.js';
import { defaultAwsCredentials } from './aws-sigv4.js';
import { readScanThreads } from './hash-pool.js';
import { readInsideLimits } from '../lambdas/adapters/config.js';
import type { InsideLimits } from '../lambdas/core/inside/limits.js';
import { IMPORT_HELP, LOOKUP_HELP, MAIN_HELP, SCAN_HELP } from './help.js';
import { runImport } from './import-command.js';
import { runLookup } from './lookup-command.js';
import type { OutputFormat } from './output.js';
import { runScan } from './scan-command.js';
import { ServiceClient } from './service-client.js';
import { colourWanted, OutputWriter, Reporter, type CliEnvironment } from './terminal.js';

/** Where the command line looks for the service unless told otherwise: the local server of `npm start`. */
export const DEFAULT_URL = 'http://127.0.0.1:3000';

/** Options every command takes, `import` included. */
const SHARED_OPTIONS = {
  url: { type: 'string' },
  json: { type: 'boolean' },
  timeout: { type: 'string' },
  retries: { type: 'string' },
  quiet: { type: 'boolean', short: 'q' },
  help: { type: 'boolean', short: 'h' },
  version: { type: 'boolean', short: 'V' },
} as const satisfies ParseArgsConfig['options'];

/** Options of the commands that look hashes up: `lookup` and `scan`. */
const COMMON_OPTIONS = {
  ...SHARED_OPTIONS,
  'api-key': { type: 'string' },
  csv: { type: 'boolean' },
  concurrency: { type: 'string' },
  'no-progress': { type: 'boolean' },
} as const satisfies ParseArgsConfig['options'];

const LOOKUP_OPTIONS = {
  ...COMMON_OPTIONS,
  file: { type: 'string', short: 'f' },
  column: { type: 'string' },
  strict: { type: 'boolean' },
  'bad-only': { type: 'boolean' },
} as const satisfies ParseArgsConfig['options'];

const SCAN_OPTIONS = {
  ...COMMON_OPTIONS,
  all: { type: 'boolean' },
  follow: { type: 'boolean' },
  upload: { type: 'boolean' },
  wait: { type: 'string' },
  'ignore-unreadable': { type: 'boolean' },
  'no-members': { type: 'boolean' },
} as const satisfies ParseArgsConfig['options'];

const IMPORT_OPTIONS = {
  ...SHARED_OPTIONS,
  'admin-key': { type: 'string' },
  'aws-sigv4': { type: 'boolean' },
  region: { type: 'string' },
  format: { type: 'string' },
  campaign: { type: 'string' },
  source: { type: 'string' },
  kind: { type: 'string' },
  platform: { type: 'string' },
  confidence: { type: 'string' },
  'dry-run': { type: 'boolean' },
  concurrency: { type: 'string' },
} as const satisfies ParseArgsConfig['options'];

type CommonValues = { [K in keyof typeof COMMON_OPTIONS]?: (typeof COMMON_OPTIONS)[K]['type'] extends 'string' ? string : boolean };

/**
 * Runs the `hashcheck` command line and returns its exit status: 0 nothing known-bad, 1 something
 * known-bad, 2 any error. Every failure is printed as one `hashcheck: …` line on standard error.
 */
export async function runCli(argv: readonly string[], environment: CliEnvironment): Promise<number> {
  const [command, ...rest] = argv;
  const print = (text: string) => environment.stdout.write(text.endsWith('\n') ? text : `${text}\n`);
  try {
    switch (command) {
      case undefined:
        environment.stderr.write(MAIN_HELP);
        return EXIT_ERROR;
      case '-h':
      case '--help':
        print(MAIN_HELP);
        return 0;
      case '-V':
      case '--version':
        print(readVersion());
        return 0;
      case 'help': {
        const topic = rest[0];
        print(topic === 'lookup' ? LOOKUP_HELP : topic === 'scan' ? SCAN_HELP : topic === 'import' ? IMPORT_HELP : MAIN_HELP);
        return 0;
      }
      case 'lookup':
        return await lookup(rest, environment, print);
      case 'scan':
        return await scan(rest, environment, print);
      case 'import':
        return await importFeed(rest, environment, print);
      default:
        throw new UsageError(`unknown command '${command}': use lookup, scan or import (see hashcheck --help)`);
    }
  } catch (error) {
    const message = error instanceof CliError ? error.message : `unexpected failure: ${(error as Error)?.stack ?? String(error)}`;
    environment.stderr.write(`hashcheck: ${error instanceof CliError ? oneLine(message, 2000) : message}\n`);
    return EXIT_ERROR;
  }
}

async function lookup(args: readonly string[], environment: CliEnvironment, print: (text: string) => void): Promise<number> {
  const { values, positionals } = parse('lookup', args, LOOKUP_OPTIONS);
  if (values.help || values.version) {
    print(values.help ? LOOKUP_HELP : readVersion());
    return 0;
  }
  const common = readCommon(values, environment);
  return runLookup(
    {
      hashes: positionals,
      file: values.file,
      column: values.column,
      strict: values.strict ?? false,
      badOnly: values['bad-only'] ?? false,
      format: common.format,
      concurrency: common.concurrency,
    },
    common.deps,
  );
}

async function scan(args: readonly string[], environment: CliEnvironment, print: (text: string) => void): Promise<number> {
  const { values, positionals } = parse('scan', args, SCAN_OPTIONS, {
    '--bad-only': 'scan prints only the known-bad files already (--all prints every file): leave out --bad-only',
  });
  if (values.help || values.version) {
    print(values.help ? SCAN_HELP : readVersion());
    return 0;
  }
  if (positionals.length === 0) throw new UsageError('nothing to scan: give files or folders (see hashcheck scan --help)');
  const common = readCommon(values, environment);
  return runScan(
    {
      paths: positionals,
      upload: values.upload ?? false,
      all: values.all ?? false,
      follow: values.follow ?? false,
      ignoreUnreadable: values['ignore-unreadable'] ?? false,
      members: !(values['no-members'] ?? false),
      insideLimits: readScanInsideLimits(environment.env),
      format: common.format,
      concurrency: common.concurrency,
      threads: readScanThreads(environment.env),
      waitMs: readNumber(values.wait, '--wait', { fallback: 900, min: 1, max: 24 * 3600 }) * 1000,
      timeoutMs: common.timeoutMs,
    },
    common.deps,
  );
}

async function importFeed(args: readonly string[], environment: CliEnvironment, print: (text: string) => void): Promise<number> {
  const { values, positionals } = parse('import', args, IMPORT_OPTIONS);
  if (values.help || values.version) {
    print(values.help ? IMPORT_HELP : readVersion());
    return 0;
  }
  if (positionals.length !== 1) {
    throw new UsageError(`${positionals.length === 0 ? 'nothing to import' : 'one feed at a time'}: give one FILE, or - for standard input (see hashcheck import --help)`);
  }
  const format = values.format?.trim().toLowerCase();
  if (format !== undefined && !(IMPORT_FORMATS as readonly string[]).includes(format)) {
    throw new UsageError(`--format must be one of ${IMPORT_FORMATS.join(', ')}, got '${values.format}'`);
  }
  const url = readUrl(values.url ?? (environment.env['HASHCHECK_URL'] || DEFAULT_URL), values.url !== undefined ? '--url' : 'HASHCHECK_URL');
  const dryRun = values['dry-run'] ?? false;
  // A dry run sends nothing, so it needs no credentials, and a feed can be checked before anyone holds them.
  const auth = dryRun
    ? undefined
    : chooseAdminAuth({ url, adminKey: values['admin-key'], sigv4: values['aws-sigv4'] ?? false, region: values.region, env: environment.env });
  const timeoutMs = Math.round(readNumber(values.timeout, '--timeout', { fallback: 30, min: 0.1, max: 3600 }) * 1000);
  const retries = readNumber(values.retries, '--retries', { fallback: 3, min: 0, max: 20, integer: true });
  const concurrency = readNumber(values.concurrency, '--concurrency', { fallback: 4, min: 1, max: 64, integer: true });
  const reporter = new Reporter(environment, { quiet: values.quiet ?? false, progress: false });
  // No API key here: admin routes take the admin key or a signature, which the command adds per request.
  const client = new ServiceClient({
    url,
    timeoutMs,
    retries,
    onRetry: ({ what, attempt, reason, delayMs }) =>
      reporter.status(`${what}: ${oneLine(reason, 200)}; retrying in ${(delayMs / 1000).toFixed(1)} s (retry ${attempt} of ${retries})`),
  });
  // Query values are trimmed and empty ones left out, as the service reads them.
  const given = (value: string | undefined) => value?.trim() || undefined;
  const defaults = Object.fromEntries(
    (['campaign', 'source', 'kind', 'platform', 'confidence'] as const).flatMap((name) => {
      const value = given(values[name]);
      return value === undefined ? [] : [[name, value]];
    }),
  );
  return runImport(
    {
      file: positionals[0]!,
      ...(format !== undefined && { format: format as ImportFormat }),
      defaults,
      dryRun,
      json: values.json ?? false,
      ...(auth && { auth }),
      concurrency,
      retries,
    },
    {
      url,
      client,
      reporter,
      out: new OutputWriter(environment.stdout),
      environment,
      colour: colourWanted(environment),
      credentials: defaultAwsCredentials(),
    },
  );
}

/**
 * Reads a command's arguments. `-h`/`--help` and `-V`/`--version` win over any other argument, so help is
 * shown even when the rest of the line is wrong. `refused` maps options the command does not take to
 * what to use instead.
 */
function parse<O extends NonNullable<ParseArgsConfig['options']>>(
  command: string,
  args: readonly string[],
  options: O,
  refused: Readonly<Record<string, string>> = {},
) {
  try {
    return parseArgs({ args: [...args], options, allowPositionals: true, strict: true });
  } catch (error) {
    const { tokens } = parseArgs({ args: [...args], options, allowPositionals: true, strict: false, tokens: true });
    const asked = tokens.find((token) => token.kind === 'option' && (token.name === 'help' || token.name === 'version'));
    if (asked?.kind === 'option') {
      return { values: { [asked.name]: true } as ReturnType<typeof parseArgs<{ options: O; allowPositionals: true; strict: true }>>['values'], positionals: [] };
    }
    const code = (error as NodeJS.ErrnoException).code;
    const message = (error as Error).message;
    const option = /'(-[^'\s]*)/.exec(message)?.[1];
    if (option !== undefined && Object.hasOwn(refused, option)) throw new UsageError(refused[option]!);
    if (code === 'ERR_PARSE_ARGS_UNKNOWN_OPTION' && option) {
      throw new UsageError(`unknown option '${option}' for hashcheck ${command} (see hashcheck ${command} --help)`);
    }
    if (code === 'ERR_PARSE_ARGS_INVALID_OPTION_VALUE' && option) {
      throw new UsageError(`option '${option}' needs a value (see hashcheck ${command} --help)`);
    }
    throw new UsageError(`${message.split('. ')[0]} (see hashcheck ${command} --help)`);
  }
}

/** Reads the options every command shares, with the environment variables behind them. */
function readCommon(values: CommonValues, environment: CliEnvironment) {
  if (values.json && values.csv) throw new UsageError('--json and --csv cannot be combined: choose one');
  const format: OutputFormat = values.json ? 'json' : values.csv ? 'csv' : 'table';
  const rawUrl = values.url ?? (environment.env['HASHCHECK_URL'] || DEFAULT_URL);
  const url = readUrl(rawUrl, values.url !== undefined ? '--url' : 'HASHCHECK_URL');
  const apiKey = values['api-key'] ?? (environment.env['HASHCHECK_API_KEY'] || undefined);
  const timeoutMs = Math.round(readNumber(values.timeout, '--timeout', { fallback: 30, min: 0.1, max: 3600 }) * 1000);
  const retries = readNumber(values.retries, '--retries', { fallback: 3, min: 0, max: 20, integer: true });
  const concurrency = readNumber(values.concurrency, '--concurrency', { fallback: 4, min: 1, max: 64, integer: true });
  const quiet = values.quiet ?? false;
  const reporter = new Reporter(environment, { quiet, progress: !values['no-progress'] });
  const client = new ServiceClient({
    url,
    ...(apiKey !== undefined && { apiKey }),
    timeoutMs,
    retries,
    onRetry: ({ what, attempt, reason, delayMs }) =>
      reporter.status(`${what}: ${oneLine(reason, 200)}; retrying in ${(delayMs / 1000).toFixed(1)} s (retry ${attempt} of ${retries})`),
  });
  const deps = { client, reporter, out: new OutputWriter(environment.stdout), environment, colour: colourWanted(environment) };
  return { format, timeoutMs, concurrency, deps };
}

function readUrl(raw: string, source: string): URL {
  let url: URL;
  try {
    url = new URL(raw);
  } catch {
    throw new UsageError(`${source} must be a URL such as ${DEFAULT_URL}, got '${raw}'`);
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:') {
    throw new UsageError(`${source} must be an http or https URL, got '${raw}'`);
  }
  return url;
}

function readNumber(raw: string | undefined, name: string, rule: { fallback: number; min: number; max: number; integer?: boolean }): number {
  if (raw === undefined) return rule.fallback;
  const value = Number(raw);
  const kind = rule.integer ? 'a whole number' : 'a number';
  if (raw.trim() === '' || !Number.isFinite(value) || (rule.integer && !Number.isInteger(value)) || value < rule.min || value > rule.max) {
    throw new UsageError(`${name} must be ${kind} from ${rule.min} to ${rule.max}, got '${raw}'`);
  }
  return value;
}

function readVersion(): string {
  const manifest = JSON.parse(readFileSync(new URL('../package.json', import.meta.url), 'utf8')) as { version?: string };
  return `hashcheck ${manifest.version ?? 'unknown'}`;
}

/** The look-inside limits from the `HASHCHECK_INSIDE_*` variables, as the service reads them; a bad value is a usage error. */
function readScanInsideLimits(env: Readonly<Record<string, string | undefined>>): InsideLimits {
  try {
    return readInsideLimits(env);
  } catch (error) {
    throw new UsageError((error as Error).message);
  }
}
