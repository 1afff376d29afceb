/** Static files: `serveStatic` and the file sources it reads from. */
export { serveStatic, contentTypeOf, type ServeStaticOptions, type StaticHandler } from "./handler.js";
export { directorySource } from "./directory-source.js";
export { filesSource, type FileBody, type FileEntry, type FilesSourceOptions } from "./files-source.js";
export { directoryHandleSource, type DirectoryHandleLike, type FileHandleLike, type HandleSourceOptions } from "./handle-source.js";
export { bytesStream, blobStream, type DirectoryEntry, type DirectorySourceOptions, type FileSource, type FileStat } from "./source.js";
