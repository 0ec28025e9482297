import {
  ConditionalCheckFailedException,
  GetItemCommand,
  PutItemCommand,
  type AttributeValue,
  type DynamoDBClient,
} from '@aws-sdk/client-dynamodb';
import { UpstreamUnavailableError } from '../core/errors.js';
import type { ScanRecord, ScanStore } from '../core/uploads.js';
import { SCANS_KEY } from './table-schemas.js';

type Item = Record<string, AttributeValue>;

function toItem(record: ScanRecord): Item {
  const item: Item = {
    [SCANS_KEY]: { S: record.uploadId },
    status: { S: record.status },
    fileName: { S: record.fileName },
    declaredSize: { N: String(record.declaredSize) },
    createdAt: { S: record.createdAt },
    updatedAt: { S: record.updatedAt },
    expiresAt: { N: String(record.expiresAt) },
  };
  // The verdict is stored as the JSON the API answers with, so reading it back cannot reshape it.
  if (record.file) item['file'] = { S: JSON.stringify(record.file) };
  if (record.failure) item['failure'] = { S: JSON.stringify(record.failure) };
  return item;
}

function fromItem(item: Item): ScanRecord {
  return {
    uploadId: item[SCANS_KEY]!.S!,
    status: item['status']!.S as ScanRecord['status'],
    fileName: item['fileName']!.S!,
    declaredSize: Number(item['declaredSize']!.N),
    createdAt: item['createdAt']!.S!,
    updatedAt: item['updatedAt']!.S!,
    expiresAt: Number(item['expiresAt']!.N),
    ...(item['file']?.S && { file: JSON.parse(item['file'].S) }),
    ...(item['failure']?.S && { failure: JSON.parse(item['failure'].S) }),
  };
}

/** The Scans table behind the `ScanStore` port; every SDK failure becomes `UpstreamUnavailableError`. */
export class DynamoDbScanStore implements ScanStore {
  constructor(
    private readonly client: DynamoDBClient,
    private readonly options: { tableName: string },
  ) {}

  async put(record: ScanRecord): Promise<void> {
    await this.call(() => this.client.send(new PutItemCommand({ TableName: this.options.tableName, Item: toItem(record) })));
  }

  async finish(record: ScanRecord): Promise<boolean> {
    try {
      await this.client.send(
        new PutItemCommand({
          TableName: this.options.tableName,
          Item: toItem(record),
          ConditionExpression: '#status = :pending',
          ExpressionAttributeNames: { '#status': 'status' },
          ExpressionAttributeValues: { ':pending': { S: 'pending' } },
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
    const output = await this.call(() =>
      this.client.send(
        new GetItemCommand({ TableName: this.options.tableName, Key: { [SCANS_KEY]: { S: uploadId } }, ConsistentRead: true }),
      ),
    );
    return output.Item ? fromItem(output.Item) : undefined;
  }

  private async call<T>(send: () => Promise<T>): Promise<T> {
    try {
      return await send();
    } catch (error) {
      throw new UpstreamUnavailableError('The scan results could not be read or written; try again shortly.', { cause: error });
    }
  }
}
