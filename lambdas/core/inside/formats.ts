/**
 * Which files are containers, decided by their bytes alone (never by their names): the magic numbers at
 * the start, the ISO 9660 volume descriptor at 32 KiB and the UDIF `koly` trailer at the end of a disk image.
 */

export const CONTAINER_FORMATS = ['zip', '7z', 'rar', 'gzip', 'bzip2', 'xz', 'zstd', 'tar', 'cab', 'ole', 'iso', 'dmg', 'xar', 'fat', 'hfs', 'apfs'] as const;
export type ContainerFormat = (typeof CONTAINER_FORMATS)[number];

/** How many bytes from the start {@link containerFormat} needs: up to the ISO 9660 descriptor's `CD001`. */
export const HEAD_BYTES = 0x8001 + 5;
/** How many bytes from the end it needs: the UDIF trailer. */
export const TAIL_BYTES = 512;

const MAGIC: readonly (readonly [ContainerFormat, number, readonly number[]])[] = [
  ['zip', 0, [0x50, 0x4b, 0x03, 0x04]],
  ['zip', 0, [0x50, 0x4b, 0x05, 0x06]],
  ['7z', 0, [0x37, 0x7a, 0xbc, 0xaf, 0x27, 0x1c]],
  ['rar', 0, [0x52, 0x61, 0x72, 0x21, 0x1a, 0x07]],
  ['gzip', 0, [0x1f, 0x8b, 0x08]],
  ['xz', 0, [0xfd, 0x37, 0x7a, 0x58, 0x5a, 0x00]],
  ['zstd', 0, [0x28, 0xb5, 0x2f, 0xfd]],
  ['cab', 0, [0x4d, 0x53, 0x43, 0x46, 0, 0, 0, 0]],
  ['ole', 0, [0xd0, 0xcf, 0x11, 0xe0, 0xa1, 0xb1, 0x1a, 0xe1]],
  ['xar', 0, [0x78, 0x61, 0x72, 0x21]],
  ['tar', 257, [0x75, 0x73, 0x74, 0x61, 0x72]],
  ['iso', 0x8001, [0x43, 0x44, 0x30, 0x30, 0x31]],
  // Volumes, as a disk image's partitions are extracted: HFS+ (`H+`) or HFSX (`HX`) at 1 KiB, APFS's container superblock.
  ['hfs', 1024, [0x48, 0x2b, 0x00, 0x04]],
  ['hfs', 1024, [0x48, 0x58, 0x00, 0x05]],
  ['apfs', 32, [0x4e, 0x58, 0x53, 0x42]],
];

function startsWith(bytes: Uint8Array, offset: number, magic: readonly number[]): boolean {
  if (bytes.length < offset + magic.length) return false;
  return magic.every((byte, i) => bytes[offset + i] === byte);
}

/**
 * The container format of a file, or `null` when it is none this service opens.
 * @param head the file's first {@link HEAD_BYTES} bytes (fewer when the file is shorter)
 * @param tail the file's last {@link TAIL_BYTES} bytes (fewer when the file is shorter)
 */
export function containerFormat(head: Uint8Array, tail: Uint8Array): ContainerFormat | null {
  for (const [format, offset, magic] of MAGIC) if (startsWith(head, offset, magic)) return format;
  // bzip2: `BZh` and the block size digit.
  if (startsWith(head, 0, [0x42, 0x5a, 0x68]) && head.length > 3 && head[3]! >= 0x31 && head[3]! <= 0x39) return 'bzip2';
  if (tail.length === TAIL_BYTES && startsWith(tail, 0, [0x6b, 0x6f, 0x6c, 0x79])) return 'dmg';
  // A FAT boot sector: a jump, the 0x55AA signature, and the file system type where FAT12/16 or FAT32 keep it.
  if ((head[0] === 0xeb || head[0] === 0xe9) && head[510] === 0x55 && head[511] === 0xaa) {
    if (startsWith(head, 54, [0x46, 0x41, 0x54]) || startsWith(head, 82, [0x46, 0x41, 0x54])) return 'fat';
  }
  return null;
}
