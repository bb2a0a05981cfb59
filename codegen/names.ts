/** Naming rules every emitter shares; each language passes the names its own code must not shadow. */

/** `solar.earth.luna` / `tree_create` / `kebab-case` → `SolarEarthLuna` / `TreeCreate` / `KebabCase`; a `taken` name gets `Type` appended. */
export function pascalCase(raw: string, taken: ReadonlySet<string>): string {
  const name = raw
    .split(/[^A-Za-z0-9]+/)
    .filter(Boolean)
    .map((p) => p[0]!.toUpperCase() + p.slice(1))
    .join('');
  const safe = /^[0-9]/.test(name) ? `T${name}` : name || 'Type';
  return taken.has(safe) ? `${safe}Type` : safe;
}

/** Hands out unique names: the wanted one, or it with a number. */
export class NameSet {
  readonly #used: Set<string>;
  constructor(reserved: Iterable<string> = []) {
    this.#used = new Set(reserved);
  }
  has(name: string): boolean {
    return this.#used.has(name);
  }
  take(wanted: string): string {
    let name = wanted;
    for (let i = 2; this.#used.has(name); i++) name = `${wanted}${i}`;
    this.#used.add(name);
    return name;
  }
}
