/**
 * Types over the generated schema (schema.d.ts, `make client-types`): a path and a method give
 * the body the server takes and the body it answers. A change to the API that breaks a caller
 * fails `tsc`, which `make test-client` runs.
 */
import type { paths } from "./schema.js";

export type { components, paths } from "./schema.js";

export type Method = "get" | "post" | "put" | "patch" | "delete";

type Operation<P extends keyof paths, M extends Method> = paths[P] extends { [K in M]: infer O }
  ? O extends { responses: unknown }
    ? O
    : never
  : never;

/** The paths that have this method. */
export type PathsWith<M extends Method> = {
  [P in keyof paths]: Operation<P, M> extends never ? never : P;
}[keyof paths];

type JsonContent<T> = T extends { content: { "application/json": infer B } } ? B : undefined;

/** The JSON body of a success (2xx) answer; undefined for 204. */
export type ResponseBody<P extends keyof paths, M extends Method> =
  Operation<P, M> extends { responses: infer R }
    ? { [S in keyof R]: S extends 200 | 201 | 202 | 204 ? JsonContent<R[S]> : never }[keyof R]
    : never;

/** The JSON body the operation takes (never for one without a body). */
export type RequestBody<P extends keyof paths, M extends Method> =
  Operation<P, M> extends { requestBody?: { content: { "application/json": infer B } } } ? B : never;

export type PathParams<P extends keyof paths, M extends Method> =
  Operation<P, M> extends { parameters: { path: infer A } } ? A : never;

export type QueryParams<P extends keyof paths, M extends Method> =
  Operation<P, M> extends { parameters: { query?: infer Q } } ? Q : never;

export interface CallOptions<P extends keyof paths, M extends Method> {
  path?: PathParams<P, M> extends never ? undefined : PathParams<P, M>;
  query?: QueryParams<P, M>;
  body?: RequestBody<P, M>;
}
