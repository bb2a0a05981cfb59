import { type HubAuth, writeOwnerFile } from '../src/auth/index.js';

/**
 * When the hub holds execute calls for approval: leaves the owner key in
 * `<data dir>/owner.json` (0600) for `hub approvals`, and prints a one-time owner URL
 * for the explorer. With `--allow-standing-execute`, prints the warning instead.
 * Returns what removes the owner file at exit.
 */
export function announceOwner(
  auth: HubAuth,
  dataDir: string,
  hub: string,
  url: string,
  explorer: boolean,
  log: (line: string) => void,
): () => void {
  if (auth.mode !== 'required') return () => {};
  if (!auth.approvals || !auth.owner) {
    log('plexus-hub: WARNING: --allow-standing-execute: a token with an execute grant runs code without the owner approving each call');
    return () => {};
  }
  const forget = writeOwnerFile(dataDir, { hub, url, key: auth.owner.key, pid: process.pid });
  const { code, expiresAt } = auth.owner.issueCode();
  const minutes = Math.round((expiresAt - Date.now()) / 60_000);
  const http = `http://${url.slice('ws://'.length)}`;
  log(
    explorer
      ? `plexus-hub: owner URL (approve execute calls in the explorer; one use, ${minutes} min): ${http}/?owner=${code}`
      : `plexus-hub: owner code (one use, ${minutes} min): ${code}`,
  );
  return forget;
}
