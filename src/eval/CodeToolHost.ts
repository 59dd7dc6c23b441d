import type {ToolHost, ToolName} from "../engine/index.js";
import {candidateProgram, gradePython, latestWithCode} from "./pythonGrader.js";


/**
 * The `run_tests` tool of the code protocol: it runs the code the model last wrote against the examples in the
 * task's own docstring (the `>>>` lines a user would see), never against the hidden inputs that grade the answer.
 * The observation says which examples failed and how, so the model can fix its code in the next round.
 */
export class CodeToolHost implements ToolHost {
    public readonly tools: readonly ToolName[] = ["run_tests"];

    private readonly next: string;

    /** `final`: what the answer is to hold, as the request words it ("the final body" when it asks for the body). */
    public constructor(private readonly prompt: string, private readonly entryPoint: string, final = "the final function") {
        this.next = `Write ANSWER: and ${final} in one \`\`\`python block.`;
    }

    public async runTests(responses: readonly string[]): Promise<string> {
        const withCode = latestWithCode(responses);
        if (withCode == null)
            return "There is no code to test. Write the function in a ```python block, then ACTION: run_tests.";
        const result = await gradePython({
            kind: "examples", entryPoint: this.entryPoint, prompt: this.prompt,
            code: candidateProgram(withCode, this.prompt, this.entryPoint)
        }, {detailChars: 1200});
        // the grader reports code that does not load (or hangs while loading) as "error: ..." / "timeout"
        if (!result.passed && /^(error|timeout)/.test(result.detail))
            return `The code does not run: ${result.detail}`;
        if (result.total === 0)
            return "The code runs. The task has no examples to check it against; check it against the description yourself.";
        return result.passed
            ? `All ${result.total} examples passed. ${this.next}`
            : `${result.total - result.ok} of ${result.total} examples failed:\n${result.detail}\nFix the code and test it again, or ${this.next}`;
    }

    /** `ask`'s `verify`: the examples run on the latest code; null when they pass, there are none, or there is no code. */
    public async verify(responses: readonly string[]): Promise<string | null> {
        const withCode = latestWithCode(responses);
        if (withCode == null)
            return null;
        const observation = await this.runTests(responses);
        return observation.startsWith("All ") || observation.startsWith("The code runs. The task has no examples") ? null : observation;
    }

    public listFiles(): Promise<string> {
        return Promise.resolve("There are no files here; write your code, then ACTION: run_tests.");
    }

    public readFile(): Promise<string> {
        return this.listFiles();
    }

    public search(): Promise<string> {
        return this.listFiles();
    }
}
