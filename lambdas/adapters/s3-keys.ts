/**
 * Object keys as S3 event notifications carry them: URL-encoded, with `+` for a space (so a literal `+`
 * arrives as `%2B`). A handler must decode the key before calling GetObject or DeleteObject with it, or
 * any key with a space, a plus or a non-ASCII character is "not found".
 */

/** Turns the key of an S3 event record back into the object key. */
export function decodeS3Key(key: string): string {
  return decodeURIComponent(key.replace(/\+/g, ' '));
}

/**
 * Encodes an object key the way S3 does in event notifications: UTF-8 percent-encoding, a space as `+`,
 * `/` left as it is, and `!'()` escaped too (S3 sends `report (1).pdf` as `report+%281%29.pdf`).
 * The local S3 emulator uses it to give handlers the same records as AWS; {@link decodeS3Key} undoes it.
 */
export function encodeS3Key(key: string): string {
  return encodeURIComponent(key)
    .replace(/%20/g, '+')
    .replace(/%2F/g, '/')
    .replace(/[!'()]/g, (c) => `%${c.charCodeAt(0).toString(16).toUpperCase()}`);
}
