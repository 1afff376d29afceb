/**
 * `browser-httpd init [DIR]`: writes a minimal app module, DIR/app.ts, an icon, DIR/icon.png (256 × 256), a project
 * config naming both, DIR/browser-httpd.config.json, and a section on running it into DIR/README.md (a new README,
 * or a section added at the end of the one there). An existing app.ts is never replaced: then nothing is written at
 * all. An icon.png or a config that is there is left as it is.
 */
import { appendFile, mkdir, readFile, stat, writeFile } from "node:fs/promises";
import { basename, join, resolve } from "node:path";
import { displayName } from "../node/app-module.js";
import { appIcon } from "../node/png.js";
import { configFileNames, packageField } from "./config.js";

const appModule = `// A browser-httpd app module: its default export is the server (fetch, and optionally websocket, port, hostname,
// onListen, onError). \`browser-httpd start ./app.ts\` serves it inside Chromium; \`browser-httpd serve ./app.ts\` on
// Node, \`deno serve app.ts\` on Deno, \`bun app.ts\` on Bun.
export default {
  fetch(request: Request): Response {
    const { pathname } = new URL(request.url);
    if (pathname === "/") return new Response("Hello from app.ts!\\n");
    return new Response("Not Found\\n", { status: 404 });
  },
};
`;

const heading = "## Running the server";

const readmeSection = `${heading}

\`app.ts\` is a browser-httpd app module: its default export is the server (\`fetch\`, and optionally \`websocket\`,
\`port\`, \`hostname\`, \`onListen\`, \`onError\`).

\`\`\`sh
npx browser-httpd start ./app.ts   # inside Chromium, as an Isolated Web App: http://127.0.0.1:44818/
npx browser-httpd serve ./app.ts   # on Node: http://127.0.0.1:8080/
deno serve app.ts                  # on Deno
bun app.ts                         # on Bun
\`\`\`

\`browser-httpd.config.json\` names the app and its icon (\`icon.png\`, 256 × 256) for \`start\`; it may also give
\`port\`, \`signingKey\` (the key that signs the app; its Web Bundle ID follows from it), \`include\` (files or globs
put into the app's bundle) and \`static\` (a folder to serve). Command-line options win over it.
`;

/** Writes `contents` to a new file at `path`; false when a file is there already (left as it is). */
async function writeNew(path: string, contents: string | Uint8Array): Promise<boolean> {
  try {
    await writeFile(path, contents, { flag: "wx" });
    return true;
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === "EEXIST") return false;
    throw error;
  }
}

/** The project config that is in `dir` already, as messages name it: a config file, or package.json's field. */
async function existingConfig(dir: string): Promise<string | undefined> {
  for (const name of configFileNames) {
    if (await stat(join(dir, name)).catch(() => undefined)) return displayName(join(dir, name));
  }
  const packageJson = await readFile(join(dir, "package.json"), "utf8").catch(() => undefined);
  try {
    if (packageJson !== undefined && packageField in JSON.parse(packageJson)) {
      return `${displayName(join(dir, "package.json"))}'s "${packageField}" field`;
    }
  } catch {
    // Not JSON: not a config either.
  }
  return undefined;
}

export default async function init(argv: string[]): Promise<number> {
  const usage =
    "usage: browser-httpd init [DIR]   (writes DIR/app.ts, icon.png, browser-httpd.config.json and a README section; DIR defaults to .)\n";
  if (argv[0] === "--help" || argv[0] === "-h") {
    process.stdout.write(usage);
    return 0;
  }
  if (argv.length > 1 || argv[0]?.startsWith("-")) {
    process.stderr.write(usage);
    return 1;
  }
  const dir = resolve(argv[0] ?? ".");
  const appPath = join(dir, "app.ts");
  const readmePath = join(dir, "README.md");
  await mkdir(dir, { recursive: true });
  try {
    await writeFile(appPath, appModule, { flag: "wx" });
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== "EEXIST") throw error;
    throw new Error(`${displayName(appPath)} already exists; init writes nothing over it (remove it, or init another folder)`);
  }
  const written = [displayName(appPath)];
  const left: string[] = [];
  const iconPath = join(dir, "icon.png");
  if (await writeNew(iconPath, appIcon())) written.push(displayName(iconPath));
  else left.push(`${displayName(iconPath)} as it was`);
  const configPath = join(dir, configFileNames[0]);
  const existing = await existingConfig(dir);
  if (existing !== undefined) left.push(`${existing} as it was (it may name "icon": "icon.png")`);
  else {
    const config = { name: basename(dir), icon: "icon.png" };
    await writeNew(configPath, `${JSON.stringify(config, null, 2)}\n`);
    written.push(displayName(configPath));
  }
  const readme = await readFile(readmePath, "utf8").catch(() => undefined);
  let readmeNote: string;
  if (readme === undefined) {
    await writeFile(readmePath, `# ${basename(dir)}\n\n${readmeSection}`, { flag: "wx" });
    readmeNote = `wrote ${displayName(readmePath)}`;
  } else if (readme.split("\n").includes(heading)) {
    readmeNote = `left ${displayName(readmePath)} as it was: it has a "${heading}" section already`;
  } else {
    await appendFile(readmePath, `${readme.endsWith("\n") ? "\n" : "\n\n"}${readmeSection}`);
    readmeNote = `added a "${heading}" section to ${displayName(readmePath)}`;
  }
  process.stdout.write(
    `wrote ${written.join(", ")}; ${readmeNote}${left.length > 0 ? `; left ${left.join(", ")}` : ""}\n\n` +
      `  run it inside Chromium   browser-httpd start ${displayName(appPath)}\n` +
      `  run it on Node           browser-httpd serve ${displayName(appPath)}\n`,
  );
  return 0;
}
