import { PlexusError } from '../../src/index.js';

/** The reference's `ConeError`, tagged by `kind`; the wire code is `cone.<code>`. */
export class ConeError extends PlexusError {
  static notFound(what: string): ConeError {
    return new ConeError('cone.not_found', `Cone not found: ${what}`, false, { cone: what });
  }

  static storage(operation: string, detail: string): ConeError {
    return new ConeError('cone.storage_error', `Storage error (${operation}): ${detail}`);
  }

  static arbor(detail: string): ConeError {
    return new ConeError('cone.arbor_error', `Arbor error: ${detail}`);
  }

  static invalidState(message: string): ConeError {
    return new ConeError('cone.invalid_state', message);
  }
}
