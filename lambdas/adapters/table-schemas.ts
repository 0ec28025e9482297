/** Key schemas shared by the CDK tables and the local emulator's tables, so the two cannot differ. */
export const KNOWN_HASHES_KEY = 'hash';
export const SCANS_KEY = 'uploadId';
/** The Scans attribute DynamoDB's TTL deletes by (epoch seconds). */
export const SCANS_TTL_ATTRIBUTE = 'expiresAt';
