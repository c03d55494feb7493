/**
 * The TypeScript type of what a JSON schema written `as const` admits, for the keywords the fleet schema
 * uses (type, properties, required, items, enum, const). Keeps the schema the single source of the shape.
 */
export type FromSchema<S> = S extends { const: infer C }
  ? C
  : S extends { enum: readonly (infer E)[] }
    ? E
    : S extends { type: "string" }
      ? string
      : S extends { type: "boolean" }
        ? boolean
        : S extends { type: "integer" | "number" }
          ? number
          : S extends { type: "array"; items: infer I }
            ? FromSchema<I>[]
            : S extends { type: "object"; properties: infer P }
              ? ObjectFromSchema<P, RequiredKeys<S>>
              : S extends { type: "object" }
                ? Record<string, unknown>
                : unknown;

type RequiredKeys<S> = S extends { required: readonly (infer R)[] } ? R : never;

type ObjectFromSchema<P, R> = Flatten<
  { -readonly [K in keyof P & R]: FromSchema<P[K]> } & {
    -readonly [K in Exclude<keyof P, R>]?: FromSchema<P[K]>;
  }
>;

type Flatten<T> = { [K in keyof T]: T[K] };
