export { runProcess, type ProcessEvent, type RunSpec, type OutputStream } from './process-run.js';
export { ProcessGroup, groupHasLiveMembers, procStat, type ProcStat, type SpawnSpec } from './process-group.js';
export { LineSplitter } from './line-splitter.js';
export { baseEnvironment, MINIMAL_ENV_KEYS, type EnvPolicy } from './environment.js';
export {
  announceContainment,
  containmentMode,
  reapLeftovers,
  CALL_MARKER,
  DEFAULT_MAX_PROCESSES,
  type ContainmentKind,
  type ContainmentRequest,
} from './containment.js';
