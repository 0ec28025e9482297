/**
 * Splits a list into consecutive slices of at most `size` items, in order: batches of a bulk request,
 * of a DynamoDB batch call, of files looked up together. Free of Node imports, so the web form uses it too.
 * @throws RangeError when `size` is not a whole number of at least 1.
 */
export function chunk<T>(items: readonly T[], size: number): T[][] {
  if (!Number.isInteger(size) || size < 1) throw new RangeError(`size must be a whole number of at least 1, got ${size}`);
  const slices: T[][] = [];
  for (let start = 0; start < items.length; start += size) slices.push(items.slice(start, start + size));
  return slices;
}
