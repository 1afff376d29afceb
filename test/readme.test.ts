/**
 * README.md's TypeScript blocks, and the option and `info` names its prose lists, type-check against the package as
 * users import it ("browser-httpd", resolved through package.json's exports to dist/src/*.d.ts), so a renamed option
 * or a wrong import in the README fails here; the limit defaults it states are the defaults.
 * A block that is deliberately a fragment is preceded by `<!-- not checked: reason -->`.
 */
import { it } from "node:test";
import assert from "node:assert/strict";
import { execFile } from "node:child_process";
import { existsSync } from "node:fs";
import { mkdtemp, readFile, rm, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { defaultLimits, type Limits } from "../src/index.js";

const root = fileURLToPath(new URL("../../", import.meta.url));
const UNCHECKED = /^<!--\s*not checked:\s*(\S.*?)\s*-->$/;

interface CodeBlock {
  /** 1-based README line of the opening fence; line n of the block is README line `fenceLine + n`. */
  fenceLine: number;
  code: string;
  /** Why the block is not checked, when it is marked so. */
  unchecked?: string;
}

function typeScriptBlocks(markdown: string): CodeBlock[] {
  const lines = markdown.split("\n");
  const blocks: CodeBlock[] = [];
  for (let i = 0; i < lines.length; i++) {
    if (!/^```(ts|typescript)\s*$/.test(lines[i]!)) continue;
    const end = lines.findIndex((line, j) => j > i && /^```\s*$/.test(line));
    assert.ok(end > i, `README.md:${i + 1}: the code block is not closed`);
    let previous = i - 1;
    while (previous >= 0 && lines[previous]!.trim() === "") previous--;
    const unchecked = UNCHECKED.exec(lines[previous]?.trim() ?? "")?.[1];
    blocks.push({ fenceLine: i + 1, code: lines.slice(i + 1, end).join("\n"), unchecked });
    i = end;
  }
  return blocks;
}

/** The paragraph (lines up to a blank one) that starts with `start`. */
function paragraph(markdown: string, start: string): string {
  const from = markdown.indexOf(`\n${start}`);
  assert.ok(from >= 0, `README.md has a paragraph starting ${JSON.stringify(start)}`);
  const to = markdown.indexOf("\n\n", from + 1);
  return markdown.slice(from + 1, to < 0 ? undefined : to);
}

const backticked = (text: string) => [...text.matchAll(/`(\w+)`/g)].map((match) => match[1]!);

/** A module that type-checks only if every name README.md lists for `serve()`'s options and `info` is one. */
function listedNamesModule(readme: string): string {
  const options = backticked(paragraph(readme, "Options:"));
  const info = backticked(paragraph(readme, "`info` carries").split(/\.\s/)[0]!).slice(1);
  assert.ok(options.length > 0 && info.length > 0, "README.md lists options and info members");
  return [
    'import type { ServeInfo, ServeOptions } from "browser-httpd";',
    `export const options: Array<keyof ServeOptions> = ${JSON.stringify(options)};`,
    `export const info: Array<keyof ServeInfo> = ${JSON.stringify(info)};`,
    "",
  ].join("\n");
}

/** Runs the project's tsc on a tsconfig; resolves with its exit code and output instead of rejecting. */
function tsc(project: string): Promise<{ code: number; output: string }> {
  return new Promise((resolve, reject) => {
    execFile(
      process.execPath,
      [join(root, "node_modules/typescript/bin/tsc"), "-p", project],
      { cwd: root, timeout: 120_000 },
      (error, stdout, stderr) => {
        if (error && typeof error.code !== "number") reject(error);
        else resolve({ code: error ? Number(error.code) : 0, output: stdout + stderr });
      },
    );
  });
}

it("every ```ts block of README.md, and the names it lists, type-check against the package's own types", { timeout: 180_000 }, async () => {
  const readme = await readFile(join(root, "README.md"), "utf8");
  const blocks = typeScriptBlocks(readme);
  const checked = blocks.filter((block) => block.unchecked === undefined);
  assert.ok(checked.length > 0, "README.md has TypeScript blocks to check");
  // Inside the package, so that "browser-httpd" resolves to the package itself as it does for a user.
  const dir = await mkdtemp(join(root, "dist", ".readme-blocks-"));
  try {
    const fileOf = (block: CodeBlock) => `block-${block.fenceLine}.ts`;
    for (const block of checked) {
      // `export {}` makes every block a module (top-level await, no clashes between blocks), lines unchanged.
      await writeFile(join(dir, fileOf(block)), `${block.code}\nexport {};\n`);
    }
    const compilerOptions = {
      target: "ES2022",
      module: "NodeNext",
      moduleResolution: "NodeNext",
      lib: ["ES2023", "DOM", "DOM.Iterable"],
      types: ["node"],
      strict: true,
      skipLibCheck: true,
      noEmit: true,
    };
    await writeFile(join(dir, "listed-names.ts"), listedNamesModule(readme));
    const files = [...checked.map(fileOf), "listed-names.ts"];
    await writeFile(join(dir, "tsconfig.json"), JSON.stringify({ compilerOptions, files }));
    const { code, output } = await tsc(join(dir, "tsconfig.json"));
    // Diagnostics point at README.md's lines, not at the temporary files.
    const diagnostics = output
      .replace(
        /^.*?block-(\d+)\.ts\((\d+),(\d+)\)/gm,
        (_, fence: string, line: string, column: string) => `README.md:${Number(fence) + Number(line)}:${column}`,
      )
      .replace(/^.*?listed-names\.ts\(\d+,\d+\)/gm, "README.md (a name listed in the text)");
    assert.equal(code, 0, `README.md's TypeScript does not type-check:\n${diagnostics}`);
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
});

it("the limit defaults README.md states are the defaults", async () => {
  const options = paragraph(await readFile(join(root, "README.md"), "utf8"), "Options:");
  const units: Record<string, number> = { KiB: 1024, MiB: 1024 * 1024, s: 1000, "": 1 };
  const stated: Record<string, number> = {};
  for (const [, name, value, unit] of options.matchAll(/`(\w+)`\s+\((\d+)(?: (KiB|MiB|s))?[ ,)]/g)) {
    if (name! in defaultLimits) stated[name!] = Number(value) * units[unit ?? ""]!;
  }
  assert.deepEqual(stated, { ...defaultLimits } satisfies Limits);
});

it("the examples README.md names exist", async () => {
  const readme = await readFile(join(root, "README.md"), "utf8");
  const named = [...new Set(readme.match(/examples\/[\w-]+\.ts/g) ?? [])];
  assert.ok(named.length > 0, "README.md names examples");
  assert.deepEqual(
    named.filter((path) => !existsSync(join(root, path))),
    [],
  );
});
