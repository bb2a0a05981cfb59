/** What the page shows, kept in `location.hash` so views can be linked: `#/n/solar.earth`, `#/m/echo.echo`. */
export type Route =
  | { readonly kind: 'node'; readonly path: string }
  | { readonly kind: 'method'; readonly path: string }
  | { readonly kind: 'home' };

export function parseRoute(hash: string): Route {
  const m = /^#\/([nm])\/(.+)$/.exec(hash);
  if (!m) return { kind: 'home' };
  const path = decodeURIComponent(m[2]!);
  return m[1] === 'n' ? { kind: 'node', path } : { kind: 'method', path };
}

export function routeHref(route: Route): string {
  return route.kind === 'home' ? '#/' : `#/${route.kind === 'node' ? 'n' : 'm'}/${route.path}`;
}
