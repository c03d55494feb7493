export const GENERATED_FILE: string;
export function metaHash(metaSchema: unknown, ajvVersion: string, options: unknown): string;
export function generatedMetaValidator(options: unknown): Promise<string>;
