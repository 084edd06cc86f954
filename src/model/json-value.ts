/** Any value JSON can hold: what a `state.set` carries and the state store keeps. */
export type JsonValue = null | boolean | number | string | JsonValue[] | { [key: string]: JsonValue };
