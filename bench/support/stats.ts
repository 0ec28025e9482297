export const KIB = 1024;
export const MIB = 1024 * KIB;
export const GIB = 1024 * MIB;
/** Decimal megabyte: the unit of the memory targets (20 MB, 250 MB), the stricter reading of them. */
export const MB = 1_000_000;
/** Decimal kilobyte: the unit of the bundle-size targets (600 KB, 900 KB). */
export const KB = 1000;

export function median(values: readonly number[]): number {
  if (values.length === 0) throw new RangeError('median of nothing');
  const sorted = [...values].sort((a, b) => a - b);
  const middle = Math.floor(sorted.length / 2);
  return sorted.length % 2 === 1 ? sorted[middle]! : (sorted[middle - 1]! + sorted[middle]!) / 2;
}

export function min(values: readonly number[]): number {
  if (values.length === 0) throw new RangeError('min of nothing');
  return Math.min(...values);
}

/** Throughput in MiB/s of `bytes` handled in `ms` milliseconds. */
export function mibPerSecond(bytes: number, ms: number): number {
  return bytes / MIB / (ms / 1000);
}

/** `268435456` → `256 MiB`, `2147483648` → `2 GiB`. */
export function describeSize(bytes: number): string {
  if (bytes >= GIB && bytes % GIB === 0) return `${bytes / GIB} GiB`;
  if (bytes >= MIB && bytes % MIB === 0) return `${bytes / MIB} MiB`;
  return `${bytes} bytes`;
}
