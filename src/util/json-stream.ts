/** Splits concatenated JSON documents (what `ytt --output json` prints) and parses each. */
export function parseConcatenatedJson(text: string): unknown[] {
  const docs: unknown[] = [];
  let depth = 0;
  let start = -1;
  let inString = false;
  for (let i = 0; i < text.length; i++) {
    const ch = text.charCodeAt(i);
    if (inString) {
      if (ch === 92 /* \ */) i++;
      else if (ch === 34 /* " */) inString = false;
      continue;
    }
    if (ch === 34) inString = true;
    else if (ch === 123 /* { */ || ch === 91 /* [ */) {
      if (depth++ === 0) start = i;
    } else if (ch === 125 /* } */ || ch === 93 /* ] */) {
      if (--depth === 0) docs.push(JSON.parse(text.slice(start, i + 1)));
    } else if (depth === 0 && ch > 32) {
      const scalar = /^(null|true|false|-?\d[\d.eE+-]*)/.exec(text.slice(i, i + 32))?.[0];
      if (!scalar) throw new Error(`unexpected character at offset ${i} in ytt's JSON output`);
      docs.push(JSON.parse(scalar));
      i += scalar.length - 1;
    }
  }
  if (depth !== 0 || inString) throw new Error("ytt's JSON output ended in the middle of a document");
  return docs;
}
