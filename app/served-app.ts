/**
 * What the IWA serves: here the demo app. `browser-httpd start ./app.ts` (or `--static DIR`) builds the IWA with
 * the user's module (or the folder's files) in place of this module and of served-name.ts (launcher/served-app.ts).
 */
import { createDemoApp } from "./demo.js";

export default createDemoApp();
