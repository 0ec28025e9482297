/**
 * A small element builder. Text is always set as text, never parsed as HTML: file names, hashes and
 * sources come from users and from the list, and must not become markup.
 */

type Child = Node | string | null | undefined | false;
type Attributes = Record<string, string | number | boolean | undefined>;

export function h<K extends keyof HTMLElementTagNameMap>(
  tag: K,
  attributes: Attributes = {},
  ...children: Child[]
): HTMLElementTagNameMap[K] {
  const element = document.createElement(tag);
  for (const [name, value] of Object.entries(attributes)) {
    if (value === undefined || value === false) continue;
    element.setAttribute(name, value === true ? '' : String(value));
  }
  append(element, ...children);
  return element;
}

export function append(parent: Element, ...children: Child[]): void {
  for (const child of children) {
    if (child === null || child === undefined || child === false) continue;
    parent.append(typeof child === 'string' ? document.createTextNode(child) : child);
  }
}

/** Looks up an element the page cannot work without; a missing one is a build mistake, reported loudly. */
export function byId<T extends HTMLElement = HTMLElement>(id: string): T {
  const element = document.getElementById(id);
  if (!element) throw new Error(`The page has no element #${id}`);
  return element as T;
}

let nextId = 0;

/** A unique id for `aria-labelledby` links between generated elements. */
export function uniqueId(prefix: string): string {
  nextId += 1;
  return `${prefix}-${nextId}`;
}

/**
 * Announces a message through the page's polite live region. Each message is added as its own line, so
 * verdicts arriving together are all read; old lines are dropped to keep the region short.
 */
export function announce(message: string): void {
  const region = byId('announcer');
  region.append(h('p', {}, message));
  while (region.childElementCount > 5) region.firstElementChild?.remove();
}
