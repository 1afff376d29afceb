/** How the panel and errors name what the IWA serves (served-app.ts), replaced along with it. */
export const source = "the demo app";
/** The path the panel suggests trying with curl. */
export const tryPath = "hello";
