import { chmod, mkdir, stat } from 'node:fs/promises';
import { resolve } from 'node:path';

/** Permissions of the data folder: its owner alone may list, read or enter it. */
export const PRIVATE_FOLDER_MODE = 0o700;
/** Permissions of every file the service keeps in the data folder. */
export const PRIVATE_FILE_MODE = 0o600;

/** A data folder the service cannot make private: it holds the list, scans and uploaded files. */
export class DataFolderError extends Error {
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'DataFolderError';
  }
}

/**
 * Creates `dir` (and its parents) private to the user running the service, or makes an existing one private:
 * a folder others could read or enter is tightened to 0700 rather than used as it is. A folder owned by
 * another user, or one that cannot be tightened, is refused, since the uploads kept there are confidential.
 * @returns the absolute path of the folder.
 * @throws DataFolderError naming the folder and what to do.
 */
export async function preparePrivateFolder(dir: string): Promise<string> {
  const path = resolve(dir);
  try {
    await mkdir(path, { recursive: true, mode: PRIVATE_FOLDER_MODE });
  } catch (error) {
    throw new DataFolderError(`The data folder ${path} could not be created (${(error as Error).message}); choose another with HASHCHECK_DATA_DIR.`, {
      cause: error,
    });
  }
  const info = await stat(path);
  if (!info.isDirectory()) {
    throw new DataFolderError(`The data folder ${path} is not a folder; choose another with HASHCHECK_DATA_DIR.`);
  }
  const uid = process.getuid?.();
  if (uid !== undefined && info.uid !== uid) {
    throw new DataFolderError(
      `The data folder ${path} belongs to another user (uid ${info.uid}); run hashcheck as that user, or choose a folder of your own with HASHCHECK_DATA_DIR.`,
    );
  }
  if ((info.mode & 0o777) !== PRIVATE_FOLDER_MODE) {
    try {
      await chmod(path, PRIVATE_FOLDER_MODE);
    } catch (error) {
      throw new DataFolderError(
        `The data folder ${path} is open to other users and could not be made private (${(error as Error).message}); run chmod 700 on it, or choose another with HASHCHECK_DATA_DIR.`,
        { cause: error },
      );
    }
  }
  return path;
}

/** Makes the files at `paths` readable and writable by their owner alone. */
export async function makeFilesPrivate(paths: readonly string[]): Promise<void> {
  await Promise.all(paths.map((path) => chmod(path, PRIVATE_FILE_MODE)));
}
