import { activation, method, type CallContext } from '../src/index.js';

export type BodyType = 'star' | 'planet' | 'dwarf_planet' | 'moon';

/** Physical facts about one body of the solar system. */
export interface BodyInfo {
  name: string;
  body_type: BodyType;
  mass_kg: number;
  /** Mean radius. */
  radius_km: number;
  /** Sidereal orbital period around the parent body. */
  orbital_period_days?: number;
  /** The body it orbits. */
  parent?: string;
}

interface BodyData {
  readonly name: string;
  readonly type: BodyType;
  readonly mass: number;
  readonly radius: number;
  readonly period: number;
  readonly moons?: readonly BodyData[];
}

const moon = (name: string, mass: number, radius: number, period: number): BodyData => ({ name, type: 'moon', mass, radius, period });

const PLANETS: readonly BodyData[] = [
  { name: 'Mercury', type: 'planet', mass: 3.285e23, radius: 2439.7, period: 87.97 },
  { name: 'Venus', type: 'planet', mass: 4.867e24, radius: 6051.8, period: 224.7 },
  { name: 'Earth', type: 'planet', mass: 5.972e24, radius: 6371, period: 365.25, moons: [moon('Luna', 7.342e22, 1737.4, 27.32)] },
  {
    name: 'Mars',
    type: 'planet',
    mass: 6.39e23,
    radius: 3389.5,
    period: 687,
    moons: [moon('Phobos', 1.0659e16, 11.267, 0.319), moon('Deimos', 1.4762e15, 6.2, 1.263)],
  },
  {
    name: 'Jupiter',
    type: 'planet',
    mass: 1.898e27,
    radius: 69911,
    period: 4333,
    moons: [
      moon('Io', 8.932e22, 1821.6, 1.769),
      moon('Europa', 4.8e22, 1560.8, 3.551),
      moon('Ganymede', 1.4819e23, 2634.1, 7.155),
      moon('Callisto', 1.0759e23, 2410.3, 16.689),
    ],
  },
  {
    name: 'Saturn',
    type: 'planet',
    mass: 5.683e26,
    radius: 58232,
    period: 10759,
    moons: [moon('Titan', 1.3452e23, 2574.7, 15.945), moon('Enceladus', 1.08e20, 252.1, 1.37), moon('Mimas', 3.749e19, 198.2, 0.942)],
  },
  {
    name: 'Uranus',
    type: 'planet',
    mass: 8.681e25,
    radius: 25362,
    period: 30687,
    moons: [moon('Titania', 3.527e21, 788.9, 8.706), moon('Oberon', 3.014e21, 761.4, 13.463), moon('Miranda', 6.59e19, 235.8, 1.413)],
  },
  { name: 'Neptune', type: 'planet', mass: 1.024e26, radius: 24622, period: 60190, moons: [moon('Triton', 2.14e22, 1353.4, 5.877)] },
];

const SOL: BodyData = { name: 'Sol', type: 'star', mass: 1.989e30, radius: 696340, period: 0, moons: PLANETS };

function infoOf(body: BodyData, parent?: string): BodyInfo {
  return {
    name: body.name,
    body_type: body.type,
    mass_kg: body.mass,
    radius_km: body.radius,
    ...(parent ? { orbital_period_days: body.period, parent } : {}),
  };
}

/**
 * A planet or moon. One class serves every body: each instance names its own
 * namespace, and bodies with moons are hubs whose children are the moons.
 */
@activation(undefined, { version: '1.0.0', legacyWire: true })
export class CelestialBody {
  readonly namespace: string;
  readonly description: string;
  readonly children?: () => readonly CelestialBody[];

  constructor(
    private readonly body: BodyData,
    private readonly parent: string,
  ) {
    this.namespace = body.name.toLowerCase();
    this.description = `${body.name}, ${body.type === 'moon' ? `moon of ${parent}` : 'planet'}`;
    const moons = body.moons?.map((m) => new CelestialBody(m, body.name));
    if (moons) this.children = () => moons;
  }

  /** Get information about this body. */
  @method()
  info(): BodyInfo {
    return infoOf(this.body, this.parent);
  }
}

/**
 * The solar system as a nested hub: `solar.earth.luna.info`.
 *
 * Planets are children of `solar`; planets with moons are hubs themselves.
 */
@activation('solar', { version: '1.0.0', legacyWire: true })
export class Solar {
  readonly #planets = PLANETS.map((p) => new CelestialBody(p, SOL.name));

  children(): readonly CelestialBody[] {
    return this.#planets;
  }

  /** Get information about the Sun. */
  @method()
  info(): BodyInfo {
    return infoOf(SOL);
  }

  /**
   * Stream every body of the system, the Sun first, each planet followed by its moons.
   * @param body_type - only bodies of this type
   */
  @method()
  async *observe(body_type?: BodyType, ctx?: CallContext): AsyncGenerator<BodyInfo> {
    if (!body_type || body_type === SOL.type) yield infoOf(SOL);
    for (const planet of PLANETS) {
      if (ctx?.signal.aborted) return;
      if (!body_type || body_type === planet.type) yield infoOf(planet, SOL.name);
      for (const m of planet.moons ?? []) if (!body_type || body_type === m.type) yield infoOf(m, planet.name);
    }
  }
}
