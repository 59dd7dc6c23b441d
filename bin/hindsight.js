#!/usr/bin/env node
import("../dist/cli.js").catch((err) => {
    if (err && err.code === "ERR_MODULE_NOT_FOUND" && String(err.message).includes("dist/cli.js")) {
        process.stderr.write("hindsight: the CLI is not built yet. Run `npm run build` in the project folder first.\n");
        process.exit(1);
    }
    throw err;
});
