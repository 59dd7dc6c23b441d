import path from "node:path";
import {fileURLToPath} from "node:url";

/**
 * The first answer `pick` gives for the folder of the module at `moduleUrl` or a folder above it (null: look
 * further up), or null at the file system's root. Finds the package's files from its sources (out/src/...) and from
 * its bundle (dist/) alike.
 */
export function findUp(moduleUrl: string, pick: (dir: string) => string | null): string | null {
    let dir = path.dirname(fileURLToPath(moduleUrl));
    for (;;) {
        const found = pick(dir);
        if (found != null)
            return found;
        const up = path.dirname(dir);
        if (up === dir)
            return null;
        dir = up;
    }
}
