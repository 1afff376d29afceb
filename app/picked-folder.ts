/**
 * A folder the user picks in the app's window (File System Access API), served instead of the app until they stop
 * it. The handle is kept in IndexedDB, so that a restarted app serves the folder again: at once when the read
 * permission is still granted, after one click (the browser's prompt needs a user gesture) when it is not.
 */
import type { DirectoryHandleLike } from "../src/index.js";

/** The parts of FileSystemDirectoryHandle used here beyond reading (not yet in TypeScript's DOM types). */
export interface PickedFolder extends DirectoryHandleLike {
  name: string;
  queryPermission(options: { mode: "read" }): Promise<PermissionState>;
  requestPermission(options: { mode: "read" }): Promise<PermissionState>;
}

declare global {
  // Chromium's File System Access API; tests may put their own in its place.
  function showDirectoryPicker(options?: { mode?: "read" | "readwrite"; id?: string }): Promise<PickedFolder>;
}

const DATABASE = "browser-httpd";
const STORE = "picked-folder";
const KEY = "folder";

function database(): Promise<IDBDatabase> {
  return new Promise((resolve, reject) => {
    const request = indexedDB.open(DATABASE, 1);
    request.onupgradeneeded = () => request.result.createObjectStore(STORE);
    request.onsuccess = () => resolve(request.result);
    request.onerror = () => reject(request.error);
  });
}

async function transact<T>(mode: IDBTransactionMode, act: (store: IDBObjectStore) => IDBRequest<T>): Promise<T> {
  const db = await database();
  try {
    return await new Promise<T>((resolve, reject) => {
      const request = act(db.transaction(STORE, mode).objectStore(STORE));
      request.onsuccess = () => resolve(request.result);
      request.onerror = () => reject(request.error);
    });
  } finally {
    db.close();
  }
}

/** Asks the user for a folder (the browser's picker) and remembers it. */
export async function pickFolder(): Promise<PickedFolder> {
  const folder = await showDirectoryPicker({ mode: "read", id: "browser-httpd" });
  await transact("readwrite", (store) => store.put(folder, KEY));
  return folder;
}

/** The folder picked before, if any. */
export async function rememberedFolder(): Promise<PickedFolder | undefined> {
  return transact("readonly", (store) => store.get(KEY) as IDBRequest<PickedFolder | undefined>);
}

export async function forgetFolder(): Promise<void> {
  await transact("readwrite", (store) => store.delete(KEY));
}

/** Whether the folder can be read now; with `ask`, the browser asks the user (only from a click). */
export async function mayRead(folder: PickedFolder, ask: boolean): Promise<boolean> {
  if ((await folder.queryPermission({ mode: "read" })) === "granted") return true;
  return ask && (await folder.requestPermission({ mode: "read" })) === "granted";
}
