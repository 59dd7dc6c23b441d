import * as vscode from "vscode";
import type {Guard} from "../shared/validate.js";
import type {CommandDeps} from "./commands.js";
import {CommandError, showError} from "./ui.js";

/**
 * A command callable from the UI (no argument, or an editor/tree argument) and from code with a plain argument
 * object. Code callers get the JSON result or a rejection with a `code`; UI callers get errors as one message with
 * a next step.
 */
export function registerCommand<A extends object, R>(deps: CommandDeps, id: string, guard: Guard<A>,
    run: (arg: A | undefined, fromUi: boolean) => Promise<R>): vscode.Disposable {
    return vscode.commands.registerCommand(id, async (raw?: unknown): Promise<R | undefined> => {
        const programmatic = typeof raw === "object" && raw !== null && Object.getPrototypeOf(raw) === Object.prototype;
        if (programmatic && !guard(raw))
            throw new CommandError("INVALID_ARGUMENT", `${id}: invalid argument ${JSON.stringify(raw)}.`);
        try {
            return await run(programmatic ? raw as A : undefined, !programmatic);
        } catch (err) {
            if (programmatic)
                throw err;
            void showError(err, deps.output);
            return undefined;
        }
    });
}

