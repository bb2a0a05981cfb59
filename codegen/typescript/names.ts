/** Identifier rules for the TypeScript emitter. */

/** Global type names a generated type must not shadow. */
const GLOBAL_TYPES = new Set(
  'Array Boolean Date Error Function Map Number Object Partial Pick Omit Promise Readonly ReadonlyArray Record Required Set String Symbol Uint8Array Exclude Extract'.split(
    ' ',
  ),
);

/** A property key as written in an object literal or type: bare when possible, quoted otherwise. */
export function propertyKey(name: string): string {
  return /^[A-Za-z_$][\w$]*$/.test(name) ? name : JSON.stringify(name);
}

/** `solar.earth.luna` / `tree_create` / `kebab-case` → `SolarEarthLuna` / `TreeCreate` / `KebabCase`. */
export function pascalCase(raw: string): string {
  const name = raw
    .split(/[^A-Za-z0-9]+/)
    .filter(Boolean)
    .map((p) => p[0]!.toUpperCase() + p.slice(1))
    .join('');
  const safe = /^[0-9]/.test(name) ? `T${name}` : name || 'Type';
  return GLOBAL_TYPES.has(safe) ? `${safe}Type` : safe;
}

/** Hands out unique names: the wanted one, or it with a number. */
export class NameSet {
  readonly #used = new Set<string>();
  take(wanted: string): string {
    let name = wanted;
    for (let i = 2; this.#used.has(name); i++) name = `${wanted}${i}`;
    this.#used.add(name);
    return name;
  }
}
