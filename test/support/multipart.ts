import { randomBytes } from 'node:crypto';

/** A multipart/form-data body built by hand, so tests can also cut it short or break it. */
export function multipartBody(parts: { field: string; fileName?: string; content: Buffer | string; type?: string }[]) {
  const boundary = `----hashcheck${randomBytes(8).toString('hex')}`;
  const chunks: Buffer[] = [];
  for (const part of parts) {
    const isFile = part.fileName !== undefined;
    const disposition = `form-data; name="${part.field}"${isFile ? `; filename="${part.fileName}"` : ''}`;
    // Browsers send plain form fields without a Content-Type; file parts carry one.
    const type = isFile ? `\r\nContent-Type: ${part.type ?? 'application/octet-stream'}` : '';
    chunks.push(
      Buffer.from(`--${boundary}\r\nContent-Disposition: ${disposition}${type}\r\n\r\n`),
      Buffer.from(part.content),
      Buffer.from('\r\n'),
    );
  }
  chunks.push(Buffer.from(`--${boundary}--\r\n`));
  return { body: Buffer.concat(chunks), contentType: `multipart/form-data; boundary=${boundary}` };
}
