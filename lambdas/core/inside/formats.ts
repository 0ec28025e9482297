/**
 * Which files are containers, decided by their bytes alone (never by their names): the magic numbers at
 * the start, the ISO 9660 volume descriptor at 32 KiB and the UDIF `koly` trailer at the end of a disk image.
 * `pbzx` is the chunked XZ stream newer macOS flat packages (xar) carry as a component's `Payload`.
 */

export const CONTAINER_FORMATS = ['zip', '7z', 'rar', 'gzip', 'bzip2', 'xz', 'zstd', 'tar', 'cpio', 'cab', 'ole', 'iso', 'dmg', 'xar', 'pbzx', 'fat', 'hfs', 'apfs'] as const;
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
  // `pbzx`, then the 64-bit big-endian chunk size (16 MiB in Apple's packages): its high bytes are zeros.
  ['pbzx', 0, [0x70, 0x62, 0x7a, 0x78, 0x00, 0x00, 0x00, 0x00]],
  ['tar', 257, [0x75, 0x73, 0x74, 0x61, 0x72]],
  ['iso', 0x8001, [0x43, 0x44, 0x30, 0x30, 0x31]],
  // A UDF disc with no ISO 9660 part starts its volume recognition sequence with `BEA01` where ISO 9660 has `CD001`.
  ['iso', 0x8001, [0x42, 0x45, 0x41, 0x30, 0x31]],
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
  if (isCpio(head)) return 'cpio';
  // bzip2: `BZh` and the block size digit.
  if (startsWith(head, 0, [0x42, 0x5a, 0x68]) && head.length > 3 && head[3]! >= 0x31 && head[3]! <= 0x39) return 'bzip2';
  if (tail.length === TAIL_BYTES && startsWith(tail, 0, [0x6b, 0x6f, 0x6c, 0x79])) return 'dmg';
  // A FAT boot sector: a jump, the 0x55AA signature, and the file system type where FAT12/16 or FAT32 keep it.
  if ((head[0] === 0xeb || head[0] === 0xe9) && head[510] === 0x55 && head[511] === 0xaa) {
    if (startsWith(head, 54, [0x46, 0x41, 0x54]) || startsWith(head, 82, [0x46, 0x41, 0x54])) return 'fat';
  }
  return null;
}

/** The sizes of a cpio entry's header: old binary, portable ASCII (`odc`, octal), new ASCII (`newc`/`crc`, hex). */
const CPIO_BINARY_HEADER = 26;
const CPIO_ODC_HEADER = 76;
const CPIO_NEWC_HEADER = 110;
/** The longest name (with its NUL) 7-Zip reads in a cpio header. */
const CPIO_MAX_NAME = 4096;

/**
 * Whether a file starts with a cpio entry, checked as 7-Zip's cpio handler checks it before opening one
 * (`IsArc_Cpio`): the magic of one of the four variants — `070707` (odc), `070701` (newc), `070702` (newc
 * with checksums), or 0x71C7 as a 16-bit number in either byte order (old binary) — a header of digits,
 * a mode that fits 16 bits, a device number only on a device, and a NUL-terminated name of at most 4 KiB
 * right after the header. The two-byte binary magic alone would match one file in 65,536.
 */
function isCpio(head: Uint8Array): boolean {
  if (head.length < CPIO_BINARY_HEADER) return false;
  let namePos: number;
  let nameSize: number;
  let mode: number;
  let rdev: number;
  const ascii = (from: number, length: number) => String.fromCharCode(...head.subarray(from, from + length));
  if (startsWith(head, 0, [0x30, 0x37, 0x30, 0x37, 0x30, 0x37])) {
    if (head.length < CPIO_ODC_HEADER || !/^[0-7]+$/.test(ascii(6, CPIO_ODC_HEADER - 6))) return false;
    const octal = (from: number, length: number) => Number.parseInt(ascii(from, length), 8);
    mode = octal(18, 6);
    rdev = octal(42, 6);
    nameSize = octal(59, 6);
    namePos = CPIO_ODC_HEADER;
  } else if (startsWith(head, 0, [0x30, 0x37, 0x30, 0x37, 0x30, 0x31]) || startsWith(head, 0, [0x30, 0x37, 0x30, 0x37, 0x30, 0x32])) {
    if (head.length < CPIO_NEWC_HEADER || !/^[0-9A-Fa-f]+$/.test(ascii(6, CPIO_NEWC_HEADER - 6))) return false;
    const hex = (field: number) => Number.parseInt(ascii(6 + field * 8, 8), 16);
    mode = hex(1);
    rdev = hex(9) + hex(10);
    nameSize = hex(11);
    namePos = CPIO_NEWC_HEADER;
  } else if ((head[0] === 0xc7 && head[1] === 0x71) || (head[0] === 0x71 && head[1] === 0xc7)) {
    const view = new DataView(head.buffer, head.byteOffset, head.byteLength);
    const littleEndian = head[0] === 0xc7;
    mode = view.getUint16(6, littleEndian);
    rdev = view.getUint16(14, littleEndian);
    nameSize = view.getUint16(20, littleEndian);
    namePos = CPIO_BINARY_HEADER;
  } else {
    return false;
  }
  if (mode >= 0x10000) return false;
  const type = mode & 0o170000;
  if (rdev !== 0 && type !== 0o020000 && type !== 0o060000) return false;
  if (nameSize === 0 || nameSize > CPIO_MAX_NAME) return false;
  const end = namePos + nameSize - 1;
  if (end < head.length && head[end] !== 0) return false;
  for (let i = namePos; i < Math.min(end, head.length); i++) if (head[i] === 0) return false;
  return true;
}
