import { fileURLToPath } from 'node:url';

/**
 * The project root (the folder holding `package.json` and `package-lock.json`). Entry paths in the route
 * table are relative to it, and bundling resolves from it, so synthesis does not depend on the working
 * directory.
 */
export const PROJECT_ROOT = fileURLToPath(new URL('..', import.meta.url));
