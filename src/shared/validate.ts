/**
 * A tiny runtime validator: each schema is a type guard, and `Infer` turns a schema into its static type, so the
 * protocol's types and its checks come from one definition. No `any`: a value is `unknown` until a guard accepts it.
 */
export type Guard<T> = (value: unknown) => value is T;
export type Infer<G> = G extends Guard<infer T> ? T : never;

export const str: Guard<string> = (v): v is string => typeof v === "string";
export const bool: Guard<boolean> = (v): v is boolean => typeof v === "boolean";
export const num: Guard<number> = (v): v is number => typeof v === "number" && Number.isFinite(v);

export function literal<const L extends readonly (string | number | boolean)[]>(...values: L): Guard<L[number]> {
    return (v): v is L[number] => values.some((x) => x === v);
}

export function nullable<T>(inner: Guard<T>): Guard<T | null> {
    return (v): v is T | null => v === null || inner(v);
}

export function arrayOf<T>(inner: Guard<T>, maxLength = 10_000): Guard<T[]> {
    return (v): v is T[] => Array.isArray(v) && v.length <= maxLength && v.every((x) => inner(x));
}

/** Marks a field that may be missing (`undefined`). */
export interface Optional<T> {
    optional: Guard<T>;
}

export function optional<T>(inner: Guard<T>): Optional<T> {
    return {optional: inner};
}

type Shape = Record<string, Guard<unknown> | Optional<unknown>>;
type Required<S extends Shape> = {[K in keyof S as S[K] extends Guard<unknown> ? K : never]: S[K] extends Guard<infer T> ? T : never};
type Maybe<S extends Shape> = {[K in keyof S as S[K] extends Optional<unknown> ? K : never]?: S[K] extends Optional<infer T> ? T : never};
type Flatten<T> = {[K in keyof T]: T[K]};
export type ObjectOf<S extends Shape> = Flatten<Required<S> & Maybe<S>>;

/** An object with exactly these fields (extra fields are refused, so a typo in a sender cannot pass silently). */
export function object<S extends Shape>(shape: S): Guard<ObjectOf<S>> {
    const keys = Object.keys(shape);
    return (v): v is ObjectOf<S> => {
        if (typeof v !== "object" || v === null || Array.isArray(v))
            return false;
        const record = v as Record<string, unknown>;
        for (const key of Object.keys(record))
            if (!keys.includes(key))
                return false;
        for (const key of keys) {
            const field = shape[key]!;
            const value = record[key];
            if (typeof field === "function") {
                if (!field(value))
                    return false;
            } else if (value !== undefined && !field.optional(value))
                return false;
        }
        return true;
    };
}
