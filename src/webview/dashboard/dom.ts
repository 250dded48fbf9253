// Small DOM helpers the dashboard's parts build their elements with.

export function el<K extends keyof HTMLElementTagNameMap>(tag: K, cls: string): HTMLElementTagNameMap[K] {
  const e = document.createElement(tag);
  if (cls) e.className = cls;
  return e;
}

export function text(s: string, cls = ''): HTMLSpanElement {
  const e = el('span', cls);
  e.textContent = s;
  return e;
}

/** A run's color as a small square, before its name. */
export function swatch(color: string): HTMLSpanElement {
  const e = el('span', 'swatch');
  e.style.background = color;
  return e;
}

export function label(name: string, ...children: HTMLElement[]): HTMLLabelElement {
  const l = el('label', 'tool');
  l.append(text(name + ' '), ...children);
  return l;
}

export function checkbox(id: string, name: string, onChange: (v: boolean) => void): HTMLLabelElement {
  const l = el('label', 'tool');
  const c = document.createElement('input');
  c.type = 'checkbox';
  c.id = id;
  c.addEventListener('change', () => onChange(c.checked));
  l.append(c, text(name));
  return l;
}

/** A VS Code theme color, with a fallback where the page runs outside VS Code. */
export function cssVar(name: string, fallback: string): string {
  return getComputedStyle(document.body).getPropertyValue(name).trim() || fallback;
}
