import type { APIGatewayProxyEvent } from 'aws-lambda';
import { putRecord, revokeRecord, type Actor } from '../core/admin.js';
import { InvalidRequestError } from '../core/errors.js';
import { importRecords, type RecordStore } from '../core/import.js';
import { parseImport } from '../core/import-formats.js';
import { parseHash } from '../core/hashes.js';
import { LARGE_TEXT_BODY_BYTES, RECORD_BODY_BYTES } from '../core/limits.js';
import { IMPORT_FORMATS, importFormatSchema, recordBodySchema, revokeBodySchema } from '../core/schemas.js';
import { makeHttpHandler, type Log } from '../http/handler.js';
import { bodyText, checkInput, jsonBody, jsonValue, mediaType, requireMediaType } from '../http/request.js';

/** Media types an import body may have: every format is text, and clients label them in many ways. */
const IMPORT_TYPES = ['application/json', 'application/stix+json', 'application/x-ndjson', 'text/csv', 'text/plain'] as const;

/** Who made the change: the IAM principal in AWS, the admin key holder locally. */
function actorOf(event: APIGatewayProxyEvent): Actor {
  const identity = event.requestContext?.identity;
  return { id: identity?.userArn ?? identity?.caller ?? 'local administrator' };
}

function query(event: APIGatewayProxyEvent, name: string): string | undefined {
  const value = event.queryStringParameters?.[name]?.trim();
  return value ? value : undefined;
}

/** `PUT`/`DELETE /v1/admin/hashes/{hash}` and `POST /v1/admin/imports`: the only routes that change the list. */
export function makeAdminHandler(deps: { store: RecordStore; now: () => Date; log: Log }) {
  return makeHttpHandler(
    {
      'PUT /v1/admin/hashes/{hash}': async (event) => {
        requireMediaType(event, ['application/json']);
        const raw = jsonValue(event, RECORD_BODY_BYTES);
        const hash = parseHash(event.pathParameters?.['hash'] ?? '');
        const result = await putRecord(hash, checkInput(recordBodySchema, raw, 'The record is not valid'), deps);
        deps.log.info('record written', { outcome: result.outcome, actor: actorOf(event).id });
        return { statusCode: result.outcome === 'added' ? 201 : 200, json: result };
      },
      'DELETE /v1/admin/hashes/{hash}': async (event) => {
        const reason = mediaType(event) === 'application/json' ? jsonBody(event, revokeBodySchema, RECORD_BODY_BYTES).reason : query(event, 'reason');
        if (reason === undefined) throw new InvalidRequestError('Say why the record is revoked: a JSON body {"reason": "…"} or ?reason=.');
        const actor = actorOf(event);
        const result = await revokeRecord(parseHash(event.pathParameters?.['hash'] ?? ''), reason, actor, deps);
        deps.log.info('record revoked', { outcome: result.outcome, actor: actor.id });
        return { statusCode: 200, json: result };
      },
      'POST /v1/admin/imports': async (event) => {
        requireMediaType(event, IMPORT_TYPES);
        const named = query(event, 'format');
        const format = named === undefined ? undefined : importFormatSchema.safeParse(named).data;
        if (named !== undefined && format === undefined) {
          throw new InvalidRequestError(`Unknown format '${named}': use one of ${IMPORT_FORMATS.join(', ')}, or leave it out to detect it.`);
        }
        const text = bodyText(event, LARGE_TEXT_BODY_BYTES);
        // Looked for without trimming: a copy of a body of megabytes, made to be thrown away, is not free.
        if (!/\S/.test(text)) throw new InvalidRequestError('The import is empty.');
        const parsed = parseImport(text, {
          ...(format && { format }),
          defaults: {
            ...(query(event, 'campaign') && { campaign: query(event, 'campaign') }),
            ...(query(event, 'source') && { source: query(event, 'source') }),
            ...(query(event, 'kind') && { kind: query(event, 'kind') }),
            ...(query(event, 'platform') && { platform: query(event, 'platform') }),
            ...(query(event, 'confidence') && { confidence: query(event, 'confidence') }),
          },
        });
        const report = await importRecords(parsed.records, deps);
        deps.log.info('import done', { format: parsed.format, ...report, rejected: parsed.rejected.length, actor: actorOf(event).id });
        return {
          statusCode: 200,
          json: { format: parsed.format, ...report, total: report.total + parsed.rejected.length, rejected: parsed.rejected },
        };
      },
    },
    deps,
  );
}
