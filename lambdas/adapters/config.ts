/**
 * Configuration read once at cold start from the environment. Each CDK construct that grants an access
 * sets the variable that names the resource (see `lib/`); the local server sets them for itself.
 */
export interface Config {
  /** Name of the KnownHashes table (`KNOWN_HASHES_TABLE`). */
  readonly knownHashesTable: string;
  /** DynamoDB endpoint for the local emulator (`HASHCHECK_DYNAMODB_ENDPOINT`); unset in AWS. */
  readonly dynamoDbEndpoint?: string;
  /** Milliseconds a lookup may spend retrying unprocessed keys before it fails (`HASHCHECK_LOOKUP_DEADLINE_MS`). */
  readonly lookupDeadlineMs: number;
}

type Env = Readonly<Record<string, string | undefined>>;

function required(env: Env, name: string): string {
  const value = env[name];
  if (!value) throw new Error(`Environment variable ${name} is not set`);
  return value;
}

function positiveInteger(env: Env, name: string, fallback: number): number {
  const raw = env[name];
  if (raw === undefined || raw === '') return fallback;
  const value = Number(raw);
  if (!Number.isInteger(value) || value <= 0) throw new Error(`Environment variable ${name} must be a positive integer, got '${raw}'`);
  return value;
}

/** Reads the configuration of functions that use the KnownHashes table. */
export function readConfig(env: Env = process.env): Config {
  return {
    knownHashesTable: required(env, 'KNOWN_HASHES_TABLE'),
    dynamoDbEndpoint: env['HASHCHECK_DYNAMODB_ENDPOINT'] || undefined,
    lookupDeadlineMs: positiveInteger(env, 'HASHCHECK_LOOKUP_DEADLINE_MS', 3000),
  };
}
