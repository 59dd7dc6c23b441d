/** A minimal event emitter with disposable listeners (vscode-free, so the host logic runs in plain Node tests). */
export interface Disposable {
    dispose(): void;
}

export type Event<T> = (listener: (value: T) => void) => Disposable;

export class Emitter<T> {
    private listeners = new Set<(value: T) => void>();

    public readonly event: Event<T> = (listener) => {
        this.listeners.add(listener);
        return {dispose: () => this.listeners.delete(listener)};
    };

    public fire(value: T): void {
        for (const listener of [...this.listeners]) {
            try {
                listener(value);
            } catch {
                // a broken listener must not stop the others
            }
        }
    }

    public dispose(): void {
        this.listeners.clear();
    }
}
