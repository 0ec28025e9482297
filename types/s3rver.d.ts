declare module 's3rver' {
  import type { EventEmitter } from 'node:events';
  import type { IncomingMessage, ServerResponse } from 'node:http';
  import type { AddressInfo } from 'node:net';

  interface S3rverOptions {
    address?: string;
    port?: number;
    silent?: boolean;
    serviceEndpoint?: string;
    directory?: string;
    resetOnClose?: boolean;
    allowMismatchedSignatures?: boolean;
    vhostBuckets?: boolean;
    configureBuckets?: { name: string; configs?: (string | Buffer)[] }[];
  }

  /** The notification s3rver emits as `'event'`: close to S3's, but see `toS3Event` in test/support/s3-local.ts. */
  export interface S3rverEvent {
    Records: {
      eventVersion: string;
      eventSource: string;
      awsRegion: string;
      eventTime: string;
      eventName: string;
      userIdentity: { principalId: string };
      requestParameters: { sourceIPAddress: string };
      responseElements: { 'x-amz-request-id': string; 'x-amz-id-2': string };
      s3: {
        s3SchemaVersion: string;
        configurationId: string;
        bucket: { name: string; ownerIdentity: { principalId: string }; arn: string };
        object: { key: string; sequencer: string; size?: number; eTag?: string };
      };
    }[];
  }

  export default class S3rver extends EventEmitter {
    constructor(options?: S3rverOptions);
    run(): Promise<AddressInfo>;
    close(): Promise<void>;
    configureBuckets(): Promise<void>;
    callback(): (req: IncomingMessage, res: ServerResponse) => void;
    reset(): void;
    on(event: 'event', listener: (event: S3rverEvent) => void): this;
    on(event: string | symbol, listener: (...args: any[]) => void): this;
  }
}
