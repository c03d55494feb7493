export const GENERATED_FILE: string;
export const AJV_OPTIONS: { allErrors: boolean; strict: boolean };
export function schemaHash(schema: unknown): string;
export function generatedValidator(schema: unknown): Promise<string>;
