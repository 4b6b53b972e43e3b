// Writes a sink file atomically: a reader sees the old content or the new, never a partial file.
import { randomBytes } from "node:crypto";
import { open, rename, unlink } from "node:fs/promises";
import { basename, dirname, join } from "node:path";
import { SinkError } from "./render.js";

export interface SinkWriteOptions {
  /** File mode, default 0o600 (owner read/write only). */
  readonly mode?: number;
  /** Owner to give the file (needs the privilege to chown); unchanged when absent. */
  readonly uid?: number;
  readonly gid?: number;
}

/**
 * Writes `content` to `path`: a temporary file in the same directory (created exclusively with `mode`), chmod/chown,
 * write, fsync, rename over `path`, fsync of the directory so the rename survives a crash. On any failure the temporary
 * file is removed and `path` keeps its previous content.
 */
export async function writeSinkAtomically(
  path: string,
  content: string,
  options: SinkWriteOptions = {},
): Promise<void> {
  const mode = options.mode ?? 0o600;
  const dir = dirname(path);
  const temp = join(dir, `.${basename(path)}.${process.pid}.${randomBytes(6).toString("hex")}.tmp`);
  try {
    const file = await open(temp, "wx", mode);
    try {
      await file.chmod(mode); // the process umask may have narrowed or the caller widened the mode
      if (options.uid !== undefined || options.gid !== undefined)
        await file.chown(options.uid ?? -1, options.gid ?? -1);
      await file.writeFile(content, "utf8");
      await file.sync();
    } finally {
      await file.close();
    }
    await rename(temp, path);
  } catch (error) {
    await unlink(temp).catch(() => undefined);
    throw new SinkError(`cannot write sink ${path}: ${(error as NodeJS.ErrnoException).code ?? "error"}`, {
      cause: error,
    });
  }
  await syncDirectory(dir);
}

async function syncDirectory(dir: string): Promise<void> {
  let handle: Awaited<ReturnType<typeof open>> | undefined;
  try {
    handle = await open(dir, "r");
    await handle.sync();
  } catch (error) {
    // Some file systems cannot fsync a directory (EINVAL, EISDIR); the rename itself has happened.
    const code = (error as NodeJS.ErrnoException).code;
    if (code !== "EINVAL" && code !== "EISDIR" && code !== "EPERM") throw error;
  } finally {
    await handle?.close();
  }
}

/** Removes a sink file; a file already gone is fine. */
export async function removeSink(path: string): Promise<void> {
  try {
    await unlink(path);
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== "ENOENT") throw error;
  }
}
