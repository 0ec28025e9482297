/**
 * A small JSON Schema checker for the keywords the OpenAPI document uses (type, required, properties,
 * additionalProperties, items, enum, const, pattern, minimum, maximum, minLength, maxLength, minItems,
 * maxItems, anyOf, oneOf, allOf, $ref). Returns the problems found, empty when the value fits. A field the
 * document does not name is a problem wherever the object is closed (`additionalProperties: false`).
 */
export function checkSchema(value: unknown, schema: any, root: any, path = '$'): string[] {
  if (schema.$ref) {
    const target = (schema.$ref as string).replace('#/', '').split('/').reduce((node: any, key) => node?.[key], root);
    if (target === undefined) return [`${path}: ${schema.$ref} is not in the document`];
    return checkSchema(value, target, root, path);
  }
  const problems: string[] = [];
  if (schema.allOf) for (const part of schema.allOf) problems.push(...checkSchema(value, part, root, path));
  if (schema.oneOf) {
    const fits = schema.oneOf.filter((part: unknown) => checkSchema(value, part, root, path).length === 0).length;
    if (fits !== 1) problems.push(`${path}: fits ${fits} of oneOf, expected exactly 1`);
  }
  if (schema.anyOf) {
    const tried = schema.anyOf.map((part: unknown) => checkSchema(value, part, root, path));
    if (!tried.some((found: string[]) => found.length === 0)) {
      problems.push(`${path}: fits none of anyOf (${tried.map((found: string[]) => found.join(', ')).join(' | ')})`);
    }
  }
  if ('const' in schema && value !== schema.const) problems.push(`${path}: expected ${JSON.stringify(schema.const)}`);
  if (schema.enum && !schema.enum.includes(value)) problems.push(`${path}: ${JSON.stringify(value)} not in enum`);
  switch (schema.type) {
    case 'object': {
      if (typeof value !== 'object' || value === null || Array.isArray(value)) return [...problems, `${path}: not an object`];
      const record = value as Record<string, unknown>;
      const properties: Record<string, unknown> = schema.properties ?? {};
      for (const key of schema.required ?? []) if (!(key in record)) problems.push(`${path}.${key}: missing`);
      for (const [key, item] of Object.entries(record)) {
        if (key in properties) problems.push(...checkSchema(item, properties[key], root, `${path}.${key}`));
        else if (schema.additionalProperties === false) problems.push(`${path}.${key}: not in the document`);
        else if (typeof schema.additionalProperties === 'object') {
          problems.push(...checkSchema(item, schema.additionalProperties, root, `${path}.${key}`));
        }
      }
      break;
    }
    case 'array':
      if (!Array.isArray(value)) return [...problems, `${path}: not an array`];
      if (schema.minItems !== undefined && value.length < schema.minItems) problems.push(`${path}: fewer than ${schema.minItems} items`);
      if (schema.maxItems !== undefined && value.length > schema.maxItems) problems.push(`${path}: more than ${schema.maxItems} items`);
      if (schema.items) value.forEach((item, i) => problems.push(...checkSchema(item, schema.items, root, `${path}[${i}]`)));
      break;
    case 'string':
      if (typeof value !== 'string') problems.push(`${path}: not a string`);
      else {
        if (schema.pattern && !new RegExp(schema.pattern).test(value)) problems.push(`${path}: does not match ${schema.pattern}`);
        if (schema.minLength !== undefined && value.length < schema.minLength) problems.push(`${path}: shorter than ${schema.minLength}`);
        if (schema.maxLength !== undefined && value.length > schema.maxLength) problems.push(`${path}: longer than ${schema.maxLength}`);
      }
      break;
    case 'integer':
    case 'number':
      if (schema.type === 'integer' ? !Number.isInteger(value) : typeof value !== 'number') problems.push(`${path}: not an ${schema.type}`);
      else {
        if (schema.minimum !== undefined && (value as number) < schema.minimum) problems.push(`${path}: below ${schema.minimum}`);
        if (schema.maximum !== undefined && (value as number) > schema.maximum) problems.push(`${path}: above ${schema.maximum}`);
      }
      break;
    case 'boolean':
      if (typeof value !== 'boolean') problems.push(`${path}: not a boolean`);
      break;
    case 'null':
      if (value !== null) problems.push(`${path}: not null`);
      break;
  }
  return problems;
}
