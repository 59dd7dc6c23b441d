/** Small DOM helpers: elements are built with text content, never with HTML strings (except rendered markdown). */
export function el<K extends keyof HTMLElementTagNameMap>(tag: K, props: {className?: string, text?: string, title?: string,
    attrs?: Record<string, string>} = {}, children: Node[] = []): HTMLElementTagNameMap[K] {
    const node = document.createElement(tag);
    if (props.className != null)
        node.className = props.className;
    if (props.text != null)
        node.textContent = props.text;
    if (props.title != null)
        node.title = props.title;
    for (const [name, value] of Object.entries(props.attrs ?? {}))
        node.setAttribute(name, value);
    for (const child of children)
        node.append(child);
    return node;
}

/** A button with a codicon and an accessible label. */
export function iconButton(className: string, icon: string, label: string): HTMLButtonElement {
    const button = el("button", {className: `icon-button ${className}`, title: label, attrs: {"aria-label": label, type: "button"}});
    button.append(el("span", {className: `codicon codicon-${icon}`, attrs: {"aria-hidden": "true"}}));
    return button;
}

export function byId<T extends HTMLElement>(id: string): T {
    const node = document.getElementById(id);
    if (node == null)
        throw new Error(`#${id} is missing`);
    return node as T;
}
