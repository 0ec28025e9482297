import type { Function as LambdaFunction } from 'aws-cdk-lib/aws-lambda';
import type { Permissions } from '../lambdas/http/routes.js';
import type { HashTable } from './hash-table.js';

/** A kind of permission the route table can give a function: `knownHashes`, `scans`, `uploads`. */
export type PermissionKind = keyof Permissions;

/** The resources of the stack that route-table permissions refer to; later resources join as they exist. */
export interface PermissionTargets {
  readonly knownHashes: HashTable;
}

interface Binding<K extends PermissionKind> {
  /** Whether the stack has the resource this kind of permission is about. */
  readonly deployed: boolean;
  /** Grants the access and sets the variable naming the resource, together. */
  readonly bind: (fn: LambdaFunction, access: NonNullable<Permissions[K]>, targets: PermissionTargets) => void;
}

const NOT_DEPLOYED: Binding<PermissionKind> = {
  deployed: false,
  bind: () => {
    throw new Error('This stack has no resource for this permission yet.');
  },
};

/**
 * One binding per kind of permission in the route table. The mapped type turns a new kind in
 * `Permissions` into a compile error here until it has a binding, so no permission is silently dropped.
 * The Scans table and the upload bucket are not part of the stack yet: functions that need them are
 * left out of it (see `HashLookupStack`) until their bindings are filled in here.
 */
const BINDINGS: { readonly [K in PermissionKind]-?: Binding<K> } = {
  knownHashes: { deployed: true, bind: (fn, access, targets) => targets.knownHashes.bindTable(fn, access) },
  scans: NOT_DEPLOYED,
  uploads: NOT_DEPLOYED,
};

/** The kinds of permission in `permissions` whose resource the stack does not have. */
export function missingResources(permissions: Permissions): PermissionKind[] {
  return (Object.keys(BINDINGS) as PermissionKind[]).filter((kind) => permissions[kind] !== undefined && !BINDINGS[kind].deployed);
}

/**
 * Grants `fn` exactly what `permissions` lists, and nothing else. Throws, naming them, when a permission
 * refers to a resource the stack does not have.
 */
export function bindPermissions(fn: LambdaFunction, permissions: Permissions, targets: PermissionTargets): void {
  const missing = missingResources(permissions);
  if (missing.length > 0) {
    throw new Error(`${fn.node.path} needs ${missing.join(' and ')} access, but the stack has no such resource yet.`);
  }
  for (const kind of Object.keys(BINDINGS) as PermissionKind[]) {
    const access = permissions[kind];
    if (access !== undefined) (BINDINGS[kind] as Binding<typeof kind>).bind(fn, access, targets);
  }
}
