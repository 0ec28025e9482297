/** Number and size formatting shared by the result views. Pure. */

const GROUPED = new Intl.NumberFormat('en');

/** `1,000`. */
export function formatCount(n: number): string {
  return GROUPED.format(n);
}

/** `68 bytes`, `4.0 MiB (4,194,304 bytes)`: the exact count stays visible, since sizes identify files too. */
export function formatBytes(bytes: number): string {
  if (bytes === 1) return '1 byte';
  if (bytes < 1024) return `${formatCount(bytes)} bytes`;
  const units = ['KiB', 'MiB', 'GiB', 'TiB'];
  let value = bytes / 1024;
  let unit = 0;
  while (value >= 1024 && unit < units.length - 1) {
    value /= 1024;
    unit += 1;
  }
  return `${value.toFixed(1)} ${units[unit]} (${formatCount(bytes)} bytes)`;
}

/** Whether a source string is a web link worth making clickable; anything else is shown as text. */
export function isWebUrl(value: string): boolean {
  try {
    const url = new URL(value);
    return url.protocol === 'https:' || url.protocol === 'http:';
  } catch {
    return false;
  }
}
