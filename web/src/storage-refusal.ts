/**
 * Storage's answer to a refused upload, in plain words: S3's XML deployed, the service's JSON error on the
 * single-machine server's own upload URL. No DOM here, so it is tested on its own.
 */

/** A refusal as the storage wrote it: S3's `<Error><Code>…<Message>…`, or `{"error":{"code","message"}}`. */
export interface StorageRefusal {
  readonly code?: string;
  readonly message?: string;
}

/** Reads a refusal from either shape; nothing when the body is neither. */
export function readStorageRefusal(body: string): StorageRefusal {
  const xmlCode = /<Code>([^<]+)<\/Code>/.exec(body)?.[1];
  if (xmlCode !== undefined) return { code: xmlCode, message: unescapeXml(/<Message>([^<]*)<\/Message>/.exec(body)?.[1]) };
  try {
    const error = (JSON.parse(body) as { error?: { code?: unknown; message?: unknown } } | null)?.error;
    return {
      code: typeof error?.code === 'string' ? error.code : undefined,
      message: typeof error?.message === 'string' ? error.message : undefined,
    };
  } catch {
    return {};
  }
}

function unescapeXml(text: string | undefined): string | undefined {
  const entities: Record<string, string> = { '&lt;': '<', '&gt;': '>', '&quot;': '"', '&apos;': "'", '&amp;': '&' };
  return text?.replace(/&(lt|gt|quot|apos|amp);/g, (entity) => entities[entity]!);
}

/** What the page says when storage refuses the file: a size, an expired link, or the storage's own words. */
export function describeStorageRefusal(
  status: number,
  body: string,
): { kind: 'too-large' | 'rejected' | 'unavailable'; message: string } {
  const { code, message } = readStorageRefusal(body);
  if (code === 'EntityTooLarge' || code === 'payload_too_large') {
    return { kind: 'too-large', message: 'The file is larger than announced; it may have changed while it was being sent. Try again.' };
  }
  if ((code === 'AccessDenied' || code === 'unauthorized') && /expired/i.test(message ?? body)) {
    return { kind: 'rejected', message: 'The upload link expired before the file was sent. Try again.' };
  }
  if (status >= 500) return { kind: 'unavailable', message: 'Storage is unavailable right now. Try again in a moment.' };
  const said = message?.trim() ? `: ${message.trim().replace(/[.\s]*$/, '')}.` : code ? ` (${code}).` : '.';
  return { kind: 'rejected', message: `Storage refused the file${said} Try again.` };
}
