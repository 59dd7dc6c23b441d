/** VS Code's CancellationToken, as a tiny interface, becomes an AbortSignal at the boundary (STYLE.md point 4). */
export interface CancellationTokenLike {
    isCancellationRequested: boolean;
    onCancellationRequested(listener: () => void): {dispose(): void};
}

export function toAbortSignal(token: CancellationTokenLike): {signal: AbortSignal, dispose: () => void} {
    const controller = new AbortController();
    if (token.isCancellationRequested)
        controller.abort();
    const subscription = token.onCancellationRequested(() => controller.abort());
    return {signal: controller.signal, dispose: () => subscription.dispose()};
}
