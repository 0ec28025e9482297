/**
 * A small JSON Schema checker for the keywords the OpenAPI document uses (type, required, properties,
 * items, enum, const, pattern, oneOf, allOf, $ref). Returns the problems found, empty when the value fits.
 */
export function checkSchema(value: unknown, schema: any, root: any, path = '$'): string[] {
  if (schema.$ref) {
    const target = (schema.$ref as string).replace('#/', '').split('/').reduce((node: any, key) => node?.[key], root);
    return checkSchema(value, target, root, path);
  }
  const problems: string[] = [];
  if (schema.allOf) for (const part of schema.allOf) problems.push(...checkSchema(value, part, root, path));
  if (schema.oneOf) {
    const fits = schema.oneOf.filter((part: unknown) => checkSchema(value, part, root, path).length === 0).length;
    if (fits !== 1) problems.push(`${path}: fits ${fits} of oneOf, expected exactly 1`);
  }
  if ('const' in schema && value !== schema.const) problems.push(`${path}: expected ${JSON.stringify(schema.const)}`);
  if (schema.enum && !schema.enum.includes(value)) problems.push(`${path}: ${JSON.stringify(value)} not in enum`);
  switch (schema.type) {
    case 'object': {
      if (typeof value !== 'object' || value === null || Array.isArray(value)) return [...problems, `${path}: not an object`];
      const record = value as Record<string, unknown>;
      for (const key of schema.required ?? []) if (!(key in record)) problems.push(`${path}.${key}: missing`);
      for (const [key, sub] of Object.entries(schema.properties ?? {})) {
        if (key in record) problems.push(...checkSchema(record[key], sub, root, `${path}.${key}`));
      }
      break;
    }
    case 'array':
      if (!Array.isArray(value)) return [...problems, `${path}: not an array`];
      if (schema.items) value.forEach((item, i) => problems.push(...checkSchema(item, schema.items, root, `${path}[${i}]`)));
      break;
    case 'string':
      if (typeof value !== 'string') problems.push(`${path}: not a string`);
      else if (schema.pattern && !new RegExp(schema.pattern).test(value)) problems.push(`${path}: does not match ${schema.pattern}`);
      break;
    case 'integer':
      if (!Number.isInteger(value)) problems.push(`${path}: not an integer`);
      break;
    case 'null':
      if (value !== null) problems.push(`${path}: not null`);
      break;
  }
  return problems;
}
