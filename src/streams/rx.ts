import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import type * as Rx from 'rxjs';

/*
 * The rxjs values turnstream uses, taken from rxjs's own one-file bundle of the same release
 * (`dist/bundles/rxjs.umd.js`, not minified: readable stack traces) rather than its package entry, which loads 223 modules: ~90 ms
 * of every start (measured here, compile cache on: 88–126 ms for the entry, 8–24 ms for the
 * bundle), and a restart must be healthy within a second. Types still come from 'rxjs' (erased).
 * Only scheduler-free values are used, so a test's `TestScheduler` (package entry) has nothing in
 * this copy to patch, and Observables of either copy subscribe to each other (plain `subscribe`).
 */
const requireCjs = createRequire(import.meta.url);
const rx = requireCjs(join(dirname(requireCjs.resolve('rxjs')), '..', 'bundles', 'rxjs.umd.js')) as typeof Rx;

export const Observable = rx.Observable;
export type Observable<T> = Rx.Observable<T>;
export const Subject = rx.Subject;
export type Subject<T> = Rx.Subject<T>;
export const { filter, map, pipe, share } = rx;
