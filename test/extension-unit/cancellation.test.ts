import assert from "node:assert/strict";
import {toAbortSignal} from "../../src/extension/cancellation.js";

describe("cancellation at the editor boundary", () => {
    it("turns a cancellation token into an AbortSignal", () => {
        let listener: (() => void) | undefined;
        let disposed = false;
        const token = {isCancellationRequested: false, onCancellationRequested: (l: () => void) => {
            listener = l;
            return {dispose: () => {
                disposed = true;
            }};
        }};
        const {signal, dispose} = toAbortSignal(token);
        assert.equal(signal.aborted, false);
        listener!();
        assert.equal(signal.aborted, true);
        dispose();
        assert.equal(disposed, true);
        assert.equal(toAbortSignal({isCancellationRequested: true, onCancellationRequested: () => ({dispose() {}})}).signal.aborted, true);
    });
});
