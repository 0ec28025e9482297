import { InvalidRequestError, PayloadTooLargeError } from '../core/errors.js';
import { parseHash, parseHashLines, parseHashList } from '../core/hashes.js';
import { LARGE_TEXT_BODY_BYTES, MAX_BULK_HASHES } from '../core/limits.js';
import { lookupHashList, lookupHashes, type HashStore } from '../core/lookup.js';
import { bulkLookupBodySchema, bulkLookupQuerySchema } from '../core/schemas.js';
import { makeHttpHandler, type LargeAnswerStore, type Log } from '../http/handler.js';
import { checkInput, jsonBody, bodyText, requireMediaType } from '../http/request.js';

/** `GET /v1/hashes/{hash}` and `POST /v1/hashes/lookup` (1 to 10,000 hashes; an empty list is a 400). */
export function makeLookupHandler(deps: { store: HashStore; log: Log; largeAnswers?: LargeAnswerStore }) {
  return makeHttpHandler(
    {
      'GET /v1/hashes/{hash}': async (event) => {
        const [verdict] = await lookupHashes([parseHash(event.pathParameters?.['hash'] ?? '')], deps);
        return { statusCode: 200, json: verdict };
      },
      'POST /v1/hashes/lookup': async (event) => {
        const { only } = checkInput(bulkLookupQuerySchema, event.queryStringParameters ?? {}, 'The query does not have the expected shape');
        const type = requireMediaType(event, ['application/json', 'text/plain']);
        const inputs =
          type === 'application/json'
            ? parseHashList(jsonBody(event, bulkLookupBodySchema, LARGE_TEXT_BODY_BYTES).hashes)
            : parseHashLines(bodyText(event, LARGE_TEXT_BODY_BYTES));
        // An empty list is a caller's mistake (an export that came out empty), never "nothing known-bad".
        if (inputs.length === 0) {
          throw new InvalidRequestError(
            type === 'application/json'
              ? 'The list holds no hash: send {"hashes":[…]} with at least one.'
              : 'The list holds no hash: send at least one, one per line (blank lines and lines starting with # are skipped).',
          );
        }
        if (inputs.length > MAX_BULK_HASHES) {
          throw new PayloadTooLargeError(
            `${inputs.length} hashes sent; the limit is ${MAX_BULK_HASHES} per request. Split the list into batches.`,
            { details: { limit: MAX_BULK_HASHES } },
          );
        }
        const answer = await lookupHashList(inputs, deps);
        if (only === 'malicious') answer.results = answer.results.filter((result) => !('verdict' in result) || result.verdict !== 'unknown');
        return { statusCode: 200, json: answer };
      },
    },
    deps,
  );
}
