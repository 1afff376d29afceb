/**
 * `browser-httpd init [DIR]`: writes a minimal app module, DIR/app.ts, and a section on running it into DIR/README.md
 * (a new README, or a section added at the end of the one there). An existing app.ts is never replaced: then
 * nothing is written at all.
 */
import { appendFile, mkdir, readFile, writeFile } from "node:fs/promises";
import { basename, join, resolve } from "node:path";
import { displayName } from "../node/app-module.js";

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
`;

export default async function init(argv: string[]): Promise<number> {
  const usage = "usage: browser-httpd init [DIR]   (writes DIR/app.ts and a README section; DIR defaults to .)\n";
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
    `wrote ${displayName(appPath)}; ${readmeNote}\n\n` +
      `  run it inside Chromium   browser-httpd start ${displayName(appPath)}\n` +
      `  run it on Node           browser-httpd serve ${displayName(appPath)}\n`,
  );
  return 0;
}
