import { DEFAULT_INSIDE_LIMITS, INSIDE_LIMIT_VARIABLES, type InsideLimits } from '../core/inside/limits.js';

/**
 * Configuration read once at cold start from the environment. Each CDK construct that grants access to a
 * resource also sets the variable that names it (see `lib/`); the local server sets them for itself.
 */

/** The variable naming each resource a function may be bound to. */
export const RESOURCE_VARIABLES = {
  knownHashesTable: 'KNOWN_HASHES_TABLE',
  scansTable: 'SCANS_TABLE',
  uploadBucket: 'UPLOAD_BUCKET',
  answerBucket: 'ANSWER_BUCKET',
} as const;
export type Resource = keyof typeof RESOURCE_VARIABLES;

export interface BaseConfig {
  /** DynamoDB endpoint of the local emulator (`HASHCHECK_DYNAMODB_ENDPOINT`); unset in AWS. */
  readonly dynamoDbEndpoint?: string;
  /** S3 endpoint of the local emulator (`HASHCHECK_S3_ENDPOINT`); unset in AWS. */
  readonly s3Endpoint?: string;
  /** Milliseconds a lookup may spend retrying unprocessed keys before it fails (`HASHCHECK_LOOKUP_DEADLINE_MS`). */
  readonly lookupDeadlineMs: number;
  /** The one browser origin allowed to read answers, the web form's (`HASHCHECK_CORS_ORIGIN`); unset locally. */
  readonly corsOrigin?: string;
}

/** The variable naming the web form's origin; the stack sets it on every API function. */
export const CORS_ORIGIN_VARIABLE = 'HASHCHECK_CORS_ORIGIN';

type Env = Readonly<Record<string, string | undefined>>;

function positiveInteger(env: Env, name: string, fallback: number): number {
  const raw = env[name];
  if (raw === undefined || raw === '') return fallback;
  const value = Number(raw);
  if (!Number.isInteger(value) || value <= 0) {
    throw new Error(`Environment variable ${name} must be a positive integer, got '${raw}'`);
  }
  return value;
}

/**
 * Reads the configuration of a function that uses the given resources.
 * @throws Error naming the first variable that is missing.
 */
export function readConfig<R extends Resource>(resources: readonly R[], env: Env = process.env): BaseConfig & Record<R, string> {
  const named = {} as Record<R, string>;
  for (const resource of resources) {
    const variable = RESOURCE_VARIABLES[resource];
    const value = env[variable];
    if (!value) throw new Error(`Environment variable ${variable} is not set`);
    named[resource] = value;
  }
  return {
    ...named,
    dynamoDbEndpoint: env['HASHCHECK_DYNAMODB_ENDPOINT'] || undefined,
    s3Endpoint: env['HASHCHECK_S3_ENDPOINT'] || undefined,
    lookupDeadlineMs: positiveInteger(env, 'HASHCHECK_LOOKUP_DEADLINE_MS', 3000),
    corsOrigin: env[CORS_ORIGIN_VARIABLE]?.trim() || undefined,
  };
}

/**
 * The limits of looking inside files, each from its variable (`HASHCHECK_INSIDE_MAX_DEPTH` and the others
 * of {@link INSIDE_LIMIT_VARIABLES}) or its default.
 * @throws Error naming a variable that is set to anything but a positive integer.
 */
export function readInsideLimits(env: Env = process.env): InsideLimits {
  const limits = { ...DEFAULT_INSIDE_LIMITS };
  for (const key of Object.keys(INSIDE_LIMIT_VARIABLES) as (keyof InsideLimits)[]) {
    limits[key] = positiveInteger(env, INSIDE_LIMIT_VARIABLES[key], DEFAULT_INSIDE_LIMITS[key]);
  }
  return limits;
}

/** The variable that turns off remembering containers found bad through a member. */
export const REMEMBER_CONTAINERS_VARIABLE = 'HASHCHECK_REMEMBER_CONTAINERS';

/**
 * Whether scans remember a container found bad through a member as a derived record
 * (`HASHCHECK_REMEMBER_CONTAINERS`): on unless set to `false` (or `0`, `no`, `off`).
 * @throws Error naming the variable when it is set to anything else than a yes or a no.
 */
export function readRememberContainers(env: Env = process.env): boolean {
  const raw = env[REMEMBER_CONTAINERS_VARIABLE]?.trim().toLowerCase();
  if (raw === undefined || raw === '') return true;
  if (['true', '1', 'yes', 'on'].includes(raw)) return true;
  if (['false', '0', 'no', 'off'].includes(raw)) return false;
  throw new Error(`Environment variable ${REMEMBER_CONTAINERS_VARIABLE} must be true or false, got '${env[REMEMBER_CONTAINERS_VARIABLE]}'`);
}
