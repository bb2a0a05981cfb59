import type { Model } from './types.js';

export interface TurnArgs {
  readonly model: Model;
  readonly prompt: string;
  /** Continue this CLI session. */
  readonly resume?: string | null;
  /** With `resume`: branch into a new CLI session instead of extending that one. */
  readonly forkSession?: boolean;
  readonly maxTurns?: number;
  readonly systemPrompt?: string | null;
  readonly permissionPromptTool?: string;
  readonly allowedTools?: readonly string[];
  readonly mcpConfigFile?: string;
}

/**
 * The `claude` argv, in the reference's order (`build_args`): output flags, resume
 * and fork, model, limits, prompts and tools, `--mcp-config`, then `--` and the
 * prompt, so a prompt starting with `-` is never read as a flag.
 */
export function buildArgs(a: TurnArgs): string[] {
  const args = ['--output-format', 'stream-json', '--include-partial-messages', '--verbose', '--print'];
  if (a.resume) {
    args.push('--resume', a.resume);
    if (a.forkSession) args.push('--fork-session');
  }
  args.push('--model', a.model);
  if (a.maxTurns !== undefined) args.push('--max-turns', String(a.maxTurns));
  if (a.systemPrompt) args.push('--system-prompt', a.systemPrompt);
  if (a.permissionPromptTool) args.push('--permission-prompt-tool', a.permissionPromptTool);
  if (a.allowedTools && a.allowedTools.length > 0) args.push('--allowedTools', a.allowedTools.join(','));
  if (a.mcpConfigFile) args.push('--mcp-config', a.mcpConfigFile);
  args.push('--', a.prompt);
  return args;
}

/** The argv as one shell-quoted line, stored in arbor as the turn's `launch_command`. */
export function commandLine(file: string, args: readonly string[]): string {
  return [file, ...args].map(shellQuote).join(' ');
}

function shellQuote(word: string): string {
  return /^[A-Za-z0-9_./:=,@+-]+$/.test(word) ? word : `'${word.replace(/'/g, `'\\''`)}'`;
}
