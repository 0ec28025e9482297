/**
 * The parts of an Apple disk image (UDIF, as `hdiutil` writes it) that follow its data fork: the `mish` block
 * table in an XML property list (`resource-fork` → `blkx`), then the 512-byte `koly` trailer. The tests'
 * `udifOf` and the benchmarks' streaming writer both end their images with it.
 */

export const UDIF_SECTOR = 512;
/** Sectors per compressed chunk, as `hdiutil` chunks a volume. */
export const UDIF_CHUNK_SECTORS = 2048;
/** A chunk of the data fork compressed with zlib. */
export const UDIF_ZLIB = 0x80000005;

/** One chunk of the data fork: where its sectors are in the volume and its bytes in the data fork. */
export interface UdifBlock {
  readonly type: number;
  readonly sector: number;
  readonly count: number;
  readonly offset: number;
  readonly length: number;
}

/**
 * The property list and trailer of an image whose data fork (`dataForkLength` bytes) holds `blocks`, for a
 * volume of `sectors` sectors; the block table's terminator is added here.
 */
export function udifTail(blocks: readonly UdifBlock[], sectors: number, dataForkLength: number, partitionName: string): Buffer {
  const entries = [...blocks, { type: 0xffffffff, sector: sectors, count: 0, offset: dataForkLength, length: 0 }];
  const mish = Buffer.alloc(204 + 40 * entries.length);
  mish.write('mish', 0, 'latin1');
  mish.writeUInt32BE(1, 4); // version
  mish.writeBigUInt64BE(0n, 8); // first sector
  mish.writeBigUInt64BE(BigInt(sectors), 16); // sector count
  mish.writeBigUInt64BE(0n, 24); // data offset
  mish.writeUInt32BE(UDIF_CHUNK_SECTORS, 32); // buffers needed
  mish.writeUInt32BE(0, 36); // block descriptors
  // 24 reserved bytes, then the checksum (type 0: none) of 136 bytes.
  mish.writeUInt32BE(entries.length, 200);
  entries.forEach((entry, i) => {
    const at = 204 + 40 * i;
    mish.writeUInt32BE(entry.type, at);
    mish.writeUInt32BE(0, at + 4);
    mish.writeBigUInt64BE(BigInt(entry.sector), at + 8);
    mish.writeBigUInt64BE(BigInt(entry.count), at + 16);
    mish.writeBigUInt64BE(BigInt(entry.offset), at + 24);
    mish.writeBigUInt64BE(BigInt(entry.length), at + 32);
  });
  const xml = Buffer.from(
    [
      '<?xml version="1.0" encoding="UTF-8"?>',
      '<!DOCTYPE plist PUBLIC "-//Apple//DTD PLIST 1.0//EN" "http://www.apple.com/DTDs/PropertyList-1.0.dtd">',
      '<plist version="1.0">',
      '<dict>',
      '\t<key>resource-fork</key>',
      '\t<dict>',
      '\t\t<key>blkx</key>',
      '\t\t<array>',
      '\t\t\t<dict>',
      '\t\t\t\t<key>Attributes</key>',
      '\t\t\t\t<string>0x0050</string>',
      '\t\t\t\t<key>CFName</key>',
      `\t\t\t\t<string>${partitionName}</string>`,
      '\t\t\t\t<key>Data</key>',
      `\t\t\t\t<data>${mish.toString('base64')}</data>`,
      '\t\t\t\t<key>ID</key>',
      '\t\t\t\t<string>0</string>',
      '\t\t\t\t<key>Name</key>',
      `\t\t\t\t<string>${partitionName}</string>`,
      '\t\t\t</dict>',
      '\t\t</array>',
      '\t</dict>',
      '</dict>',
      '</plist>',
      '',
    ].join('\n'),
  );

  const koly = Buffer.alloc(512);
  koly.write('koly', 0, 'latin1');
  koly.writeUInt32BE(4, 4); // version
  koly.writeUInt32BE(512, 8); // header size
  koly.writeUInt32BE(1, 12); // flags: flattened
  koly.writeBigUInt64BE(0n, 16); // running data fork offset
  koly.writeBigUInt64BE(0n, 24); // data fork offset
  koly.writeBigUInt64BE(BigInt(dataForkLength), 32); // data fork length
  koly.writeBigUInt64BE(0n, 40); // resource fork offset
  koly.writeBigUInt64BE(0n, 48); // resource fork length
  koly.writeUInt32BE(1, 56); // segment number
  koly.writeUInt32BE(1, 60); // segment count
  // 16-byte segment id, then the data fork checksum (type 0: none) of 136 bytes, from 64 to 216.
  koly.writeBigUInt64BE(BigInt(dataForkLength), 216); // XML offset
  koly.writeBigUInt64BE(BigInt(xml.length), 224); // XML length
  // 120 reserved bytes, then the master checksum (none) of 136 bytes, from 232 to 488.
  koly.writeUInt32BE(1, 488); // image variant: device image
  koly.writeBigUInt64BE(BigInt(sectors), 492); // sector count
  return Buffer.concat([xml, koly]);
}
