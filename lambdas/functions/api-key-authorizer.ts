/** The Lambda function's entry: the handler bound, at cold start, to what the function's environment names. */
import { makeApiKeyAuthorizer } from '../handlers/api-key-authorizer.js';


export const handler = makeApiKeyAuthorizer();
