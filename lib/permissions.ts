import type { Function as LambdaFunction } from 'aws-cdk-lib/aws-lambda';
import type { Permissions } from '../lambdas/http/routes.js';
import type { AnswerBucket } from './answer-bucket.js';
import type { ExportBucket } from './export-bucket.js';
import type { HashTable } from './hash-table.js';
import type { ScansTable } from './scans-table.js';
import type { UploadBucket } from './upload-bucket.js';

/** A kind of permission the route table can give a function: `knownHashes`, `scans`, `uploads`, `answers`, `exports`. */
export type PermissionKind = keyof Permissions;

/** The resources of the stack that route-table permissions refer to. */
export interface PermissionTargets {
  readonly knownHashes: HashTable;
  readonly scans: ScansTable;
  readonly uploads: UploadBucket;
  readonly answers: AnswerBucket;
  readonly exports: ExportBucket;
}

/** Grants one kind of access and sets the variable naming the resource, together. */
type Binder<K extends PermissionKind> = (fn: LambdaFunction, access: NonNullable<Permissions[K]>, targets: PermissionTargets) => void;

/**
 * One binder per kind of permission in the route table. The mapped type turns a new kind in
 * `Permissions` into a compile error here until it has a binder, so no permission is silently dropped.
 */
const BINDERS: { readonly [K in PermissionKind]-?: Binder<K> } = {
  knownHashes: (fn, access, targets) => targets.knownHashes.bindTable(fn, access),
  scans: (fn, access, targets) => targets.scans.bindTable(fn, access),
  uploads: (fn, access, targets) => targets.uploads.bindBucket(fn, access),
  answers: (fn, access, targets) => targets.answers.bindBucket(fn, access),
  exports: (fn, access, targets) => targets.exports.bindBucket(fn, access),
};

/** Grants `fn` exactly what `permissions` lists, and nothing else. */
export function bindPermissions(fn: LambdaFunction, permissions: Permissions, targets: PermissionTargets): void {
  for (const kind of Object.keys(BINDERS) as PermissionKind[]) {
    const access = permissions[kind];
    if (access !== undefined) (BINDERS[kind] as Binder<typeof kind>)(fn, access, targets);
  }
}
