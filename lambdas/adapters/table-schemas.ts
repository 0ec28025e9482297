/** Key schemas shared by the CDK tables and the local emulator's tables, so the two cannot differ. */
export const KNOWN_HASHES_KEY = 'hash';
