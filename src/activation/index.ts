/**
 * `plexus-hub/activation`: the activation model for tools that find activations in
 * modules they load (as `hub serve` does): what marks a class (`activationMetadata`)
 * or a value (`isActivation`) as one, and the adapters that make any of them an `Activation`.
 */
export {
  activation,
  activationMetadata,
  method,
  type ActivationMetadata,
  type ActivationOptions,
  type MethodOptions,
} from './decorators.js';
export { toActivation } from './decorated.js';
export { defineActivation, type DynamicActivationSpec, type DynamicMethod } from './dynamic.js';
export { isActivation, type Activation, type CallContext, type JsonSchema, type MethodInfo, type RequestOptions } from './types.js';
