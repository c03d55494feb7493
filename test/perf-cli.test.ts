import { describe, expect, it } from "vitest";
import { buildCli } from "../src/cli.js";
import { commandName } from "../src/command-name.js";
import { mayMintCredential } from "../src/early-start.js";
import { COMMANDS } from "./helpers/cli-commands.js";

const argv = (...args: string[]) => ["node", "promfleet", ...args];

describe("the command line loads only the command it runs", () => {
  it("finds the command after the global options", () => {
    expect(commandName(argv("render", "--check"))).toBe("render");
    expect(commandName(argv("-C", "repo", "-f", "f.yaml", "diff", "--base", "main"))).toBe("diff");
    expect(commandName(argv("--dir", "repo", "--fleet", "f.yaml", "validate"))).toBe("validate");
    expect(commandName(argv("-Crepo", "--fleet=f.yaml", "onboard-cluster", "x"))).toBe("onboard-cluster");
    expect(commandName(argv("--help"))).toBeUndefined();
    expect(commandName(argv("-C", "repo", "--version"))).toBeUndefined();
    expect(commandName(argv())).toBeUndefined();
  });

  it("starts hashing a credential before the CLI loads for the runs that mint one, and only those", () => {
    expect(mayMintCredential(argv("-C", "repo", "onboard-cluster", "x"))).toBe(true);
    expect(mayMintCredential(argv("onboard-cluster", "x", "--pr"))).toBe(false);
    expect(mayMintCredential(argv("rotate-credential", "x"))).toBe(true);
    expect(mayMintCredential(argv("rotate-credential", "x", "--finish"))).toBe(false);
    expect(mayMintCredential(argv("rotate-credential", "x", "--finish", "--dry-run"))).toBe(true);
    for (const other of ["render", "offboard-cluster", "validate", "--help"])
      expect(mayMintCredential(argv(other, "x")), other).toBe(false);
  });

  it("registers that command's module only, and every command for help or an unknown name", async () => {
    const names = async (command?: string) => (await buildCli(command)).commands.map((c) => c.name());
    expect(await names("render")).toEqual(["render"]);
    expect(await names("offboard-cluster")).toEqual(["onboard-cluster", "offboard-cluster"]);
    expect(await names("fix-drift")).toEqual(["pr-comment", "record-deployments", "fix-drift"]);
    expect(await names(undefined)).toEqual(COMMANDS);
    expect(await names("help")).toEqual(COMMANDS);
    expect(await names("rendr")).toEqual(COMMANDS);
  });
});
