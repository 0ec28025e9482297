import {
  ConditionalCheckFailedException,
  GetItemCommand,
  PutItemCommand,
  type AttributeValue,
  type DynamoDBClient,
} from '@aws-sdk/client-dynamodb';
import { marshall, unmarshall } from '@aws-sdk/util-dynamodb';
import * as z from 'zod/v4-mini';
import { UpstreamUnavailableError } from '../core/errors.js';
import { describeIssues, fileVerdictSchema, scanFailureReasonSchema, scanStatusSchema } from '../core/schemas.js';
import { verdictWithin } from '../core/inside/stored-verdict.js';
import type { ScanRecord, ScanStore } from '../core/uploads.js';
import { SCANS_KEY } from './table-schemas.js';

type Item = Record<string, AttributeValue>;

/**
 * The most bytes of a verdict a row keeps: DynamoDB refuses items over 400 KB, and the row's other
 * attributes (the upload's name among them) need a little room. A larger verdict is cut (`verdictWithin`):
 * a scan never fails because the file it found bad holds thousands of bad members.
 */
export const MAX_STORED_VERDICT_BYTES = 350 * 1024;

function toItem(record: ScanRecord): Item {
  const { uploadId, file: whole, failure, ...fields } = record;
  const file = whole && verdictWithin(whole, MAX_STORED_VERDICT_BYTES);
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
function storedJson<T extends z.ZodMiniType>(schema: T) {
  const parsed = z.pipe(
    z.string(),
    z.transform((text, ctx): unknown => {
      try {
        return JSON.parse(text);
      } catch {
        ctx.issues.push({ code: 'custom', message: 'is not JSON', input: text });
        return z.NEVER;
      }
    }),
  );
  return z.pipe(parsed, schema);
}

/** A row as the table holds it; the verdict is checked with the schema of the API's answer it was written from. */
const storedScanSchema = z.object({
  [SCANS_KEY]: z.string().check(z.minLength(1)),
  status: scanStatusSchema,
  fileName: z.string(),
  declaredSize: z.int().check(z.nonnegative()),
  createdAt: z.string(),
  updatedAt: z.string(),
  expiresAt: z.int(),
  file: z.optional(storedJson(fileVerdictSchema)),
  failure: z.optional(storedJson(z.object({ reason: scanFailureReasonSchema, message: z.string() }))),
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
    throw new UpstreamUnavailableError(
      `The scan of upload ${String(stored[SCANS_KEY])} is stored in a form that cannot be read (${describeIssues(parsed.error, 'row')}).`,
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
