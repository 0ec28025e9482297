import {
  ConditionalCheckFailedException,
  GetItemCommand,
  PutItemCommand,
  type AttributeValue,
  type DynamoDBClient,
} from '@aws-sdk/client-dynamodb';
import { marshall, unmarshall } from '@aws-sdk/util-dynamodb';
import { z } from 'zod';
import { UpstreamUnavailableError } from '../core/errors.js';
import { RECORD_KINDS } from '../core/records.js';
import type { ScanRecord, ScanStore } from '../core/uploads.js';
import { SCANS_KEY } from './table-schemas.js';

type Item = Record<string, AttributeValue>;

function toItem(record: ScanRecord): Item {
  const { uploadId, file, failure, ...fields } = record;
  return marshall(
    {
      ...fields,
      [SCANS_KEY]: uploadId,
      // The verdict is stored as the JSON the API answers with, so reading it back cannot reshape it.
      ...(file && { file: JSON.stringify(file) }),
      ...(failure && { failure: JSON.stringify(failure) }),
    },
    { removeUndefinedValues: true },
  );
}

/** JSON text stored in an attribute, parsed and then checked against `schema`. */
const storedJson = <T extends z.ZodTypeAny>(schema: T) =>
  z
    .string()
    .transform((text, ctx) => {
      try {
        return JSON.parse(text) as unknown;
      } catch {
        ctx.addIssue({ code: z.ZodIssueCode.custom, message: 'is not JSON' });
        return z.NEVER;
      }
    })
    .pipe(schema);

/**
 * A row as the table holds it. The verdict is checked for the fields the status answer relies on; it was
 * written from a `FileVerdict`, so the API's own verdict schema (`lambdas/core/schemas.ts`) is the one to
 * check it with once that module defines it.
 */
const storedScanSchema = z.object({
  [SCANS_KEY]: z.string().min(1),
  status: z.enum(['pending', 'done', 'failed']),
  fileName: z.string(),
  declaredSize: z.number().int().nonnegative(),
  createdAt: z.string(),
  updatedAt: z.string(),
  expiresAt: z.number().int(),
  file: storedJson(
    z
      .object({
        fileName: z.string().nullable(),
        size: z.number().int().nonnegative(),
        md5: z.string(),
        sha1: z.string(),
        sha256: z.string(),
        verdict: z.enum(['malicious', 'unknown']),
        matches: z.array(
          z.object({
            sha256: z.string().optional(),
            sha1: z.string().optional(),
            md5: z.string().optional(),
            size: z.number().int().nonnegative().optional(),
            fileName: z.string(),
            platform: z.string(),
            version: z.string(),
            kind: z.enum(RECORD_KINDS),
            stage: z.string(),
            campaign: z.string(),
            confidence: z.string(),
            sources: z.array(z.string()),
            addedAt: z.string().optional(),
          }),
        ),
      }),
  ).optional(),
  failure: storedJson(
    z.object({ reason: z.enum(['missing_object', 'too_large', 'read_error', 'scan_timeout']), message: z.string() }),
  ).optional(),
});

/**
 * Reads a row back into a scan record, validated: a row that is not a scan record written by this store
 * is refused rather than answered in a shape the caller did not write.
 * @throws UpstreamUnavailableError naming the upload and what is wrong with the row.
 */
function fromItem(item: Item): ScanRecord {
  const stored = unmarshall(item);
  const parsed = storedScanSchema.safeParse(stored);
  if (!parsed.success) {
    const issues = parsed.error.issues.map((issue) => `${issue.path.join('.') || 'row'}: ${issue.message}`).join('; ');
    throw new UpstreamUnavailableError(
      `The scan of upload ${String(stored[SCANS_KEY])} is stored in a form that cannot be read (${issues}).`,
      { cause: parsed.error },
    );
  }
  const { [SCANS_KEY]: uploadId, file, failure, ...fields } = parsed.data;
  return {
    uploadId,
    ...fields,
    ...(file && { file }),
    ...(failure && { failure }),
  };
}

/** The Scans table behind the `ScanStore` port; every SDK failure becomes `UpstreamUnavailableError`. */
export class DynamoDbScanStore implements ScanStore {
  constructor(
    private readonly client: DynamoDBClient,
    private readonly options: { tableName: string },
  ) {}

  async put(record: ScanRecord): Promise<void> {
    await this.call('The scan could not be recorded; try again shortly.', () =>
      this.client.send(new PutItemCommand({ TableName: this.options.tableName, Item: toItem(record) })),
    );
  }

  async finish(record: ScanRecord): Promise<boolean> {
    try {
      await this.client.send(
        new PutItemCommand({
          TableName: this.options.tableName,
          Item: toItem(record),
          ConditionExpression: '#status = :pending',
          ExpressionAttributeNames: { '#status': 'status' },
          ExpressionAttributeValues: marshall({ ':pending': 'pending' }),
        }),
      );
      return true;
    } catch (error) {
      if (error instanceof ConditionalCheckFailedException || (error as { name?: string }).name === 'ConditionalCheckFailedException') {
        return false;
      }
      throw new UpstreamUnavailableError('The scan result could not be written; the event will be retried.', { cause: error });
    }
  }

  async get(uploadId: string): Promise<ScanRecord | undefined> {
    const output = await this.call('The scan result could not be read; try again shortly.', () =>
      this.client.send(
        new GetItemCommand({ TableName: this.options.tableName, Key: marshall({ [SCANS_KEY]: uploadId }), ConsistentRead: true }),
      ),
    );
    return output.Item ? fromItem(output.Item) : undefined;
  }

  /** Translates every SDK failure into the domain error, saying what failed and keeping the cause for the log. */
  private async call<T>(failed: string, send: () => Promise<T>): Promise<T> {
    try {
      return await send();
    } catch (error) {
      throw new UpstreamUnavailableError(failed, { cause: error });
    }
  }
}
