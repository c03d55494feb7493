/** One long-lived `git cat-file --batch-check` answering object-type look-ups, instead of a process each. */
import { spawn, type ChildProcessByStdio } from "node:child_process";
import type { Socket } from "node:net";
import type { Readable, Writable } from "node:stream";

type CatFile = ChildProcessByStdio<Writable, Readable, null>;

interface Pending {
  count: number;
  resolve: (lines: string[]) => void;
  reject: (e: Error) => void;
}

export class ObjectTypeReader {
  private child: CatFile | undefined;
  private buffered = "";
  private lines: string[] = [];
  private readonly pending: Pending[] = [];

  constructor(
    private readonly gitDir: string,
    private readonly env: Record<string, string>,
  ) {}

  /** type per full sha, in order; git answers "<sha> missing" for an absent object */
  async types(shas: string[]): Promise<string[]> {
    const lines = await this.ask(shas);
    return lines.map((line, i) => {
      const [name, type] = line.split(" ");
      return name === shas[i] && type ? type : "missing";
    });
  }

  close(): void {
    this.child?.kill();
    this.child = undefined;
  }

  private ask(shas: string[]): Promise<string[]> {
    const child = this.started();
    return new Promise<string[]>((resolve, reject) => {
      this.pending.push({ count: shas.length, resolve, reject });
      child.stdin.write(shas.join("\n") + "\n");
    });
  }

  private started(): CatFile {
    if (this.child) return this.child;
    const args = ["--git-dir", this.gitDir, "cat-file", "--batch-check=%(objectname) %(objecttype)"];
    const child = spawn("git", args, { env: this.env, stdio: ["pipe", "pipe", "ignore"] });
    // an idle reader must not keep the test process alive
    child.unref();
    [child.stdin, child.stdout].forEach((s) => (s as unknown as Socket).unref());
    child.stdout.setEncoding("utf8").on("data", (chunk: string) => this.received(chunk));
    child.on("exit", () => this.failAll(new Error("git cat-file --batch-check exited")));
    child.on("error", (e) => this.failAll(e));
    child.stdin.on("error", (e) => this.failAll(e));
    this.child = child;
    return child;
  }

  private received(chunk: string): void {
    const parts = (this.buffered + chunk).split("\n");
    this.buffered = parts.pop() ?? "";
    this.lines.push(...parts);
    while (this.pending[0] && this.lines.length >= this.pending[0].count) {
      const next = this.pending.shift() as Pending;
      next.resolve(this.lines.splice(0, next.count));
    }
  }

  private failAll(e: Error): void {
    if (this.child) this.child = undefined;
    this.buffered = "";
    this.lines = [];
    this.pending.splice(0).forEach((p) => p.reject(e));
  }
}
