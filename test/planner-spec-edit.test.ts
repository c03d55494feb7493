import { describe, expect, it } from "vitest";
import { appendClusterEntry, removeClusterEntry, removeViaDocument } from "../src/fleet/edit.js";

/** Flow lists, comments (trailing, above an entry, after the list), anchors and blank lines. */
const SPEC = `# top
a: [x, y]   # c
b: {k: v}
anchors: &base
  z: 1
ref: *base

clusters:
  - name: one   # first
    role: aggregator

  # the edge cluster in Berlin
  - name: two
    role: agent
    overlays: [o/a.yaml, o/b.yaml]
# trailing comment
`;

describe("spec edits keep every byte they do not mean to change", () => {
  it("appends an entry after the last one, indented and spaced like it", () => {
    const after = appendClusterEntry(SPEC, {
      name: "three",
      role: "agent",
      overlays: ["o/c.yaml"],
      values: { "prometheus.pvc.storage": "2Gi" },
      passwordHash: "$2a$10$abcdefghijklmnopqrstuu0123456789ABCDEFGHIJKLMNOPQRSTU",
    });
    expect(after).toBe(`# top
a: [x, y]   # c
b: {k: v}
anchors: &base
  z: 1
ref: *base

clusters:
  - name: one   # first
    role: aggregator

  # the edge cluster in Berlin
  - name: two
    role: agent
    overlays: [o/a.yaml, o/b.yaml]

  - name: three
    role: agent
    overlays:
      - o/c.yaml
    values:
      prometheus.pvc.storage: 2Gi
    credential:
      passwordHash: $2a$10$abcdefghijklmnopqrstuu0123456789ABCDEFGHIJKLMNOPQRSTU
# trailing comment
`);
  });

  it("quotes a name YAML would read otherwise", () => {
    const after = appendClusterEntry("clusters:\n- name: one\n  role: aggregator\n", {
      name: "hub #x",
      role: "agent",
      overlays: [],
      values: {},
    });
    expect(after).toBe('clusters:\n- name: one\n  role: aggregator\n- name: "hub #x"\n  role: agent\n');
  });

  it("removes an entry with the comment above it and one separating blank line", () => {
    expect(removeClusterEntry(SPEC, "two")).toBe(`# top
a: [x, y]   # c
b: {k: v}
anchors: &base
  z: 1
ref: *base

clusters:
  - name: one   # first
    role: aggregator
# trailing comment
`);
    expect(removeClusterEntry(SPEC, "one")).toBe(`# top
a: [x, y]   # c
b: {k: v}
anchors: &base
  z: 1
ref: *base

clusters:
  # the edge cluster in Berlin
  - name: two
    role: agent
    overlays: [o/a.yaml, o/b.yaml]
# trailing comment
`);
    expect(removeClusterEntry(SPEC, "nope")).toBe(SPEC);
  });

  it("removes an entry followed by comments, and only its lines (the document path too)", () => {
    const text =
      "clusters:\n  - name: a\n    role: agent\n    # about a's role\n  # about b\n  - name: b\n    role: agent\n";
    const expected = "clusters:\n    # about a's role\n  # about b\n  - name: b\n    role: agent\n";
    expect(removeClusterEntry(text, "a")).toBe(expected);
    expect(removeViaDocument(text, "a")).toBe(expected);
    expect(removeViaDocument(`x: &y 1\n${text}`, "a")).toBe(`x: &y 1\n${expected}`);
  });

  it("a flow-style clusters list is edited through the document (still valid, same entries)", () => {
    const after = appendClusterEntry("clusters: [{name: one, role: aggregator}]\n", {
      name: "two",
      role: "agent",
      overlays: [],
      values: {},
    });
    expect(after).toBe("clusters: [ { name: one, role: aggregator }, { name: two, role: agent } ]\n");
  });
});
