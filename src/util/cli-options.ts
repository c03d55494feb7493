/** Option helpers shared by the commands' commander definitions. */

/** For a repeatable option (`--crds A --crds B`): collects every value, in order. */
export const collect = (value: string, previous: string[]): string[] => [...previous, value];
