/**
 * The variables a child gets from the hub's own environment under the `minimal`
 * policy: enough for a shell to find programs, locate home and temp, and print
 * text in the right encoding. Credentials the hub holds (API keys, tokens) stay out.
 */
export const MINIMAL_ENV_KEYS: readonly string[] = ['PATH', 'HOME', 'USER', 'LOGNAME', 'SHELL', 'LANG', 'LANGUAGE', 'TZ', 'TMPDIR', 'TERM'];

/**
 * Where a child's environment starts: `minimal` (the keys above plus `LC_*`),
 * `inherit` (the hub's whole environment, as the Rust reference does), or an
 * exact set of variables.
 */
export type EnvPolicy = 'minimal' | 'inherit' | Readonly<Record<string, string>>;

export function baseEnvironment(policy: EnvPolicy, from: NodeJS.ProcessEnv = process.env): Record<string, string> {
  if (typeof policy === 'object') return { ...policy };
  const env: Record<string, string> = {};
  for (const [key, value] of Object.entries(from)) {
    if (value === undefined) continue;
    if (policy === 'inherit' || MINIMAL_ENV_KEYS.includes(key) || key.startsWith('LC_')) env[key] = value;
  }
  return env;
}
